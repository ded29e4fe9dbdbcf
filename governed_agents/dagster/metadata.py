"""Rendering governance evidence as Dagster metadata (Markdown in the UI)."""

from __future__ import annotations

from typing import Iterable

import dagster as dg

TAG_PREFIX = "governed_agents"
TAG_WORKFLOW = f"{TAG_PREFIX}/workflow"
TAG_TRACE = f"{TAG_PREFIX}/trace_id"
TAG_ENVELOPE = f"{TAG_PREFIX}/envelope_digest"
TAG_APPROVAL = f"{TAG_PREFIX}/approval_id"
TAG_ERP = f"{TAG_PREFIX}/erp"
TAG_REQUESTER = f"{TAG_PREFIX}/requested_by"


def receipt_metadata(signed, *, prefix: str = "receipt") -> dict:
    """A receipt as Markdown plus its id and audit anchor, for materialisation metadata."""
    from governed_agents.receipts.render import render_markdown

    r = signed.receipt
    return {
        f"{prefix}": dg.MetadataValue.md(render_markdown(signed)),
        f"{prefix}_id": dg.MetadataValue.text(r.receipt_id),
        f"{prefix}_kind": dg.MetadataValue.text(r.kind),
        f"{prefix}_audit_anchor": dg.MetadataValue.text(f"#{r.audit_anchor.seq} {r.audit_anchor.hash}"),
    }


#: How a step that carries out one decided approval request may end and still
#: succeed: the write ran (or had already run), or the decision said no.
SETTLED_OUTCOMES = frozenset({"executed", "duplicate", "rejected", "expired"})


def approved_write_result(approval_request_id: str, result, *, settled: Iterable[str] = SETTLED_OUTCOMES,
                          **extra) -> dg.MaterializeResult:
    """The materialisation of a step that carried out one approval request: its outcome,
    ``extra`` and its receipt as metadata; ``dg.Failure`` for any other outcome
    (refused, failed), so the run shows red with the same metadata."""
    metadata = {"approval_request_id": approval_request_id, "outcome": result.outcome, **extra}
    if result.receipt is not None:
        metadata.update(receipt_metadata(result.receipt))
    if result.outcome not in settled:
        raise dg.Failure(description=f"approval request {approval_request_id}: {result.outcome}",
                         metadata=metadata)
    return dg.MaterializeResult(metadata=metadata)


def markdown_table(rows: Iterable[dict], columns: list[str], limit: int = 200) -> str:
    rows = list(rows)
    if not rows:
        return "_none_"

    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows[:limit]:
        lines.append("| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |")
    if len(rows) > limit:
        lines.append(f"\n… and {len(rows) - limit} more")
    return "\n".join(lines)


def redacted_metadata(metadata: dict, envelope=None, known_names=()) -> dict:
    """``metadata`` with personal data redacted from every text, Markdown and JSON value.

    Dagster's event log is a store like any other: what an asset yields as
    metadata lands there verbatim. Redaction follows the envelope's
    ``logging.redact_pii`` (``None``: redact). One document per call, so the
    same value gets the same placeholder across the entries. ``known_names``: the
    run's master-data person names (``erp.people.known_names``), redacted anywhere.
    """
    from governed_agents.safety.pii import Redactor

    inner = getattr(envelope, "envelope", envelope)
    if inner is not None and not inner.logging.redact_pii:
        return metadata
    redactor = Redactor(known_names)
    out = {}
    for key, value in metadata.items():
        if isinstance(value, str):
            out[key] = redactor.text(value)
        elif isinstance(value, dg.MarkdownMetadataValue):
            out[key] = dg.MetadataValue.md(redactor.text(value.md_str or ""))
        elif isinstance(value, dg.TextMetadataValue):
            out[key] = dg.MetadataValue.text(redactor.text(value.text or ""))
        elif isinstance(value, dg.JsonMetadataValue):
            out[key] = dg.MetadataValue.json(redactor.value(value.data))
        elif isinstance(value, (dict, list)):
            out[key] = redactor.value(value)
        else:
            out[key] = value
    return out
