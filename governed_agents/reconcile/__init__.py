"""Invoice reconciliation: the deterministic three-way match (invoice, PO, goods receipt).

No orchestrator here (the Dagster assets in ``assets/`` call these functions):

- ``load_snapshot(engine)`` / ``load_invoice_lines(engine, batch_id)`` read the ERP;
- ``reconcile(lines, snapshot, params=..., scorer=..., po_extractor=...)`` decides
  one reason code per invoice (``REASON_CODES``, in rule order; docs/erp.md) and
  proposes a journal entry for every matched invoice;
- ``ReconcileParams.from_envelope(loaded)`` takes the thresholds from the envelope;
- ``normalize_po_reference`` / ``extract_po_reference_offline`` read PO references.
"""

from governed_agents.reconcile.model import (
    EXCEPTION_CODES,
    INVOICE_FIELDS,
    REASON_CODES,
    InvoiceLine,
    Outcome,
    ReconcileParams,
    ReconcileResult,
)
from governed_agents.reconcile.po_reference import extract_po_reference_offline, normalize_po_reference, po_key
from governed_agents.reconcile.rules import PoExtractor, reconcile
from governed_agents.reconcile.snapshot import (
    ErpSnapshot,
    PoLine,
    PurchaseOrder,
    VendorInfo,
    iter_invoice_lines,
    load_invoice_lines,
    load_snapshot,
    normalize_invoice_number,
    normalize_tax_id,
)

__all__ = [
    "EXCEPTION_CODES",
    "INVOICE_FIELDS",
    "REASON_CODES",
    "ErpSnapshot",
    "InvoiceLine",
    "Outcome",
    "PoExtractor",
    "PoLine",
    "PurchaseOrder",
    "ReconcileParams",
    "ReconcileResult",
    "VendorInfo",
    "extract_po_reference_offline",
    "iter_invoice_lines",
    "load_invoice_lines",
    "load_snapshot",
    "normalize_invoice_number",
    "normalize_po_reference",
    "normalize_tax_id",
    "po_key",
    "reconcile",
]
