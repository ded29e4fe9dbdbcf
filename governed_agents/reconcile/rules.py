"""The reconciliation rule (public contract, docs/erp.md): one reason code per invoice.

``reconcile(lines, snapshot, params=..., scorer=..., po_extractor=...)`` groups
invoice lines by ``invoice_id`` and applies the rules in order; the first that
applies decides. It is pure: no I/O, no clock, no randomness — the same input
gives the same outcomes. The only thing it calls out to is ``po_extractor``
(the pipeline passes one that asks the model tier through the gate and budget)
and only for a PO reference the rules cannot read.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Callable, Iterable

from governed_agents.reconcile._bulk import paused_gc
from governed_agents.reconcile.currencies import ISO_4217
from governed_agents.reconcile.model import InvoiceLine, Outcome, ReconcileParams, ReconcileResult
from governed_agents.reconcile.po_reference import normalize_po_reference
from governed_agents.reconcile.snapshot import (
    SCALE,
    ErpSnapshot,
    PoLine,
    from_units,
    normalize_invoice_number,
    normalize_tax_id,
)
from governed_agents.safety.injection import InjectionScore, score_text

Scorer = Callable[..., InjectionScore]
PoExtractor = Callable[[str], "str | None"]

# Fields of an invoice's header: repeated on each of its lines, and must agree.
_HEADER = (("vendor_name", 1), ("vendor_tax_id", 2), ("invoice_number", 3), ("invoice_date", 4),
           ("currency", 5), ("po_reference", 6))
_REQUIRED = (("vendor_tax_id", 2), ("invoice_number", 3), ("invoice_date", 4), ("currency", 5),
             ("line_no", 7), ("quantity", 10), ("unit_price", 11), ("line_total", 12))
# Free text that could carry instructions: the memo and description, and the header fields that
# travel further — a free-text PO reference is sent to a model, the invoice number goes into the
# journal entry's memo.
_HEADER_FIELDS_SCREENED = (("vendor_name", 1), ("invoice_number", 3), ("po_reference", 6))
_TWO_WORDS = re.compile(r"[^\W\d_]{2,}[\W_]+[^\W\d_]{2,}")  # an identifier has no two words in a row
# …and on every line: description (9) and memo (13).
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CENT = Decimal("0.01")
_MAX_AMOUNT = Decimal("1e14")  # the journal entry's amount has at most 16 digits, 2 after the point
_MAX_ID = 64
_MAX_PROBLEMS = 8
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


def _show(value: str | None) -> str:
    if value is None:
        return "empty"
    return repr(value if len(value) <= 40 else value[:37] + "...")


# A parsed invoice line is a plain tuple (cheaper than any class on the hot path):
# (line_no, sku, quantity, unit_price, line_total, source_row)
_LINE_NO, _SKU, _QTY, _PRICE, _TOTAL, _ROW = range(6)


def _where(line: InvoiceLine, index: int) -> str:
    no = (line.line_no or "").strip() or f"#{index + 1}"
    return f"line {no}" + (f" (row {line.source_row})" if line.source_row is not None else "")


class _Run:
    """One call of ``reconcile``: its parameters, caches, and what earlier invoices of the batch did."""

    def __init__(self, snapshot: ErpSnapshot, params: ReconcileParams, scorer: Scorer,
                 po_extractor: PoExtractor | None):
        self.snapshot = snapshot
        self.params = params
        self.scorer = scorer
        self.po_extractor = po_extractor
        self.threshold = float(params.injection_threshold)
        self.tolerance = params.amount_tolerance
        self.price_pct = params.price_tolerance_pct
        self.scores: dict[str | tuple[str, str], InjectionScore] = {}  # by text (header) or (context, text)
        self.extracted: dict[str, str | None] = {}
        self.seen_numbers: dict[tuple[str, str], str] = {}  # (tax id, number) → first invoice id
        self.batch_invoiced: dict[tuple[str, int], int] = {}  # (po, line) → units invoiced by matched invoices
        self.tax_keys: dict[str | None, str] = {}

    # -- rule 1 ------------------------------------------------------------------

    def parse_fast(self, invoice_id: str, lines: list[InvoiceLine]) -> list[tuple] | None:
        """The parsed lines when nothing at all is unusual, else ``None``.

        Conservative by design: anything it does not recognise at a glance
        (whitespace around a value, a header that differs, a bad number…) sends
        the invoice to ``data_quality``, which decides and explains.
        """
        if len(invoice_id) > _MAX_ID:
            return None
        first = lines[0]
        head = first[1:7]
        _, _, tax, number, date, currency, _ = first[:7]
        if not (tax and number and date and currency) or currency not in ISO_4217 or not _DATE.fullmatch(date) \
                or tax.isspace() or number.isspace():
            return None
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            return None
        tolerance = self.tolerance
        match = _NUMBER.fullmatch
        parsed = []
        seen = set()
        total = _ZERO
        for line in lines:
            if line[1:7] != head:
                return None
            line_no, sku, _, quantity, unit_price, line_total = line[7:13]
            if not (line_no and quantity and unit_price and line_total and line_no.isdigit() and line_no.isascii()
                    and match(quantity) and match(unit_price) and match(line_total)):
                return None
            n = int(line_no)
            if n < 1 or n in seen or len(line_no) > 9:
                return None
            seen.add(n)
            q = Decimal(quantity)
            p = Decimal(unit_price)
            t = Decimal(line_total)
            if q <= 0 or p < 0 or abs(t - q * p) > tolerance:
                return None
            total += t
            parsed.append((n, sku.strip() if sku else None, q, p, t, line[14]))
        if total < _CENT or total >= _MAX_AMOUNT:
            return None
        return parsed

    def data_quality(self, invoice_id: str, lines: list[InvoiceLine]) -> tuple[list[str], list[tuple]]:
        problems: list[str] = []
        parsed: list[tuple] = []
        first = lines[0]
        if len(invoice_id) > _MAX_ID:
            problems.append(f"invoice_id is {len(invoice_id)} characters long (at most {_MAX_ID})")
        for name, i in _HEADER:
            ref = (first[i] or "").strip()
            for k, line in enumerate(lines[1:], start=1):
                if (line[i] or "").strip() != ref:
                    problems.append(f"{name} differs between {_where(first, 0)} ({_show(first[i])}) and "
                                    f"{_where(line, k)} ({_show(line[i])}); an invoice's lines must agree")
                    break
        date = (first.invoice_date or "").strip()
        if date:
            try:
                if not _DATE.fullmatch(date):
                    raise ValueError
                dt.date.fromisoformat(date)
            except ValueError:
                problems.append(f"invoice_date {_show(first.invoice_date)} is not a date (YYYY-MM-DD)")
        currency = (first.currency or "").strip().upper()
        if currency and currency not in ISO_4217:
            problems.append(f"currency {_show(first.currency)} is not an ISO 4217 code")
        seen_line_nos: dict[int, int] = {}
        total = Decimal(0)
        for k, line in enumerate(lines):
            where = _where(line, k)
            missing = [name for name, i in _REQUIRED if not (line[i] or "").strip()]
            if missing:
                problems.append(f"{where}: missing {', '.join(missing)}")
                continue
            line_no_text = line.line_no.strip()
            if not line_no_text.isdigit() or int(line_no_text) < 1 or len(line_no_text) > 9:
                problems.append(f"{where}: line_no {_show(line.line_no)} is not a line number (1, 2, …)")
                continue
            line_no = int(line_no_text)
            if line_no in seen_line_nos:
                problems.append(f"{where}: line_no {line_no} appears twice in the invoice")
                continue
            seen_line_nos[line_no] = k
            numbers = []
            for name, value in (("quantity", line.quantity), ("unit_price", line.unit_price),
                                ("line_total", line.line_total)):
                text = value.strip()
                if not _NUMBER.fullmatch(text):
                    problems.append(f"{where}: {name} {_show(value)} is not a number")
                    numbers.append(None)
                else:
                    numbers.append(Decimal(text))
            quantity, unit_price, line_total = numbers
            if quantity is not None and quantity <= 0:
                problems.append(f"{where}: quantity {_show(line.quantity)} must be greater than 0")
            if unit_price is not None and unit_price < 0:
                problems.append(f"{where}: unit_price {_show(line.unit_price)} must not be negative")
            if quantity is None or unit_price is None or line_total is None:
                continue
            expected = quantity * unit_price
            if abs(line_total - expected) > self.tolerance:
                problems.append(f"{where}: line_total {line_total} ≠ quantity × unit_price = {quantity} × {unit_price} "
                                f"= {expected} (tolerance ±{self.tolerance})")
            total += line_total
            sku = (line.sku or "").strip() or None
            parsed.append((line_no, sku, quantity, unit_price, line_total, line.source_row))
        if not problems:
            amount = total.quantize(_CENT, ROUND_HALF_UP)
            if amount <= 0:
                problems.append(f"the invoice total {amount} is not positive; there is nothing to pay")
            elif amount >= _MAX_AMOUNT:
                problems.append(f"the invoice total {amount} is larger than a journal entry can hold")
        return problems, parsed

    # -- rule 2 ------------------------------------------------------------------

    def injection(self, lines: list[InvoiceLine], po_readable: bool) -> list[dict]:
        scores = self.scores
        scorer = self.scorer
        threshold = self.threshold
        flagged: list[tuple[str, InvoiceLine, InjectionScore]] = []
        first = lines[0]
        # Header fields agree across lines (rule 1): scored once. An invoice number or PO
        # reference the rules read as an identifier is not text anyone follows: not scored.
        for name, i in _HEADER_FIELDS_SCREENED:
            text = first[i]
            if not text or (i == 6 and po_readable) or (i == 3 and _TWO_WORDS.search(text) is None):
                continue
            result = scores.get(text)
            if result is None:
                result = scores[text] = scorer(text, context="data")
            if result.score >= threshold:
                flagged.append((name, first, result))
        # Descriptions and memos are the invoice's own words, where payment wording ("please pay by
        # Friday", "contact billing at +1 …") is ordinary: scored in the invoice_memo context.
        for line in lines:
            text = line[9]  # description
            if text:
                result = scores.get(("invoice_memo", text))
                if result is None:
                    result = scores[("invoice_memo", text)] = scorer(text, context="invoice_memo")
                if result.score >= threshold:
                    flagged.append(("description", line, result))
            text = line[13]  # memo
            if text:
                result = scores.get(("invoice_memo", text))
                if result is None:
                    result = scores[("invoice_memo", text)] = scorer(text, context="invoice_memo")
                if result.score >= threshold:
                    flagged.append(("memo", line, result))
        if not flagged:
            return []
        return [{
            "field": name,
            "line_no": (line.line_no or "").strip() or None,
            "source_row": line.source_row,
            "score": result.score,
            "signals": [s.to_dict() for s in result.signals],
        } for name, line, result in flagged]

    # -- rule 6 ------------------------------------------------------------------

    def resolve_po(self, reference: str, key: str | None) -> tuple[str | None, bool, str]:
        """``(key, model_used, how)``: the PO key the reference names, whether the model was asked, and how.

        ``key`` is ``normalize_po_reference(reference)``, already computed by the caller."""
        if key is not None:
            return key, False, f"reference {_show(reference)} reads as {key}"
        if self.po_extractor is None:
            return None, False, (f"the reference {_show(reference)} is free text the rules cannot read, "
                                 "and no PO extractor (model) was available")
        if reference in self.extracted:
            answer = self.extracted[reference]
        else:
            answer = self.po_extractor(reference)
            if answer is not None and not isinstance(answer, str):
                answer = None  # the model's answer is data to validate, never trusted as is
            self.extracted[reference] = answer
        if not answer:
            return None, True, f"the model found no PO number in the free-text reference {_show(reference)}"
        key = normalize_po_reference(answer)
        if key is None:
            return None, True, f"the model read {_show(answer)} from {_show(reference)}, which is not a PO number"
        return key, True, f"the model read PO {key} from the free-text reference {_show(reference)}"

    # -- the rules in order ------------------------------------------------------

    def tax_key(self, tax_id: str | None) -> str:
        key = self.tax_keys.get(tax_id)
        if key is None:
            key = self.tax_keys[tax_id] = normalize_tax_id(tax_id)
        return key

    def decide(self, invoice_id: str, lines: list[InvoiceLine]) -> Outcome:
        first = lines[0]
        rows = tuple([line[14] for line in lines if line[14] is not None])
        tax_key = self.tax_key(first[2])
        number_key = normalize_invoice_number(first[3])
        earlier = None
        if tax_key and number_key:
            earlier = self.seen_numbers.setdefault((tax_key, number_key), invoice_id)
            if earlier == invoice_id:
                earlier = None

        # 1. data_quality
        parsed = self.parse_fast(invoice_id, lines)
        if parsed is None:
            problems, parsed = self.data_quality(invoice_id, lines)
            if problems:
                shown = problems[:_MAX_PROBLEMS]
                if len(problems) > _MAX_PROBLEMS:
                    shown.append(f"… and {len(problems) - _MAX_PROBLEMS} more")
                return Outcome(invoice_id, "data_quality", "; ".join(shown), source_rows=rows)
        currency = first[5].strip().upper()
        total = _ZERO
        for p in parsed:
            total += p[_TOTAL]
        amount = f"{total.quantize(_CENT, ROUND_HALF_UP):.2f}"

        # 2. suspected_injection
        reference = (first[6] or "").strip()
        po_ref_key = normalize_po_reference(reference) if reference else None
        evidence = self.injection(lines, po_ref_key is not None)
        if evidence:
            worst = max(evidence, key=lambda e: e["score"])
            names = sorted({s["name"] for e in evidence for s in e["signals"]})
            where = f"{worst['field']}" + (f" on line {worst['line_no']}" if worst["line_no"] else "")
            return Outcome(invoice_id, "suspected_injection",
                           f"{where} scores {worst['score']:.2f} ≥ {self.threshold:.2f} for prompt injection "
                           f"({len(evidence)} field(s) flagged; signals: {', '.join(names)}); not processed further",
                           injection=tuple(evidence), currency=currency, amount=amount, source_rows=rows)

        # 3. unknown_vendor
        vendor = self.snapshot.vendors_by_tax_id.get(tax_key)
        if vendor is None:
            return Outcome(invoice_id, "unknown_vendor",
                           f"vendor_tax_id {_show(first[2])} ({_show(first[1])}) is not in the vendor master",
                           currency=currency, amount=amount, source_rows=rows)
        vendor_id = vendor.vendor_id

        # 4. blocked_vendor
        if vendor.status != "active":
            return Outcome(invoice_id, "blocked_vendor", f"vendor {vendor_id} ({vendor.name}) has status {vendor.status!r}",
                           vendor_id=vendor_id, currency=currency, amount=amount, source_rows=rows)

        # 5. duplicate_invoice
        duplicate = None
        if invoice_id in self.snapshot.posted_invoice_ids:
            duplicate = f"invoice {invoice_id} already has a posted journal entry"
        elif (vendor_id, number_key) in self.snapshot.posted_invoices:
            duplicate = f"vendor {vendor_id} invoice number {_show(first[3])} is already posted"
        elif earlier is not None:
            duplicate = (f"vendor {vendor_id} invoice number {_show(first[3])} appears earlier in this batch "
                         f"as invoice {earlier}")
        if duplicate:
            return Outcome(invoice_id, "duplicate_invoice", duplicate, vendor_id=vendor_id, currency=currency,
                           amount=amount, source_rows=rows)

        # 6. no_po
        if not reference:
            return Outcome(invoice_id, "no_po", "the invoice gives no PO reference", vendor_id=vendor_id,
                           currency=currency, amount=amount, source_rows=rows)
        key, model_used, how = self.resolve_po(reference, po_ref_key)
        if key is None:
            return Outcome(invoice_id, "no_po", how, vendor_id=vendor_id, currency=currency, amount=amount,
                           model_used=model_used, source_rows=rows)
        po, ambiguous = self.snapshot.find_po(key)
        if po is None:
            why = "matches more than one PO" if ambiguous else "names no existing PO"
            return Outcome(invoice_id, "no_po", f"{how}, which {why}", vendor_id=vendor_id, currency=currency,
                           amount=amount, model_used=model_used, source_rows=rows)
        po_number = po.po_number

        def outcome(reason: str, details: str, proposal: dict | None = None) -> Outcome:
            return Outcome(invoice_id, reason, details, proposal=proposal, model_used=model_used, vendor_id=vendor_id,
                           po_number=po_number, currency=currency, amount=amount, source_rows=rows)

        # 7. vendor_mismatch
        if po.vendor_id != vendor_id:
            return outcome("vendor_mismatch", f"PO {po_number} belongs to vendor {po.vendor_id}, the invoice is from "
                                              f"{vendor_id} ({vendor.name}); {how}")

        # 8. currency_mismatch
        if po.currency != currency:
            return outcome("currency_mismatch",
                           f"invoice currency {currency} differs from PO {po_number}'s currency {po.currency}")

        # 9. quantity_variance
        matched: list[tuple[tuple, PoLine]] = []
        over: list[str] = []
        this_invoice: dict[int, int] = {}
        batch_invoiced = self.batch_invoiced
        for p in parsed:
            po_line = po.line_for(p[_LINE_NO], p[_SKU])
            if po_line is None:
                what = f"SKU {p[_SKU]}" if p[_SKU] else f"line {p[_LINE_NO]}"
                over.append(f"line {p[_LINE_NO]}: PO {po_number} has no {what}; nothing of it was received")
                continue
            units = int((p[_QTY] * SCALE).to_integral_value(ROUND_CEILING))  # never under-count
            po_line_no = po_line.line_no
            already = (po_line.invoiced_units + batch_invoiced.get((po_number, po_line_no), 0)
                       + this_invoice.get(po_line_no, 0))
            this_invoice[po_line_no] = this_invoice.get(po_line_no, 0) + units
            if already + units > po_line.received_units:
                over.append(f"line {p[_LINE_NO]} ({po_line.sku}): invoiced {p[_QTY]} + already invoiced "
                            f"{_fmt(already)} = {_fmt(already + units)} > received {_fmt(po_line.received_units)} "
                            f"on PO {po_number} line {po_line_no}")
            matched.append((p, po_line))
        if over:
            return outcome("quantity_variance", "; ".join(over[:_MAX_PROBLEMS]))

        # 10. price_variance
        off = []
        pct = self.price_pct
        for p, po_line in matched:
            price = p[_PRICE]
            agreed_units = po_line.unit_price_units
            # |price - agreed| > agreed × pct / 100, compared in 1/10,000 units
            if abs(price * SCALE - agreed_units) * _HUNDRED > agreed_units * pct:
                agreed = po_line.unit_price
                diff = "∞" if agreed == 0 else f"{(price - agreed) / agreed * _HUNDRED:+.2f}%"
                off.append(f"line {p[_LINE_NO]} ({po_line.sku}): unit price {price} vs PO {agreed} ({diff}; "
                           f"tolerance ±{pct}%)")
        if off:
            return outcome("price_variance", "; ".join(off[:_MAX_PROBLEMS]))

        # 11. matched
        for po_line_no, units in this_invoice.items():
            batch_invoiced[(po_number, po_line_no)] = batch_invoiced.get((po_number, po_line_no), 0) + units
        # Built from the vendor master and fields rule 2 screened (the invoice number), nothing else.
        memo = (f"Invoice {first[3].strip()} of {first[4].strip()} from {vendor.name} "
                f"({vendor_id}), PO {po_number}")[:500]

        proposal = {"invoice_id": invoice_id, "vendor_id": vendor_id, "currency": currency,
                    "amount": amount, "memo": memo}
        return outcome("matched", f"{len(parsed)} line(s) match PO {po_number}: received, and priced within "
                                  f"±{pct}%; total {amount} {currency}; {how}", proposal)


def _fmt(units: int) -> str:
    return str(from_units(units).normalize()) if units % SCALE else str(units // SCALE)


def reconcile(
    lines: Iterable[InvoiceLine],
    snapshot: ErpSnapshot,
    *,
    params: ReconcileParams | None = None,
    scorer: Scorer = score_text,
    po_extractor: PoExtractor | None = None,
) -> ReconcileResult:
    """Reconcile invoice lines against the ERP snapshot: one ``Outcome`` per invoice.

    Lines are grouped by ``invoice_id`` (stripped); invoices are decided in the
    order they first appear, which is the order "earlier in the same batch"
    refers to. A line without an invoice id is its own ``data_quality`` outcome.
    ``po_extractor(reference) -> str | None`` is asked only for a PO reference
    the rules cannot read (once per distinct reference); return ``None`` when it
    cannot or may not answer. Its exceptions propagate.
    """
    with paused_gc():
        return _reconcile(lines, snapshot, params or ReconcileParams(), scorer, po_extractor)


def _reconcile(lines: Iterable[InvoiceLine], snapshot: ErpSnapshot, params: ReconcileParams, scorer: Scorer,
               po_extractor: PoExtractor | None) -> ReconcileResult:
    groups: dict[str, list[InvoiceLine]] = {}
    orphans: set[str] = set()
    count = 0
    for count, line in enumerate(lines, start=1):
        if not isinstance(line, InvoiceLine):
            line = InvoiceLine(*line)
        key = (line.invoice_id or "").strip()
        if not key:
            key = f"(row {line.source_row}: no invoice_id)" if line.source_row is not None else \
                f"(input line {count}: no invoice_id)"
            orphans.add(key)
        group = groups.get(key)
        if group is None:
            groups[key] = [line]
        else:
            group.append(line)
    run = _Run(snapshot, params, scorer, po_extractor)
    outcomes = []
    for invoice_id, group in groups.items():
        if invoice_id in orphans:
            rows = tuple(line.source_row for line in group if line.source_row is not None)
            outcomes.append(Outcome(invoice_id, "data_quality", "the line has no invoice_id", source_rows=rows))
        else:
            outcomes.append(run.decide(invoice_id, group))
    return ReconcileResult(outcomes=outcomes, params=params, lines=count, model_calls=len(run.extracted))
