"""Reading transcripts and checking each against the digest its ``model.call`` event anchors."""

from __future__ import annotations

import sqlalchemy as sa

from governed_agents.ledger.schema import transcripts
from governed_agents.transcripts import transcript_digest


def count_transcripts(ledger, *, workflow: str | None = None) -> int:
    stmt = sa.select(sa.func.count()).select_from(transcripts)
    if workflow is not None:
        stmt = stmt.where(transcripts.c.workflow == workflow)
    with ledger.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def list_transcripts(ledger, *, workflow: str | None = None, trace_id: str | None = None,
                     limit: int = 50) -> list[dict]:
    """Stored transcripts, newest first (content included: it is the redacted text)."""
    stmt = sa.select(transcripts).order_by(transcripts.c.created_at.desc(), transcripts.c.id).limit(limit)
    if workflow is not None:
        stmt = stmt.where(transcripts.c.workflow == workflow)
    if trace_id is not None:
        stmt = stmt.where(transcripts.c.trace_id == trace_id)
    with ledger.engine.connect() as conn:
        return [dict(row) for row in conn.execute(stmt).mappings()]


def verify_transcripts(ledger) -> dict:
    """Each stored transcript against its anchor: ``{"checked", "ok", "problems": [...]}``.

    A transcript without a ``model.call`` event naming it, or whose content no
    longer hashes to the anchored digest, is a problem.
    """
    anchors = {}
    for event in ledger.events(kind="model.call"):
        tid = event.payload.get("transcript_id")
        if tid:
            anchors[tid] = (event.seq, event.payload.get("transcript_digest"))
    problems, checked = [], 0
    with ledger.engine.connect() as conn:
        for row in conn.execute(sa.select(transcripts).order_by(transcripts.c.created_at)).mappings():
            checked += 1
            anchor = anchors.get(row["id"])
            if anchor is None:
                problems.append({"transcript_id": row["id"], "problem": "no model.call event anchors it"})
            elif anchor[1] != transcript_digest(row):
                problems.append({"transcript_id": row["id"], "seq": anchor[0],
                                 "problem": "its content does not match the digest anchored in the chain"})
    return {"checked": checked, "ok": not problems, "problems": problems}


__all__ = ["count_transcripts", "list_transcripts", "verify_transcripts"]
