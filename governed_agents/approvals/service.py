"""Approval requests and decisions: the human step between a preview and a write.

Rules (each refusal raises ``ApprovalRefused`` or ``TokenError``, writes one
``approval.refused`` audit event, and changes nothing else):

- identity comes only from a verified token (``approval.approve`` /
  ``approval.reject`` scope, for the request's workflow and this environment);
- the approver holds one of the request's ``required_roles`` *now* (roles are
  re-read from ``principals.yaml`` at every use) and belongs to its tenant;
- nobody decides their own request; nobody approves the same request twice
  (dual control needs distinct people);
- only a ``pending`` request can be decided, and only before ``expires_at``:
  expiry means denial, never silent approval;
- the stored preview still hashes to the digest the request was made with, and,
  when the caller can rebuild the preview from the system of record, the rebuilt
  one hashes the same (the approval binds to exactly what was shown).

A request becomes ``approved`` once ``min_approvals`` distinct approvers said
yes; one rejection rejects it. Each accepted decision and its audit event are
written in one transaction; the event carries an ``attestation``, an Ed25519
signature by the deployment's key over (request, approver, decision, preview
digest, token id). The posting step counts only attested approvals
(``attested_approvers``): a decision row written into the database around this
module, or an audit event appended without the key, authorises nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal

from sqlalchemy import and_, func, or_, select, update

from governed_agents.canonical import canonical_json, digest
from governed_agents.errors import ApprovalRefused, GovernanceError, TokenError
from governed_agents.faults import crash_point
from governed_agents.ledger.schema import approval_decisions, approval_requests
from governed_agents.timeutil import as_utc, utcnow

if TYPE_CHECKING:  # pragma: no cover
    from governed_agents.envelope import LoadedEnvelope
    from governed_agents.identity.principals import Directory
    from governed_agents.ledger import Ledger

Decision = Literal["approve", "reject"]
PreviewRebuilder = Callable[["ApprovalRequest"], dict]


@dataclass(frozen=True)
class ApprovalDecision:
    approver: str
    decision: str
    reason: str | None
    decided_at: dt.datetime
    preview_digest: str
    token_id: str | None


@dataclass(frozen=True)
class ApprovalRequest:
    id: str
    batch_id: str | None
    workflow: str
    tenant: str | None
    action: str
    arguments: dict
    preview: dict
    preview_digest: str
    idempotency_key: str | None
    reason: str | None
    requested_by: str
    required_roles: tuple[str, ...]
    min_approvals: int
    status: str
    created_at: dt.datetime
    expires_at: dt.datetime
    decided_at: dt.datetime | None
    trace_id: str | None
    run_id: str | None
    envelope_version: str
    envelope_digest: str
    decisions: tuple[ApprovalDecision, ...] = field(default=())

    @property
    def approvers(self) -> tuple[str, ...]:
        return tuple(d.approver for d in self.decisions if d.decision == "approve")

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return (now or utcnow()) >= self.expires_at

    def effective_status(self, now: dt.datetime | None = None) -> str:
        """``expired`` for a pending request past its expiry, else the stored status."""
        if self.status == "pending" and self.is_expired(now):
            return "expired"
        return self.status

    @property
    def display_arguments(self) -> dict:
        """The arguments as approvers see them: the preview's when its builder gave them (it
        masks what must not be shown, e.g. a full IBAN), else the stored ones. The stored
        ``arguments`` stay exact: they are what the write runs with once approved."""
        shown = self.preview.get("arguments") if isinstance(self.preview, dict) else None
        return shown if isinstance(shown, dict) else self.arguments

    def to_dict(self) -> dict[str, Any]:
        """The request for display (``approvals list/show --json``): ``arguments`` are the
        masked ``display_arguments``; ``arguments_digest`` identifies the exact stored ones."""
        return {
            "id": self.id,
            "batch_id": self.batch_id,
            "workflow": self.workflow,
            "tenant": self.tenant,
            "action": self.action,
            "arguments": self.display_arguments,
            "arguments_digest": digest(self.arguments),
            "preview": self.preview,
            "preview_digest": self.preview_digest,
            "idempotency_key": self.idempotency_key,
            "reason": self.reason,
            "requested_by": self.requested_by,
            "required_roles": list(self.required_roles),
            "min_approvals": self.min_approvals,
            "status": self.effective_status(),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "decided_at": self.decided_at,
            "trace_id": self.trace_id,
            "run_id": self.run_id,
            "envelope_version": self.envelope_version,
            "envelope_digest": self.envelope_digest,
            "decisions": [
                {
                    "approver": d.approver,
                    "decision": d.decision,
                    "reason": d.reason,
                    "decided_at": d.decided_at,
                }
                for d in self.decisions
            ],
        }


# ---------------------------------------------------------------------------
# creating and reading requests


def request_approval(
    ledger: "Ledger",
    *,
    envelope: "LoadedEnvelope",
    action: str,
    arguments: dict,
    preview: dict,
    requested_by: str,
    tenant: str | None = None,
    reason: str | None = None,
    known_names=(),
    idempotency_key: str | None = None,
    trace_id: str | None = None,
    run_id: str | None = None,
    batch_id: str | None = None,
    now: dt.datetime | None = None,
    conn=None,
) -> ApprovalRequest:
    """Record a pending approval request and its ``approval.requested`` audit event."""
    from governed_agents.safety.pii import maybe_redact

    now = now or utcnow()
    permissions = envelope.envelope.permissions
    expires_at = now + dt.timedelta(hours=float(permissions.approval_expiry_hours))
    # free text a person reads: no raw personal data kept (the run's master-data names included)
    reason = maybe_redact(reason, envelope, known_names=known_names)
    row = {
        "id": str(uuid.uuid4()),
        "batch_id": batch_id,
        "workflow": envelope.envelope.workflow,
        "tenant": tenant,
        "action": action,
        "arguments": canonical_json(arguments),
        "preview": canonical_json(preview),
        "preview_digest": digest(preview),
        "idempotency_key": idempotency_key,
        "reason": reason,
        "requested_by": requested_by,
        "required_roles": canonical_json(sorted(permissions.approval_roles)),
        "min_approvals": int(permissions.min_approvals),
        "status": "pending",
        "created_at": now,
        "expires_at": expires_at,
        "decided_at": None,
        "trace_id": trace_id,
        "run_id": run_id,
        "envelope_version": envelope.version,
        "envelope_digest": envelope.digest,
    }

    def _write(c) -> None:
        c.execute(approval_requests.insert().values(**row))
        ledger.append(
            "approval.requested",
            {
                "request_id": row["id"],
                "batch_id": batch_id,
                "action": action,
                "preview_digest": row["preview_digest"],
                "required_roles": sorted(permissions.approval_roles),
                "min_approvals": row["min_approvals"],
                "expires_at": expires_at,
                "idempotency_key": idempotency_key,
            },
            actor=requested_by,
            workflow=row["workflow"],
            trace_id=trace_id,
            run_id=run_id,
            envelope_version=envelope.version,
            envelope_digest=envelope.digest,
            conn=c,
        )

    if conn is not None:
        _write(conn)
    else:
        with ledger.transaction() as c:
            _write(c)
    return _from_row(row, ())


def get_request(ledger: "Ledger", request_id: str, *, conn=None) -> ApprovalRequest:
    request = _load(ledger, request_id, conn=conn)
    if request is None:
        raise GovernanceError(
            f"no approval request {request_id!r}",
            hint="list them with: governed-agents approvals list",
        )
    return request


def list_requests(
    ledger: "Ledger",
    *,
    status: str | None = None,
    workflow: str | None = None,
    batch_id: str | None = None,
    limit: int = 200,
    now: dt.datetime | None = None,
) -> list[ApprovalRequest]:
    """Requests newest first. ``status`` filters on the effective status
    (a pending request past expiry is listed as ``expired``)."""
    now = now or utcnow()
    t = approval_requests.c
    query = select(approval_requests).order_by(t.created_at.desc())
    if workflow:
        query = query.where(t.workflow == workflow)
    if batch_id:
        query = query.where(t.batch_id == batch_id)
    # The effective status, in SQL (the same rule as ApprovalRequest.effective_status).
    if status == "pending":
        query = query.where(t.status == "pending", t.expires_at > now)
    elif status == "expired":
        query = query.where(or_(t.status == "expired", and_(t.status == "pending", t.expires_at <= now)))
    elif status:
        query = query.where(t.status == status)
    with ledger.engine.connect() as c:
        rows = [dict(r._mapping) for r in c.execute(query.limit(limit))]
        decisions = _decisions_for(c, [r["id"] for r in rows])
    return [_from_row(r, decisions.get(r["id"], ())) for r in rows]


def expire_overdue(ledger: "Ledger", *, now: dt.datetime | None = None) -> list[str]:
    """Mark pending requests past their expiry as ``expired`` (one audit event each).

    Expiry already means denial without this sweep (a decision after expiry is
    refused, and an expired approval never satisfies the gate); the sweep makes
    it visible in listings and lets a sensor leave a receipt saying so.
    """
    now = now or utcnow()
    expired: list[str] = []
    with ledger.transaction() as c:
        rows = c.execute(
            select(approval_requests).where(
                approval_requests.c.status == "pending", approval_requests.c.expires_at <= now
            )
        ).fetchall()
        for r in rows:
            m = dict(r._mapping)
            c.execute(
                update(approval_requests)
                .where(approval_requests.c.id == m["id"], approval_requests.c.status == "pending")
                .values(status="expired", decided_at=now)
            )
            ledger.append(
                "approval.expired",
                {"request_id": m["id"], "expires_at": as_utc(m["expires_at"])},
                actor="system",
                workflow=m["workflow"],
                trace_id=m["trace_id"],
                run_id=m["run_id"],
                envelope_version=m["envelope_version"],
                envelope_digest=m["envelope_digest"],
                conn=c,
            )
            expired.append(m["id"])
    return expired


def decided_since(
    ledger: "Ledger",
    *,
    workflow: str,
    since: dt.datetime | None = None,
    now: dt.datetime | None = None,
    limit: int = 500,
) -> tuple[list[ApprovalRequest], dt.datetime | None]:
    """Requests of ``workflow`` decided (approved or rejected) or expired since ``since``,
    oldest first, and the newest decision time among them (for a sensor's cursor).

    A pending request past its expiry counts as decided at its expiry time.
    Executed requests are done and not returned.
    """
    now = now or utcnow()
    t = approval_requests.c
    decided = select(approval_requests).where(
        t.workflow == workflow, t.status.in_(["approved", "rejected", "expired"]))
    lapsed = select(approval_requests).where(
        t.workflow == workflow, t.status == "pending", t.expires_at <= now)
    if since is not None:
        decided = decided.where(t.decided_at >= since)
        lapsed = lapsed.where(t.expires_at >= since)
    with ledger.engine.connect() as c:
        rows = [dict(r._mapping) for r in c.execute(decided.order_by(t.decided_at).limit(limit))]
        rows += [dict(r._mapping) for r in c.execute(lapsed.order_by(t.expires_at).limit(limit))]
        decisions = _decisions_for(c, [r["id"] for r in rows])
    requests = [_from_row(r, decisions.get(r["id"], ())) for r in rows]
    times = [r.decided_at or r.expires_at for r in requests]
    requests = [r for _, r in sorted(zip(times, requests), key=lambda pair: pair[0])]
    return requests, (max(times) if times else None)


# ---------------------------------------------------------------------------
# deciding


def decide(
    ledger: "Ledger",
    request_id: str,
    *,
    token: str | None,
    decision: Decision,
    reason: str | None = None,
    rebuild_preview: PreviewRebuilder | None = None,
    directory: "Directory | None" = None,
    now: dt.datetime | None = None,
) -> ApprovalRequest:
    """Approve or reject one request as the principal the token names."""
    return decide_batch(
        ledger,
        [request_id],
        token=token,
        decision=decision,
        reason=reason,
        rebuild_preview=rebuild_preview,
        directory=directory,
        now=now,
    )[0]


def decide_batch(
    ledger: "Ledger",
    request_ids: Iterable[str],
    *,
    token: str | None,
    decision: Decision,
    reason: str | None = None,
    rebuild_preview: PreviewRebuilder | None = None,
    directory: "Directory | None" = None,
    now: dt.datetime | None = None,
) -> list[ApprovalRequest]:
    """Decide several requests in one action, all or nothing.

    Every request is checked first; if any one is refused, none is decided and
    the refusal names the request and the reason.
    """
    from governed_agents.identity.tokens import verify_token

    if decision not in ("approve", "reject"):
        raise GovernanceError(f"decision must be 'approve' or 'reject', not {decision!r}")
    ids = list(dict.fromkeys(request_ids))
    if not ids:
        raise GovernanceError("no approval requests to decide")
    now = now or utcnow()
    action = "approval.approve" if decision == "approve" else "approval.reject"

    refusal: _Refusal | None = None
    decided: list[ApprovalRequest] = []
    names = _erp_person_names() if reason else ()  # read once, before anything is written
    with ledger.transaction() as c:
        try:
            requests = []
            for request_id in ids:
                request = _load(ledger, request_id, conn=c, for_update=True)
                if request is None:
                    raise _Refusal(None, "unknown_request", f"no approval request {request_id!r}",
                                   extra={"request_id": request_id},
                                   hint="list them with: governed-agents approvals list")
                requests.append(request)
            claims = None
            for request in requests:
                try:
                    claims = verify_token(
                        token, action=action, workflow=request.workflow, directory=directory, now=now
                    )
                except TokenError as exc:
                    raise _Refusal(request, getattr(exc, "code", "token_invalid"), exc.message,
                                   error=exc) from None
                _check(request, claims.principal, decision, now, rebuild_preview)
            # Every check passed for every request: only now is anything written.
            for request in requests:
                decided.append(_record(ledger, c, request, claims, decision, reason, now, names))
            crash_point("in_approval_decision")
        except _Refusal as r:
            # Checks come before any write, so this event is the transaction's only write.
            ledger.append("approval.refused", r.payload(token), actor=r.actor,
                          **_request_context(r.request), conn=c)
            refusal = r
    if refusal is not None:
        raise refusal.exception()
    crash_point("after_approval_decision")
    return decided


class _Refusal(Exception):
    """Internal: a check failed; carries what the audit event and the error need."""

    def __init__(self, request, code, message, *, actor=None, hint=None, error=None, extra=None):
        super().__init__(message)
        self.request, self.code, self.message = request, code, message
        self.actor, self.hint, self.error, self.extra = actor, hint, error, extra or {}

    def payload(self, token) -> dict:
        payload = {"code": self.code, "message": self.message, **self.extra}
        if self.request is not None:
            payload["request_id"] = self.request.id
        if self.actor is None:
            payload["claimed_subject"] = _unverified_subject(token)
        return payload

    def exception(self) -> GovernanceError:
        if self.error is not None:
            return self.error
        refusal = ApprovalRefused(self.message, hint=self.hint, details={"code": self.code})
        refusal.code = self.code
        return refusal


def _request_context(request) -> dict:
    if request is None:
        return {}
    return {
        "workflow": request.workflow,
        "trace_id": request.trace_id,
        "run_id": request.run_id,
        "envelope_version": request.envelope_version,
        "envelope_digest": request.envelope_digest,
    }


def _check(request, principal, decision, now, rebuild_preview) -> None:
    def refuse(code: str, message: str, hint: str | None = None) -> None:
        raise _Refusal(request, code, message, actor=principal.id, hint=hint)

    if not set(principal.roles) & set(request.required_roles):
        refuse(
            "approver_lacks_role",
            f"{principal.id} holds {sorted(principal.roles) or 'no roles'}; request {request.id} "
            f"needs one of {list(request.required_roles)}",
        )
    if request.tenant and principal.tenant != request.tenant:
        refuse(
            "wrong_tenant",
            f"{principal.id} belongs to tenant {principal.tenant!r}; request {request.id} "
            f"is for tenant {request.tenant!r}",
        )
    if principal.id == request.requested_by:
        refuse(
            "self_approval",
            f"{principal.id} made request {request.id} and cannot decide it (separation of duties)",
        )
    if request.status != "pending":
        refuse(
            "already_decided",
            f"request {request.id} is already {request.status}"
            + (f" (decided {request.decided_at:%Y-%m-%d %H:%M:%S} UTC)" if request.decided_at else ""),
        )
    if request.is_expired(now):
        refuse(
            "request_expired",
            f"request {request.id} expired at {request.expires_at:%Y-%m-%d %H:%M:%S} UTC; "
            "an expired request is denied, never approved",
            hint="the workflow has to propose the write again",
        )
    if principal.id in {d.approver for d in request.decisions}:
        refuse(
            "duplicate_approver",
            f"{principal.id} has already decided request {request.id}; "
            f"it needs {request.min_approvals} distinct approvers",
        )
    if digest(request.preview) != request.preview_digest:
        refuse(
            "preview_changed",
            f"the stored preview of request {request.id} no longer matches the digest it was "
            "requested with (edited in the ledger?)",
        )
    if rebuild_preview is not None and decision == "approve":
        current = digest(rebuild_preview(request))
        if current != request.preview_digest:
            refuse(
                "preview_changed",
                f"the preview of request {request.id} changed since it was requested "
                f"({request.preview_digest[:19]}… → {current[:19]}…); approve the new request instead",
            )


def _redacted_reason(workflow: str, reason: str | None, names=()) -> str | None:
    """The approver's reason as stored (table and append-only audit chain): redacted per the
    workflow's logging.redact_pii; an envelope that cannot be loaded means redact (fail closed)."""
    if not reason:
        return reason
    from governed_agents.envelope import find_envelope
    from governed_agents.errors import GovernanceError
    from governed_agents.safety.pii import maybe_redact

    try:
        envelope = find_envelope(workflow)
    except GovernanceError:
        envelope = None
    return maybe_redact(reason, envelope, known_names=names)


def _erp_person_names():
    """The ERP's person names (employees, vendor contacts): an approver's reason quoting one bare
    ("confirmed with Jan Kowalski") is redacted too. An ERP that cannot be read stops the decision
    (fail closed) rather than storing a reason that may hold a name."""
    from sqlalchemy.exc import SQLAlchemyError

    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.people import known_names

    try:
        return known_names(erp_engine())
    except SQLAlchemyError as exc:
        raise GovernanceError(f"cannot read the ERP's person names to redact the approver's reason: {exc}",
                              hint="check GOVERNED_AGENTS_ERP_URL; nothing was recorded") from None


def _record(ledger, c, request: ApprovalRequest, claims, decision, reason, now, names=()) -> ApprovalDecision:
    principal = claims.principal
    reason = _redacted_reason(request.workflow, reason, names)
    c.execute(
        approval_decisions.insert().values(
            id=str(uuid.uuid4()),
            request_id=request.id,
            approver=principal.id,
            decision=decision,
            reason=reason,
            preview_digest=request.preview_digest,
            token_id=claims.token_id,
            decided_at=now,
        )
    )
    approvals = c.execute(
        select(func.count())
        .select_from(approval_decisions)
        .where(approval_decisions.c.request_id == request.id, approval_decisions.c.decision == "approve")
    ).scalar_one()
    if decision == "reject":
        new_status = "rejected"
    elif approvals >= request.min_approvals:
        new_status = "approved"
    else:
        new_status = "pending"
    if new_status != "pending":
        c.execute(
            update(approval_requests)
            .where(approval_requests.c.id == request.id)
            .values(status=new_status, decided_at=now)
        )
    kind = {"approved": "approval.approved", "rejected": "approval.rejected"}.get(
        new_status, "approval.recorded"
    )
    ledger.append(
        kind,
        {
            "request_id": request.id,
            "batch_id": request.batch_id,
            "decision": decision,
            "reason": reason,
            "approvals": approvals,
            "min_approvals": request.min_approvals,
            "preview_digest": request.preview_digest,
            "token_id": claims.token_id,
            "status": new_status,
            "attestation": _attest(request.id, principal.id, decision, request.preview_digest, claims.token_id),
        },
        actor=principal.id,
        workflow=request.workflow,
        trace_id=request.trace_id,
        run_id=request.run_id,
        envelope_version=request.envelope_version,
        envelope_digest=request.envelope_digest,
        conn=c,
    )
    return get_request(ledger, request.id, conn=c)


_ATTESTATION_DOMAIN = b"governed-agents approval decision v1\n"
_DECISION_EVENTS = ("approval.approved", "approval.recorded", "approval.rejected")


def _attestation_input(request_id: str, approver: str, decision: str, preview_digest: str,
                       token_id: str | None) -> bytes:
    return _ATTESTATION_DOMAIN + canonical_json({
        "request_id": request_id, "approver": approver, "decision": decision,
        "preview_digest": preview_digest, "token_id": token_id}).encode("utf-8")


def _attest(request_id: str, approver: str, decision: str, preview_digest: str, token_id: str | None) -> str:
    from governed_agents.identity.keys import signing_key

    return signing_key().sign(_attestation_input(request_id, approver, decision, preview_digest, token_id)).hex()


def attested_approvers(ledger: "Ledger", request: ApprovalRequest, *, conn=None) -> tuple[str, ...]:
    """The approvers of ``request`` whose approval is backed by a signed decision event in
    the audit log for exactly its preview digest (see the module docstring). Distinct, in order."""
    from cryptography.exceptions import InvalidSignature

    from governed_agents.identity.keys import public_key
    from governed_agents.ledger.schema import audit_events

    t = audit_events.c
    query = select(t.actor, t.payload).where(t.kind.in_(_DECISION_EVENTS)).order_by(t.seq)
    query = query.where(t.trace_id == request.trace_id if request.trace_id is not None else t.trace_id.is_(None))

    def _read(c):
        return c.execute(query).all()

    rows = _read(conn) if conn is not None else None
    if rows is None:
        with ledger.engine.connect() as c:
            rows = _read(c)
    key = public_key()
    claimed = {d.approver: d for d in request.decisions if d.decision == "approve"}
    found: list[str] = []
    for actor, text in rows:
        try:
            payload = json.loads(text)
        except ValueError:
            continue
        if payload.get("request_id") != request.id or payload.get("decision") != "approve":
            continue
        if actor not in claimed or actor in found or payload.get("preview_digest") != request.preview_digest:
            continue
        try:
            key.verify(bytes.fromhex(str(payload.get("attestation", ""))),
                       _attestation_input(request.id, actor, "approve", request.preview_digest,
                                          payload.get("token_id")))
        except (InvalidSignature, ValueError):
            continue
        found.append(actor)
    return tuple(found)


def _unverified_subject(token: str | None) -> str | None:
    """The ``sub`` a token claims, for the audit trail of a refused attempt. Never trusted."""
    if not token:
        return None
    try:
        import jwt

        claimed = jwt.decode(token, options={"verify_signature": False})
        sub = claimed.get("sub")
        return f"unverified:{sub}" if sub else None
    except Exception:
        return None


# ---------------------------------------------------------------------------
# rows


def _load(ledger, request_id: str, *, conn=None, for_update: bool = False) -> ApprovalRequest | None:
    query = select(approval_requests).where(approval_requests.c.id == request_id)
    if for_update and ledger.dialect == "postgresql":
        query = query.with_for_update()

    def _read(c):
        row = c.execute(query).first()
        if row is None:
            return None
        return _from_row(dict(row._mapping), _decisions_for(c, [request_id]).get(request_id, ()))

    if conn is not None:
        return _read(conn)
    with ledger.engine.connect() as c:
        return _read(c)


def _decisions_for(c, ids: list[str]) -> dict[str, tuple[ApprovalDecision, ...]]:
    if not ids:
        return {}
    out: dict[str, list[ApprovalDecision]] = {}
    rows = c.execute(
        select(approval_decisions)
        .where(approval_decisions.c.request_id.in_(ids))
        .order_by(approval_decisions.c.decided_at)
    )
    for r in rows:
        m = r._mapping
        out.setdefault(m["request_id"], []).append(
            ApprovalDecision(
                approver=m["approver"],
                decision=m["decision"],
                reason=m["reason"],
                decided_at=as_utc(m["decided_at"]),
                preview_digest=m["preview_digest"],
                token_id=m["token_id"],
            )
        )
    return {k: tuple(v) for k, v in out.items()}


def _from_row(m: dict, decisions: tuple[ApprovalDecision, ...]) -> ApprovalRequest:
    return ApprovalRequest(
        id=m["id"],
        batch_id=m["batch_id"],
        workflow=m["workflow"],
        tenant=m["tenant"],
        action=m["action"],
        arguments=json.loads(m["arguments"]),
        preview=json.loads(m["preview"]),
        preview_digest=m["preview_digest"],
        idempotency_key=m["idempotency_key"],
        reason=m["reason"],
        requested_by=m["requested_by"],
        required_roles=tuple(json.loads(m["required_roles"])),
        min_approvals=int(m["min_approvals"]),
        status=m["status"],
        created_at=as_utc(m["created_at"]),
        expires_at=as_utc(m["expires_at"]),
        decided_at=as_utc(m["decided_at"]),
        trace_id=m["trace_id"],
        run_id=m["run_id"],
        envelope_version=m["envelope_version"],
        envelope_digest=m["envelope_digest"],
        decisions=decisions,
    )
