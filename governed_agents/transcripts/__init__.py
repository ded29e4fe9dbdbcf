"""Model-call transcripts: how they are anchored in the audit chain, listed, verified and purged.

The model gateway stores one transcript per call (redacted when the envelope's
``logging.redact_pii`` is on) and puts only ``transcript_digest(row)`` — the
sha256 of its canonical content — into the ``model.call`` audit event. The
content can therefore be deleted when its retention ends (``purge``) while the
chain, and every receipt anchored in it, still verifies; a transcript that is
still there can be checked against its anchor (``verify_transcripts``).
"""

from __future__ import annotations

from typing import Any

from governed_agents.canonical import digest

#: The columns whose content the digest covers (the stored, possibly redacted, text).
DIGEST_FIELDS: tuple[str, ...] = ("id", "task_id", "workflow", "tier", "model", "request", "response", "redacted")


def transcript_digest(row: Any) -> str:
    """sha256 of a transcript's canonical content (a row mapping or the dict the gateway inserts)."""
    return digest({name: row[name] for name in DIGEST_FIELDS})


def __getattr__(name: str) -> Any:
    # The purge and the store helpers import SQLAlchemy and the ledger: loaded on first use,
    # so the gateway's import of transcript_digest stays light.
    if name in ("purge", "PurgeResult", "WorkflowPurge", "retention_by_workflow"):
        from governed_agents.transcripts import retention

        return getattr(retention, name)
    if name in ("list_transcripts", "verify_transcripts", "count_transcripts"):
        from governed_agents.transcripts import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DIGEST_FIELDS", "PurgeResult", "WorkflowPurge", "count_transcripts", "list_transcripts", "purge",
    "retention_by_workflow", "transcript_digest", "verify_transcripts",
]
