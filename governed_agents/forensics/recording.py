"""What a governed run records so that it can be replayed offline.

A proposal run of ``invoice_reconcile`` appends one ``replay.recording`` audit
event (``run_id`` = the Dagster run) holding everything its deterministic part
read from outside:

- ``envelope``: the envelope as it was (its digest is the event's column);
- ``inputs``: the batch's invoice lines, redacted per the envelope
  (``logging.redact_pii``), and the digest of the lines as read;
- ``tool_results``: what the ERP answered, cut down to what the batch touches
  (the vendors of its tax ids, the POs its references name, posted invoices of
  its vendors' numbers) — ``erp.read_snapshot``;
- ``model_responses``: each answer of the PO-extraction model tier, with the
  trace id of the task that asked;
- ``decisions``: each invoice's reconciliation outcome (reason, proposal digest).

The gate's decisions and approval requests of the run are already audit
events (``tool.decision``, ``approval.requested``) of each invoice's trace.
The recording is redacted data only, and it is hash-chained like every audit
event: editing it afterwards breaks ``governed-agents audit verify`` as well
as making the replay diverge.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from governed_agents.canonical import digest

KIND = "replay.recording"
FORMAT = 1
SNAPSHOT_TOOL = "erp.read_snapshot"


def _redacted(envelope, document: dict, known_names=()) -> dict:
    """``document`` redacted as one document (the same value gets the same placeholder throughout).

    Tax ids are what reconciliation joins invoices to the vendor master on, in
    any spelling (``de 811.907.980`` = ``DE811907980``); they are replaced first
    by one placeholder per *normalised* tax id, so the replay joins exactly as the
    run did without keeping any of them.
    """
    if not envelope.envelope.logging.redact_pii:
        return document
    from governed_agents.reconcile import normalize_tax_id

    tokens: dict[str, str] = {}

    def token(raw):
        key = normalize_tax_id(raw)
        if not key:
            return raw
        return tokens.setdefault(key, f"[VENDOR_TAX_ID_{len(tokens) + 1}]")

    for line in document["inputs"]:
        line["vendor_tax_id"] = token(line.get("vendor_tax_id"))
    for vendor in document["snapshot"]["vendors"]:
        vendor["tax_id"] = token(vendor["tax_id"])
    return _redact_document(document, known_names)


# A plain number of at most 12 digits is never personal data to the redactor (bare digit
# runs are left alone; a card number has 13 or more digits): no need to scan it.
_PLAIN_NUMBER = re.compile(r"-?\d{1,12}(?:\.\d{1,6})?")


def _redact_document(document: Any, known_names=()) -> Any:
    """``safety.pii.redact(document)``, scanning each distinct string once.

    Batches repeat most values (vendors, SKUs, descriptions, dates, amounts); the
    redactor numbers placeholders per document, so the same string always gets the
    same result within it and caching it changes nothing but the time.
    """
    from governed_agents.safety.pii import Redactor

    redactor = Redactor(known_names)
    seen: dict[str, str] = {}

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            done = seen.get(value)
            if done is None:
                done = seen[value] = value if _PLAIN_NUMBER.fullmatch(value) else redactor.text(value)
            return done
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(item) for item in value]
        return value

    return walk(document)


def snapshot_slice(snapshot, lines: Iterable, answers: dict[str, str | None]) -> dict:
    """The part of ``snapshot`` that reconciling ``lines`` can read (JSON-ready, units as integers)."""
    from governed_agents.reconcile import normalize_invoice_number, normalize_po_reference, normalize_tax_id

    lines = list(lines)
    vendors, keys, numbers, invoice_ids = {}, set(), set(), set()
    for line in lines:
        tax = normalize_tax_id(line.vendor_tax_id)
        vendor = snapshot.vendors_by_tax_id.get(tax)
        if vendor is not None:
            vendors[tax] = {"vendor_id": vendor.vendor_id, "name": vendor.name, "tax_id": vendor.tax_id,
                            "currency": vendor.currency, "status": vendor.status}
            numbers.add((vendor.vendor_id, normalize_invoice_number(line.invoice_number)))
        invoice_ids.add((line.invoice_id or "").strip())
        reference = (line.po_reference or "").strip()
        for candidate in (reference, answers.get(reference)):
            key = normalize_po_reference(candidate) if candidate else None
            if key is not None:
                keys.add(key)
    index = {key: snapshot.po_index[key] for key in sorted(keys) if key in snapshot.po_index}
    orders = {}
    for number in sorted(n for n in index.values() if n is not None):
        po = snapshot.purchase_orders[number]
        orders[number] = {"vendor_id": po.vendor_id, "currency": po.currency, "lines": [
            [ln.line_no, ln.sku, ln.quantity_units, ln.unit_price_units, ln.received_units, ln.invoiced_units]
            for ln in po.lines]}
    return {
        "vendors": [vendors[k] for k in sorted(vendors)],
        "po_index": index,
        "purchase_orders": orders,
        "posted_invoices": sorted([list(p) for p in numbers if p in snapshot.posted_invoices]),
        "posted_invoice_ids": sorted(i for i in invoice_ids if i in snapshot.posted_invoice_ids),
    }


def snapshot_from_slice(data: dict):
    """An ``ErpSnapshot`` from a recorded slice (the inverse of ``snapshot_slice``)."""
    from governed_agents.reconcile import ErpSnapshot, PoLine, PurchaseOrder, VendorInfo

    from governed_agents.reconcile import normalize_tax_id

    vendors = {normalize_tax_id(v["tax_id"]): VendorInfo(v["vendor_id"], v["name"], v["tax_id"], v["currency"],
                                                         v["status"])
               for v in data.get("vendors", [])}
    orders = {number: PurchaseOrder(number, po["vendor_id"], po["currency"],
                                    tuple(PoLine(*[int(x) if i != 1 else x for i, x in enumerate(ln)])
                                          for ln in po["lines"]))
              for number, po in data.get("purchase_orders", {}).items()}
    return ErpSnapshot(vendors, orders, dict(data.get("po_index", {})),
                       frozenset(tuple(p) for p in data.get("posted_invoices", [])),
                       frozenset(data.get("posted_invoice_ids", [])))


def line_dicts(lines: Iterable) -> list[dict]:
    return [line._asdict() for line in lines]


def record_run(ledger, envelope, *, run_id: str, lines: list, snapshot, result,
               answers: dict[str, str | None], answer_traces: dict[str, str] | None = None,
               conn=None, known_names=()):
    """Append the ``replay.recording`` event of one reconciliation run; returns it.

    ``known_names``: the run's master-data person names (``erp.people.known_names``),
    redacted wherever the lines or references quote them."""
    answer_traces = answer_traces or {}
    raw = line_dicts(lines)
    input_digest = digest(raw)
    document = _redacted(envelope, {
        "inputs": raw,
        "snapshot": snapshot_slice(snapshot, lines, answers),
        "references": list(answers),
    }, known_names)
    payload: dict[str, Any] = {
        "format": FORMAT,
        "workflow": envelope.workflow,
        "envelope": envelope.envelope.model_dump(mode="json"),
        "redacted": bool(envelope.envelope.logging.redact_pii),
        "params": result.params.to_dict(),
        "inputs": {"digest": input_digest, "lines": document["inputs"]},
        "tool_results": [{"step": 1, "tool": SNAPSHOT_TOOL, "result": document["snapshot"]}],
        "model_responses": [
            {"reference": shown, "reference_digest": digest(reference), "answer": answers[reference],
             "trace_id": answer_traces.get(reference)}
            for reference, shown in zip(answers, document["references"])
        ],
        "decisions": [
            {"invoice_id": o.invoice_id, "reason": o.reason, "model_used": o.model_used,
             "proposal_digest": digest(o.proposal) if o.proposal else None}
            for o in result.outcomes
        ],
    }
    return ledger.append(KIND, payload, actor="dagster", workflow=envelope.workflow, run_id=run_id,
                         envelope_version=envelope.version, envelope_digest=envelope.digest, conn=conn)


def find_recordings(ledger, run_ids: Iterable[str]) -> list:
    """The ``replay.recording`` events of the given runs, in order."""
    import sqlalchemy as sa

    from governed_agents.ledger.audit import AuditEvent
    from governed_agents.ledger.schema import audit_events

    ids = sorted({r for r in run_ids if r})
    if not ids:
        return []
    stmt = (sa.select(audit_events).where(audit_events.c.kind == KIND, audit_events.c.run_id.in_(ids))
            .order_by(audit_events.c.seq))
    with ledger.engine.connect() as c:
        return [AuditEvent.from_row(row) for row in c.execute(stmt).mappings()]


def loaded_envelope(envelope_json: dict, source: str):
    """A ``LoadedEnvelope`` rebuilt from a recorded envelope (its digest recomputed)."""
    from governed_agents.envelope.loader import LoadedEnvelope
    from governed_agents.envelope.model import Envelope

    model = Envelope.model_validate(envelope_json)
    return LoadedEnvelope(envelope=model, digest=digest(model.model_dump(mode="json")), source=source)


__all__ = ["FORMAT", "KIND", "SNAPSHOT_TOOL", "find_recordings", "line_dicts", "loaded_envelope", "record_run",
           "snapshot_from_slice", "snapshot_slice"]
