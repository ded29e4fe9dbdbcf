"""The values reconciliation takes and gives: invoice lines, parameters, outcomes.

Kept deliberately plain (a NamedTuple per invoice line, slots dataclasses
elsewhere, no pydantic): a batch of a million lines passes through here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # pragma: no cover
    from governed_agents.envelope import LoadedEnvelope

#: The reason codes, in the order the rules are applied (docs/erp.md). The first
#: rule that applies to an invoice decides its outcome.
REASON_CODES: tuple[str, ...] = (
    "data_quality",
    "suspected_injection",
    "unknown_vendor",
    "blocked_vendor",
    "duplicate_invoice",
    "no_po",
    "vendor_mismatch",
    "currency_mismatch",
    "quantity_variance",
    "price_variance",
    "matched",
)
EXCEPTION_CODES: tuple[str, ...] = REASON_CODES[:-1]


class InvoiceLine(NamedTuple):
    """One row of ``invoices.csv``, as raw strings (``None`` or ``""`` for an empty field).

    ``source_row`` (the line in the file, header = 1) and ``import_batch`` say
    where the line came from; outcomes cite them.
    """

    invoice_id: str | None
    vendor_name: str | None
    vendor_tax_id: str | None
    invoice_number: str | None
    invoice_date: str | None
    currency: str | None
    po_reference: str | None
    line_no: str | None
    sku: str | None
    description: str | None
    quantity: str | None
    unit_price: str | None
    line_total: str | None
    memo: str | None
    source_row: int | None = None
    import_batch: str | None = None


#: The 14 fields of an invoice line that ``invoices.csv`` carries, in contract order.
INVOICE_FIELDS: tuple[str, ...] = InvoiceLine._fields[:14]


@dataclass(frozen=True, slots=True)
class ReconcileParams:
    """The thresholds reconciliation applies; build it from the workflow's envelope.

    - ``price_tolerance_pct``: unit-price difference still accepted (envelope
      ``parameters.price_tolerance_pct``, default 2);
    - ``amount_tolerance``: how far ``line_total`` may differ from quantity ×
      unit price (``parameters.amount_tolerance``, default 0.01);
    - ``injection_threshold``: a score at or above it is ``suspected_injection``
      (``safety.block_on_prompt_injection_score_gte``, default 0.7).
    """

    price_tolerance_pct: Decimal = Decimal("2")
    amount_tolerance: Decimal = Decimal("0.01")
    injection_threshold: float = 0.7
    envelope_version: str | None = None
    envelope_digest: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "price_tolerance_pct", Decimal(str(self.price_tolerance_pct)))
        object.__setattr__(self, "amount_tolerance", Decimal(str(self.amount_tolerance)))
        if self.price_tolerance_pct < 0 or self.amount_tolerance < 0:
            raise ValueError("tolerances must not be negative")
        if not 0 <= float(self.injection_threshold) <= 1:
            raise ValueError("injection_threshold must be in [0, 1]")

    @classmethod
    def from_envelope(cls, loaded: "LoadedEnvelope") -> "ReconcileParams":
        envelope = loaded.envelope
        return cls(
            price_tolerance_pct=Decimal(str(envelope.parameters.price_tolerance_pct)),
            amount_tolerance=envelope.parameters.amount_tolerance,
            injection_threshold=float(envelope.safety.block_on_prompt_injection_score_gte),
            envelope_version=loaded.version,
            envelope_digest=loaded.digest,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "price_tolerance_pct": str(self.price_tolerance_pct),
            "amount_tolerance": str(self.amount_tolerance),
            "injection_threshold": self.injection_threshold,
            "envelope_version": self.envelope_version,
            "envelope_digest": self.envelope_digest,
        }


@dataclass(slots=True)
class Outcome:
    """How one invoice reconciled.

    ``reason`` is a code of ``REASON_CODES``; ``details`` says for a person what
    exactly failed (line, field, values) or, for ``matched``, what matched.
    ``proposal`` is set only for ``matched``: the exact arguments of the
    registered tool ``erp.create_journal_entry``. ``model_used`` is true when
    the PO reference could only be read by asking the extractor (the model
    tier). ``injection`` holds the evidence of every field that scored at or
    above the threshold (``suspected_injection`` only).
    """

    invoice_id: str
    reason: str
    details: str
    proposal: dict[str, str] | None = None
    model_used: bool = False
    injection: tuple[dict[str, Any], ...] = ()
    vendor_id: str | None = None
    po_number: str | None = None
    currency: str | None = None
    amount: str | None = None
    source_rows: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "invoice_id": self.invoice_id,
            "reason": self.reason,
            "details": self.details,
            "proposal": self.proposal,
            "model_used": self.model_used,
            "injection": list(self.injection),
            "vendor_id": self.vendor_id,
            "po_number": self.po_number,
            "currency": self.currency,
            "amount": self.amount,
            "source_rows": list(self.source_rows),
        }


@dataclass(slots=True)
class ReconcileResult:
    """Every invoice's outcome, in the order invoices first appear in the input."""

    outcomes: list[Outcome]
    params: ReconcileParams
    lines: int = 0
    model_calls: int = 0  # distinct references the extractor was asked about
    _by_id: dict[str, Outcome] | None = field(default=None, repr=False)

    def counts(self) -> dict[str, int]:
        """Outcomes per reason code (every code present, zeros included), in rule order."""
        counts = dict.fromkeys(REASON_CODES, 0)
        for o in self.outcomes:
            counts[o.reason] += 1
        return counts

    def by_invoice(self) -> dict[str, Outcome]:
        if self._by_id is None:
            self._by_id = {o.invoice_id: o for o in self.outcomes}
        return self._by_id

    def reasons(self) -> dict[str, str]:
        """``invoice_id → reason code``."""
        return {o.invoice_id: o.reason for o in self.outcomes}

    def proposals(self) -> list[dict[str, str]]:
        """The ``erp.create_journal_entry`` arguments of every matched invoice."""
        return [o.proposal for o in self.outcomes if o.proposal is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "invoices": len(self.outcomes),
            "model_calls": self.model_calls,
            "counts": self.counts(),
            "params": self.params.to_dict(),
            "outcomes": [o.to_dict() for o in self.outcomes],
        }
