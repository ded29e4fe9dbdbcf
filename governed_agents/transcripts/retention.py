"""The transcript retention purge (``logging.store_transcripts_days``).

``purge(ledger)`` deletes, per workflow, the transcripts created before
``now - store_transcripts_days`` of the workflow's *current* envelope (so
shortening the retention applies to what is already stored; ``0`` deletes all
of them — and the gateway stores none from then on). A workflow whose envelope
cannot be found or loaded keeps the expiry recorded with each transcript when
it was written (``expires_at``): the purge never guesses a shorter retention.

The whole purge is one ledger transaction: the deletions and one
``transcripts.purged`` audit event per workflow that lost transcripts (count,
cutoff, retention, digest of the deleted ids) commit together or not at all.
Nothing in the audit chain or in a receipt holds a transcript's content — only
its digest (see ``governed_agents.transcripts``) — so both still verify after.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

from governed_agents.canonical import digest
from governed_agents.ledger.schema import transcripts
from governed_agents.timeutil import utcnow

ENVELOPE = "envelope"
RECORDED = "recorded expiry"


@dataclass(frozen=True)
class WorkflowPurge:
    """What the purge did (or, on a dry run, would do) for one workflow."""

    workflow: str
    retention_days: int | None  # None: the envelope was not available, each row's recorded expiry applied
    source: str  # ENVELOPE | RECORDED
    cutoff: _dt.datetime | None  # created before this are deleted (None with RECORDED)
    deleted: int
    kept: int
    audit_seq: int | None = None
    note: str | None = None

    def to_dict(self) -> dict:
        return {"workflow": self.workflow, "retention_days": self.retention_days, "source": self.source,
                "cutoff": self.cutoff, "deleted": self.deleted, "kept": self.kept, "audit_seq": self.audit_seq,
                "note": self.note}


@dataclass(frozen=True)
class PurgeResult:
    now: _dt.datetime
    dry_run: bool
    workflows: list[WorkflowPurge] = field(default_factory=list)

    @property
    def deleted(self) -> int:
        return sum(w.deleted for w in self.workflows)

    def to_dict(self) -> dict:
        return {"now": self.now, "dry_run": self.dry_run, "deleted": self.deleted,
                "workflows": [w.to_dict() for w in self.workflows]}


def retention_by_workflow(workflows: list[str]) -> dict[str, tuple[int | None, str | None]]:
    """``{workflow: (days, None)}`` from each current envelope, or ``(None, why)`` when it cannot be loaded."""
    from governed_agents.envelope.loader import find_envelope
    from governed_agents.errors import GovernanceError

    found: dict[str, tuple[int | None, str | None]] = {}
    for workflow in workflows:
        try:
            envelope = find_envelope(workflow)
        except GovernanceError as exc:
            found[workflow] = (None, f"envelope not loaded ({exc.message.splitlines()[0][:200]}); "
                                     "each transcript's recorded expiry applies")
            continue
        found[workflow] = (int(envelope.envelope.logging.store_transcripts_days), None)
    return found


def purge(ledger, *, now: _dt.datetime | None = None, dry_run: bool = False, workflow: str | None = None,
          retention: dict[str, int] | None = None, actor: str = "retention",
          _before_event: Callable[[str], None] | None = None) -> PurgeResult:
    """Delete the transcripts past their workflow's retention, in one transaction.

    ``retention`` overrides the envelopes (``{workflow: days}``, for tests and
    tools); ``workflow`` limits the purge to one workflow. ``dry_run`` counts
    and writes nothing. ``_before_event`` is a fault-injection hook called
    after a workflow's rows are deleted and before its audit event.
    """
    now = now or utcnow()
    with ledger.engine.connect() as conn:
        stmt = sa.select(transcripts.c.workflow).distinct()
        if workflow is not None:
            stmt = stmt.where(transcripts.c.workflow == workflow)
        workflows = sorted(row[0] for row in conn.execute(stmt))
    policies = {w: (retention[w], None) for w in workflows if retention and w in retention}
    policies.update(retention_by_workflow([w for w in workflows if w not in policies]))

    def condition(name: str, days: int | None):
        if days is None:
            return sa.and_(transcripts.c.workflow == name, transcripts.c.expires_at <= now), None
        cutoff = now - _dt.timedelta(days=days)
        # 0 days: everything stored so far goes (created_at <= now).
        op = transcripts.c.created_at <= cutoff if days == 0 else transcripts.c.created_at < cutoff
        return sa.and_(transcripts.c.workflow == name, op), cutoff

    results: list[WorkflowPurge] = []
    if dry_run:
        with ledger.engine.connect() as conn:
            for name in workflows:
                days, note = policies[name]
                where, cutoff = condition(name, days)
                doomed = conn.execute(sa.select(sa.func.count()).select_from(transcripts).where(where)).scalar_one()
                total = conn.execute(sa.select(sa.func.count()).select_from(transcripts)
                                     .where(transcripts.c.workflow == name)).scalar_one()
                results.append(WorkflowPurge(name, days, RECORDED if days is None else ENVELOPE, cutoff,
                                             int(doomed), int(total - doomed), note=note))
        return PurgeResult(now, True, results)

    with ledger.transaction() as conn:
        for name in workflows:
            days, note = policies[name]
            where, cutoff = condition(name, days)
            ids = sorted(row[0] for row in conn.execute(sa.select(transcripts.c.id).where(where)))
            if ids:
                conn.execute(transcripts.delete().where(where))
            kept = conn.execute(sa.select(sa.func.count()).select_from(transcripts)
                                .where(transcripts.c.workflow == name)).scalar_one()
            seq = None
            if ids:
                if _before_event is not None:
                    _before_event(name)
                event = ledger.append("transcripts.purged", {
                    "workflow": name, "count": len(ids), "cutoff": cutoff, "retention_days": days,
                    "source": RECORDED if days is None else ENVELOPE, "now": now,
                    "ids_digest": digest(ids),
                }, conn=conn, actor=actor, workflow=name)
                seq = event.seq
            results.append(WorkflowPurge(name, days, RECORDED if days is None else ENVELOPE, cutoff, len(ids),
                                         int(kept), audit_seq=seq, note=note))
    return PurgeResult(now, False, results)


__all__ = ["ENVELOPE", "RECORDED", "PurgeResult", "WorkflowPurge", "purge", "retention_by_workflow"]
