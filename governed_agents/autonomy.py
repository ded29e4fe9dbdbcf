"""Earned execution rights: the autonomy level of each workflow, and how it moves.

Levels, in order of increasing rights (``envelope.model.AUTONOMY_LEVELS``):

- ``suggest``: the agent only suggests; the gate refuses every write.
- ``draft``: the agent drafts writes (preview + approval request); it executes
  none of them, approved or not: a person applies a draft.
- ``approve``: the agent executes a write once it is approved; every write needs
  an approval, even if the envelope would let it run without one.
- ``bounded``: the envelope's own rules (``write_actions_require_approval``,
  ``permissions.bounds``) apply unchanged.

The current level lives in the ledger (``autonomy_levels``, one row per workflow
whose level was ever changed); a workflow without a row is at its envelope's
``autonomy.initial_level``. A workflow whose envelope has no ``autonomy:`` section
and no row is *unmanaged*: the gate applies no autonomy check.

A level rises only by ``promote`` with a token holding ``autonomy.set`` and only
when the recorded evidence meets the envelope's promotion criteria (for a rise to
``approve`` or ``bounded``, the levels at which the agent executes). It falls by
``demote`` (token) or automatically: an incident recorded after the level was
set (a ``write.reversed`` event of the workflow, a ``monitor.finding`` naming it)
puts the workflow one level lower at once (``effective_level`` sees it on the next
gate decision), and ``record_incident_demotions`` writes that demotion down
(row + ``autonomy.demoted`` audit event). Evidence for the next promotion counts
only from the last demotion on.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select

from governed_agents.canonical import canonical_json
from governed_agents.envelope.model import AUTONOMY_LEVELS
from governed_agents.errors import GovernanceError
from governed_agents.ledger.schema import approval_requests, audit_events, autonomy_levels, receipts
from governed_agents.timeutil import as_utc, utcnow

#: Audit event kinds that count as incidents, by the envelope's ``demote_on`` name.
INCIDENT_KINDS = {"write_reversed": "write.reversed", "monitor_finding": "monitor.finding"}
#: Levels at which the agent itself executes writes: rising to them needs evidence.
EXECUTING_LEVELS = frozenset({"approve", "bounded"})


class AutonomyRefused(GovernanceError):
    """A promotion or demotion that may not happen (no evidence, above max_level, …)."""


@dataclass(frozen=True)
class Incident:
    seq: int
    kind: str
    ts: dt.datetime
    detail: str


@dataclass(frozen=True)
class LevelState:
    """Where a workflow stands: its recorded level and the level in force now."""

    workflow: str
    managed: bool
    recorded_level: str | None  # the row's level, or the envelope's initial level
    level: str | None  # in force now: one step lower if an incident followed the change
    since_seq: int
    changed_by: str | None
    changed_at: dt.datetime | None
    reason: str | None
    incidents: tuple[Incident, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["incidents"] = [asdict(i) for i in self.incidents]
        return data


@dataclass(frozen=True)
class Evidence:
    """What the ledger records about a workflow since its last demotion."""

    since: dt.datetime | None
    approved_runs: int
    executed_writes: int
    reversals: int
    correction_rate: float
    eval_passed: bool | None  # None: no eval result recorded (or no eval support installed)
    eval_detail: str
    open_findings: int
    criteria: dict[str, Any] = field(default_factory=dict)
    unmet: tuple[str, ...] = ()

    @property
    def meets_criteria(self) -> bool:
        return not self.unmet

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "meets_criteria": self.meets_criteria}


def _step(level: str, by: int) -> str:
    index = max(0, min(len(AUTONOMY_LEVELS) - 1, AUTONOMY_LEVELS.index(level) + by))
    return AUTONOMY_LEVELS[index]


def _row(conn, workflow: str):
    return conn.execute(select(autonomy_levels).where(autonomy_levels.c.workflow == workflow)).first()


def _incidents(conn, workflow: str, after_seq: int, kinds: tuple[str, ...]) -> list[Incident]:
    """Incident events about ``workflow`` after ``after_seq``.

    ``write.reversed`` names the workflow in its payload (``workflow``) and in the
    event's workflow column; a ``monitor.finding`` names the workflows it concerns
    in ``payload.subject_workflows``.
    """
    if not kinds:
        return []
    rows = conn.execute(
        select(audit_events.c.seq, audit_events.c.kind, audit_events.c.ts, audit_events.c.workflow,
               audit_events.c.payload)
        .where(audit_events.c.kind.in_(kinds), audit_events.c.seq > after_seq)
        .order_by(audit_events.c.seq)
    ).fetchall()
    found = []
    for seq, kind, ts, event_workflow, payload in rows:
        try:
            body = json.loads(payload)
        except ValueError:
            body = {}
        if kind == "write.reversed":
            if workflow not in (event_workflow, body.get("workflow")):
                continue
            detail = f"write reversed (receipt {body.get('original_receipt_id')})"
        else:
            if workflow not in (body.get("subject_workflows") or []):
                continue
            detail = f"monitor {body.get('monitor')}: {body.get('summary')}"
        found.append(Incident(seq=int(seq), kind=kind, ts=as_utc(ts), detail=detail))
    return found


def _state(conn, envelope) -> LevelState:
    env = envelope.envelope
    workflow = env.workflow
    settings = getattr(env, "autonomy", None)
    row = _row(conn, workflow)
    if row is None and settings is None:
        return LevelState(workflow, False, None, None, 0, None, None, None)
    if row is not None:
        m = row._mapping
        recorded, since_seq = m["level"], int(m["since_seq"])
        changed_by, changed_at, reason = m["changed_by"], as_utc(m["changed_at"]), m["reason"]
    else:
        recorded, since_seq, changed_by, changed_at, reason = settings.initial_level, 0, None, None, None
    kinds = tuple(INCIDENT_KINDS[name] for name in (settings.demote_on if settings else INCIDENT_KINDS))
    incidents = tuple(_incidents(conn, workflow, since_seq, kinds))
    level = _step(recorded, -1) if incidents else recorded
    return LevelState(workflow, settings is not None or row is not None, recorded, level, since_seq,
                      changed_by, changed_at, reason, incidents)


def level_state(ledger, envelope, *, conn=None) -> LevelState:
    """The workflow's autonomy state, read from the ledger."""
    if conn is not None:
        return _state(conn, envelope)
    with ledger.engine.connect() as c:
        return _state(c, envelope)


def effective_level(ledger, envelope, *, conn=None) -> str | None:
    """The level the gate applies now (``None``: unmanaged, no autonomy check)."""
    return level_state(ledger, envelope, conn=conn).level


def _eval_result(ledger, envelope) -> tuple[bool | None, str]:
    try:
        from governed_agents.evals import latest_result  # built by the eval work; optional here
    except ImportError:
        return None, "no eval support installed (governed_agents.evals.latest_result is missing)"
    result = latest_result(ledger, envelope.workflow, envelope_digest=envelope.digest)
    if result is None:
        return None, "no eval result recorded for this envelope"
    passed = result.get("passed") if isinstance(result, dict) else getattr(result, "passed", None)
    if passed is None:
        return None, f"the eval result does not say whether it passed: {result!r}"[:300]
    return bool(passed), "latest eval suite passed" if passed else "latest eval suite failed"


def evidence(ledger, envelope, *, state: LevelState | None = None) -> Evidence:
    """The recorded evidence since the last demotion, checked against the promotion criteria."""
    workflow = envelope.workflow
    settings = envelope.envelope.autonomy
    with ledger.engine.connect() as c:
        state = state or _state(c, envelope)
        since = _last_demotion(c, workflow)
        approved_q = select(func.count()).select_from(approval_requests).where(
            approval_requests.c.workflow == workflow, approval_requests.c.status.in_(("approved", "executed")))
        written_q = select(func.count()).select_from(receipts).where(
            receipts.c.workflow == workflow, receipts.c.kind == "write_executed")
        if since is not None:
            approved_q = approved_q.where(approval_requests.c.decided_at > since[1])
            written_q = written_q.where(receipts.c.created_at > since[1])
        approved = int(c.execute(approved_q).scalar_one())
        executed = int(c.execute(written_q).scalar_one())
        after = since[0] if since is not None else 0
        reversals = len(_incidents(c, workflow, after, ("write.reversed",)))
        findings = len(_incidents(c, workflow, after, ("monitor.finding",)))
    rate = reversals / executed if executed else (1.0 if reversals else 0.0)
    eval_passed, eval_detail = _eval_result(ledger, envelope)
    criteria, unmet = {}, []
    if settings is not None:
        p = settings.promotion
        criteria = {"min_approved_runs": p.min_approved_runs, "max_correction_rate": p.max_correction_rate,
                    "require_eval_pass": p.require_eval_pass, "max_level": settings.max_level}
        if approved < p.min_approved_runs:
            unmet.append(f"{approved} approved run(s) since the last demotion; {p.min_approved_runs} needed")
        if rate > p.max_correction_rate:
            unmet.append(f"correction rate {rate:.1%} ({reversals} reversed of {executed} executed) "
                         f"is above {p.max_correction_rate:.1%}")
        if p.require_eval_pass and eval_passed is not True:
            unmet.append(f"eval suite not passing: {eval_detail}")
        if findings:
            unmet.append(f"{findings} monitor finding(s) about this workflow since the last demotion")
        if state.incidents:
            unmet.append(f"{len(state.incidents)} incident(s) since the level was set (it stands one step lower)")
    return Evidence(since=since[1] if since else None, approved_runs=approved, executed_writes=executed,
                    reversals=reversals, correction_rate=round(rate, 6), eval_passed=eval_passed,
                    eval_detail=eval_detail, open_findings=findings, criteria=criteria, unmet=tuple(unmet))


def _last_demotion(conn, workflow: str) -> tuple[int, dt.datetime] | None:
    row = conn.execute(
        select(audit_events.c.seq, audit_events.c.ts)
        .where(audit_events.c.kind == "autonomy.demoted", audit_events.c.workflow == workflow)
        .order_by(audit_events.c.seq.desc()).limit(1)
    ).first()
    return (int(row[0]), as_utc(row[1])) if row is not None else None


def _record(ledger, envelope, *, level: str, kind: str, actor: str, reason: str | None,
            evidence_doc: dict, token_id: str | None, previous: str | None) -> LevelState:
    workflow = envelope.workflow
    now = utcnow()
    with ledger.transaction() as c:
        event = ledger.append(
            kind, {"workflow": workflow, "from": previous, "to": level, "reason": reason,
                   "token_id": token_id, "evidence": evidence_doc},
            actor=actor, workflow=workflow, envelope_version=envelope.version,
            envelope_digest=envelope.digest, conn=c,
        )
        values = {"level": level, "changed_by": actor, "changed_at": now, "reason": reason,
                  "evidence": canonical_json(evidence_doc), "envelope_digest": envelope.digest,
                  "since_seq": event.seq}
        if _row(c, workflow) is None:
            c.execute(autonomy_levels.insert().values(workflow=workflow, **values))
        else:
            c.execute(autonomy_levels.update().where(autonomy_levels.c.workflow == workflow).values(**values))
        return _state(c, envelope)


def _check_target(target: str | None) -> None:
    if target is not None and target not in AUTONOMY_LEVELS:
        raise AutonomyRefused(f"unknown autonomy level {target!r}",
                              hint=f"levels: {', '.join(AUTONOMY_LEVELS)}")


def promote(ledger, envelope, *, token: str | None, to: str | None = None, reason: str | None = None,
            directory=None) -> dict:
    """Raise the level one step (or to ``to``) if the evidence allows; audited."""
    from governed_agents.identity.tokens import verify_token

    _check_target(to)
    claims = verify_token(token, action="autonomy.set", workflow=envelope.workflow, directory=directory)
    settings = envelope.envelope.autonomy
    if settings is None:
        raise AutonomyRefused(
            f"{envelope.workflow} has no autonomy section in its envelope: its level is not managed",
            hint="add autonomy: {initial_level, max_level, promotion} to the envelope (docs/autonomy.md)")
    state = record_incident_demotions(ledger, envelope)
    current = state.level
    target = to or _step(current, +1)
    if AUTONOMY_LEVELS.index(target) <= AUTONOMY_LEVELS.index(current):
        raise AutonomyRefused(f"{envelope.workflow} is at {current}; {target} is not a promotion")
    if AUTONOMY_LEVELS.index(target) > AUTONOMY_LEVELS.index(settings.max_level):
        raise AutonomyRefused(f"{target} is above the envelope's max_level {settings.max_level} "
                              f"for {envelope.workflow}")
    found = evidence(ledger, envelope, state=state)
    if target in EXECUTING_LEVELS and not found.meets_criteria:
        ledger.append("autonomy.promotion_refused",
                      {"workflow": envelope.workflow, "from": current, "to": target, "unmet": list(found.unmet),
                       "token_id": claims.token_id},
                      actor=claims.principal.id, workflow=envelope.workflow,
                      envelope_version=envelope.version, envelope_digest=envelope.digest)
        raise AutonomyRefused(
            f"{envelope.workflow} may not rise to {target}: " + "; ".join(found.unmet),
            hint="`governed-agents autonomy status " + envelope.workflow + "` shows the evidence",
            details={"evidence": found.to_dict()})
    new = _record(ledger, envelope, level=target, kind="autonomy.promoted", actor=claims.principal.id,
                  reason=reason, evidence_doc=found.to_dict(), token_id=claims.token_id, previous=current)
    return {"workflow": envelope.workflow, "from": current, "to": target, "by": claims.principal.id,
            "evidence": found.to_dict(), "state": new.to_dict()}


def demote(ledger, envelope, *, token: str | None, to: str | None = None, reason: str | None = None,
           directory=None) -> dict:
    """Lower the level one step (or to ``to``); audited. Any workflow may be demoted."""
    from governed_agents.identity.tokens import verify_token

    _check_target(to)
    claims = verify_token(token, action="autonomy.set", workflow=envelope.workflow, directory=directory)
    state = record_incident_demotions(ledger, envelope)
    current = state.level or _implicit_level(envelope)
    target = to or _step(current, -1)
    if AUTONOMY_LEVELS.index(target) >= AUTONOMY_LEVELS.index(current):
        raise AutonomyRefused(f"{envelope.workflow} is at {current}; {target} is not a demotion")
    found = evidence(ledger, envelope, state=state)
    _record(ledger, envelope, level=target, kind="autonomy.demoted", actor=claims.principal.id,
            reason=reason, evidence_doc=found.to_dict(), token_id=claims.token_id, previous=current)
    return {"workflow": envelope.workflow, "from": current, "to": target, "by": claims.principal.id}


def _implicit_level(envelope) -> str:
    """The level an unmanaged workflow behaves like (for a first demotion)."""
    env = envelope.envelope
    if env.pattern in ("suggest_only", "read_only"):
        return "suggest"
    return "approve" if env.permissions.write_actions_require_approval else "bounded"


def record_incident_demotions(ledger, envelope) -> LevelState:
    """Write down the automatic demotion an incident caused (row + ``autonomy.demoted``)."""
    state = level_state(ledger, envelope)
    if not state.incidents or state.level == state.recorded_level:
        return state
    newest = state.incidents[-1]
    return _record(
        ledger, envelope, level=state.level, kind="autonomy.demoted", actor="governed-agents",
        reason=f"automatic: {len(state.incidents)} incident(s) since {state.recorded_level} was set; "
               f"latest: {newest.detail}",
        evidence_doc={"incidents": [asdict(i) for i in state.incidents]}, token_id=None,
        previous=state.recorded_level)


__all__ = ["AUTONOMY_LEVELS", "AutonomyRefused", "Evidence", "LevelState", "demote", "effective_level",
           "evidence", "level_state", "promote", "record_incident_demotions"]
