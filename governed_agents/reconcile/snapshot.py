"""What reconciliation needs to know about the ERP, read once: ``ErpSnapshot``.

``load_snapshot(engine)`` reads the vendor master, the PO lines with their
received quantities, and what posted invoices already invoiced; the rules then
run on the snapshot without touching the database. ``ErpSnapshot.build`` makes
one from plain rows (tests, other systems of record).

Quantities and prices are held as integers in units of 1/10,000 (the ERP's
``Numeric(18, 4)``): a snapshot of a million PO lines stays a few hundred MB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Iterator, Mapping

from governed_agents.reconcile._bulk import paused_gc
from governed_agents.reconcile.model import InvoiceLine
from governed_agents.reconcile.po_reference import extract_po_reference_offline, normalize_po_reference, po_key

SCALE = 10_000  # 4 decimal places
_TAX_SEPARATORS = re.compile(r"[\s.\-/]+")
_NUMBER_SEPARATORS = re.compile(r"[\s\-/._]+")


def normalize_tax_id(tax_id: str | None) -> str:
    """Tax ids compare without case, spaces, dots, hyphens or slashes (``de 811.907.980`` = ``DE811907980``)."""
    return _TAX_SEPARATORS.sub("", tax_id or "").upper()


def normalize_invoice_number(number: str | None) -> str:
    """Invoice numbers compare without case and separators (``inv 2024/001`` = ``INV-2024-001``)."""
    return _NUMBER_SEPARATORS.sub("", number or "").upper()


def to_units(value: Any) -> int:
    """A quantity or price as an integer number of 1/10,000 units (rounded half-even)."""
    if isinstance(value, float):
        return round(value * SCALE)
    return int((Decimal(value) * SCALE).to_integral_value())


def from_units(units: int) -> Decimal:
    return Decimal(units).scaleb(-4)


@dataclass(frozen=True, slots=True)
class VendorInfo:
    vendor_id: str
    name: str
    tax_id: str
    currency: str
    status: str  # active | blocked
    iban: str | None = None


class PoLine:
    """A PO line with what was received and what posted invoices already invoiced.

    The ``*_units`` attributes are integers in 1/10,000 (what the rules compare);
    the properties give the same values as ``Decimal``.
    """

    __slots__ = ("line_no", "sku", "quantity_units", "unit_price_units", "received_units", "invoiced_units")

    def __init__(self, line_no: int, sku: str, quantity_units: int, unit_price_units: int, received_units: int = 0,
                 invoiced_units: int = 0):
        self.line_no = line_no
        self.sku = sku
        self.quantity_units = quantity_units
        self.unit_price_units = unit_price_units
        self.received_units = received_units
        self.invoiced_units = invoiced_units

    quantity = property(lambda self: from_units(self.quantity_units), doc="ordered quantity")
    unit_price = property(lambda self: from_units(self.unit_price_units), doc="agreed unit price")
    received = property(lambda self: from_units(self.received_units), doc="quantity received (goods receipts)")
    invoiced = property(lambda self: from_units(self.invoiced_units), doc="quantity on already posted invoices")

    def __repr__(self) -> str:
        return (f"PoLine({self.line_no}, {self.sku!r}, quantity={self.quantity}, unit_price={self.unit_price}, "
                f"received={self.received}, invoiced={self.invoiced})")


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    po_number: str
    vendor_id: str
    currency: str
    lines: tuple[PoLine, ...]  # by line_no

    def line_for(self, line_no: int | None, sku: str | None) -> PoLine | None:
        """The PO line an invoice line bills: the one with its SKU (its line number breaking a tie), else its line number."""
        if sku:
            same_sku = [ln for ln in self.lines if ln.sku == sku]
            if len(same_sku) == 1:
                return same_sku[0]
            if same_sku:
                return next((ln for ln in same_sku if ln.line_no == line_no), same_sku[0])
            return None
        return next((ln for ln in self.lines if ln.line_no == line_no), None)


@dataclass(frozen=True, slots=True)
class ErpSnapshot:
    """The ERP as reconciliation sees it.

    - ``vendors_by_tax_id``: normalised tax id → vendor;
    - ``purchase_orders``: PO number → PO with lines, received and already-invoiced quantities;
    - ``po_index``: ``po_key`` → PO number (``None`` where two POs share a key: ambiguous);
    - ``posted_invoices``: ``(vendor_id, normalised invoice number)`` of every posted invoice;
    - ``posted_invoice_ids``: invoice ids with a journal entry.
    """

    vendors_by_tax_id: Mapping[str, VendorInfo]
    purchase_orders: Mapping[str, PurchaseOrder]
    po_index: Mapping[str, str | None]
    posted_invoices: frozenset[tuple[str, str]]
    posted_invoice_ids: frozenset[str]

    def find_po(self, key: str) -> tuple[PurchaseOrder | None, bool]:
        """``(po, ambiguous)`` for a normalised reference key."""
        if key not in self.po_index:
            return None, False
        number = self.po_index[key]
        if number is None:
            return None, True
        return self.purchase_orders[number], False

    @classmethod
    def build(
        cls,
        *,
        vendors: Iterable[Mapping[str, Any]] = (),
        po_lines: Iterable[Mapping[str, Any]] = (),
        receipts: Iterable[Mapping[str, Any]] = (),
        posted: Iterable[Mapping[str, Any]] = (),
        posted_lines: Iterable[InvoiceLine] = (),
    ) -> "ErpSnapshot":
        """A snapshot from plain rows shaped like the ERP's tables.

        ``vendors``: vendor_id, name, tax_id, currency, status (iban optional);
        ``po_lines``: po_number, line_no, vendor_id, currency, sku, quantity, unit_price;
        ``receipts``: po_number, line_no, quantity_received;
        ``posted``: journal entries' invoice_id and vendor_id;
        ``posted_lines``: the invoice lines of posted invoices (what they invoiced, and their numbers).
        """
        received: dict[tuple[str, int], Decimal] = {}
        for r in receipts:
            key = (r["po_number"], int(r["line_no"]))
            received[key] = received.get(key, 0) + Decimal(str(r["quantity_received"]))
        rows = sorted(
            ((p["po_number"], int(p["line_no"]), p["vendor_id"], p["currency"], p["sku"], p["quantity"], p["unit_price"],
              received.get((p["po_number"], int(p["line_no"])), 0)) for p in po_lines),
            key=lambda r: (r[0], r[1]),
        )
        vendor_rows = [(v["vendor_id"], v["name"], v["tax_id"], v["currency"], v["status"], v.get("iban"))
                       for v in vendors]
        return cls._assemble(vendor_rows, rows, [(e["invoice_id"], e["vendor_id"]) for e in posted], posted_lines)

    @classmethod
    def _assemble(cls, vendor_rows: Iterable[tuple], po_rows: Iterable[tuple], posted: Iterable[tuple[str, str]],
                  posted_lines: Iterable[InvoiceLine]) -> "ErpSnapshot":
        """Build from tuples: vendors ``(vendor_id, name, tax_id, currency, status, iban)``; PO lines
        ``(po_number, line_no, vendor_id, currency, sku, quantity, unit_price, received)`` sorted by PO
        number (the lines of one PO together); posted entries ``(invoice_id, vendor_id)``."""
        by_tax = {}
        for vendor_id, name, tax_id, currency, status, iban in vendor_rows:
            by_tax[normalize_tax_id(tax_id)] = VendorInfo(vendor_id, name, tax_id, currency, status, iban)

        orders: dict[str, PurchaseOrder] = {}
        skus: dict[str, str] = {}
        current: str | None = None
        header: tuple = ()
        lines: list[PoLine] = []
        for number, line_no, vendor_id, currency, sku, quantity, unit_price, received in po_rows:
            if number != current:
                if current is not None:
                    orders[current] = PurchaseOrder(current, header[0], header[1], tuple(lines))
                current, header, lines = number, (vendor_id, currency), []
            sku = skus.setdefault(sku, sku)  # share equal SKU strings
            lines.append(PoLine(int(line_no), sku, to_units(quantity), to_units(unit_price), to_units(received or 0)))
        if current is not None:
            orders[current] = PurchaseOrder(current, header[0], header[1], tuple(lines))

        index: dict[str, str | None] = {}
        for number in orders:
            key = po_key(number)
            index[key] = number if key not in index else None

        vendor_of_invoice = dict(posted)
        snapshot = cls(by_tax, orders, index, frozenset(), frozenset(vendor_of_invoice))
        posted_keys = set()
        for line in posted_lines:
            vendor_id = vendor_of_invoice.get((line.invoice_id or "").strip())
            if vendor_id is None:
                continue
            posted_keys.add((vendor_id, normalize_invoice_number(line.invoice_number)))
            _add_invoiced(snapshot, line)
        return cls(by_tax, orders, index, frozenset(posted_keys), frozenset(vendor_of_invoice))


def _add_invoiced(snapshot: ErpSnapshot, line: InvoiceLine) -> None:
    """Count a posted invoice line against its PO line (best effort: a line that does not read is skipped)."""
    reference = (line.po_reference or "").strip()
    key = normalize_po_reference(reference)
    if key is None and reference:
        # The posting run read this reference with the model; offline we can only re-read it the
        # deterministic way. A miss under-counts what was invoiced (docs/reconciliation.md).
        found = extract_po_reference_offline(reference)
        key = normalize_po_reference(found) if found else None
    if key is None:
        return
    po, _ = snapshot.find_po(key)
    if po is None:
        return
    try:
        line_no = int((line.line_no or "").strip())
        quantity = to_units((line.quantity or "").strip())
    except (ValueError, ArithmeticError, InvalidOperation):
        return
    po_line = po.line_for(line_no, (line.sku or "").strip() or None)
    if po_line is not None:
        po_line.invoiced_units += quantity


# -- reading the ERP ------------------------------------------------------------


def _select_lines():
    from sqlalchemy import select

    from governed_agents.erp.schema import invoice_lines as t

    return select(t.c.invoice_id, t.c.vendor_name, t.c.vendor_tax_id, t.c.invoice_number, t.c.invoice_date,
                  t.c.currency, t.c.po_reference, t.c.line_no, t.c.sku, t.c.description, t.c.quantity,
                  t.c.unit_price, t.c.line_total, t.c.memo, t.c.source_row, t.c.import_batch), t


def iter_invoice_lines(engine, batch_id: str | None = None, *, chunk: int = 20_000) -> Iterator[InvoiceLine]:
    """Stream the invoice lines of import batch ``batch_id`` (every batch when ``None``), in load order."""
    stmt, t = _select_lines()
    if batch_id is not None:
        stmt = stmt.where(t.c.import_batch == batch_id)
    stmt = stmt.order_by(t.c.id)
    make = InvoiceLine._make
    with engine.connect() as conn:
        result = _raw(conn.execution_options(stream_results=True), stmt)
        for row in _stream(result, chunk):
            yield make(row)


def load_invoice_lines(engine, batch_id: str | None = None) -> list[InvoiceLine]:
    """The invoice lines of import batch ``batch_id`` (every batch when ``None``), in load order.

    Values that repeat (vendor, currency, date, SKU, description, quantities,
    and the header of an invoice's lines) share one string object: a batch of
    a million lines then takes about half the memory.
    """
    stmt, t = _select_lines()
    if batch_id is not None:
        stmt = stmt.where(t.c.import_batch == batch_id)
    stmt = stmt.order_by(t.c.id)
    out: list[InvoiceLine] = []
    share = {}.setdefault
    make = InvoiceLine._make
    with engine.connect() as conn, paused_gc():
        result = _raw(conn.execution_options(stream_results=True), stmt)
        while True:
            rows = result.fetchmany(20_000)
            if not rows:
                break
            columns: list = list(zip(*rows))
            for i in _LOW_CARDINALITY:
                columns[i] = map(share, columns[i], columns[i])
            # Per-invoice values repeat only on neighbouring rows: a dict per chunk is enough.
            local = {}.setdefault
            for i in _PER_INVOICE:
                columns[i] = map(local, columns[i], columns[i])
            out.extend(map(make, zip(*columns)))
    return out


# vendor_name, vendor_tax_id, invoice_date, currency, line_no, sku, description, quantity, unit_price, memo, batch
_LOW_CARDINALITY = (1, 2, 4, 5, 7, 8, 9, 10, 11, 13, 15)
# invoice_id, invoice_number, po_reference: repeated on each line of one invoice
_PER_INVOICE = (0, 3, 6)


def load_snapshot(engine) -> ErpSnapshot:
    """Read the vendor master, PO lines with received quantities, and posted invoices from the ERP.

    Receipts are summed by the database; rows come back as plain driver values
    (no ORM types), which keeps a snapshot of a million PO lines to seconds.
    """
    from sqlalchemy import func, select

    from governed_agents.erp.schema import goods_receipts as gr
    from governed_agents.erp.schema import journal_entries as je
    from governed_agents.erp.schema import purchase_order_lines as pol
    from governed_agents.erp.schema import vendors as v

    received = (select(gr.c.po_number, gr.c.line_no, func.sum(gr.c.quantity_received).label("received"))
                .group_by(gr.c.po_number, gr.c.line_no).subquery())
    po_stmt = (select(pol.c.po_number, pol.c.line_no, pol.c.vendor_id, pol.c.currency, pol.c.sku,
                      pol.c.quantity, pol.c.unit_price, received.c.received)
               .outerjoin(received, (received.c.po_number == pol.c.po_number) & (received.c.line_no == pol.c.line_no))
               .order_by(pol.c.po_number, pol.c.line_no))
    vendor_stmt = select(v.c.vendor_id, v.c.name, v.c.tax_id, v.c.currency, v.c.status, v.c.iban)
    with engine.connect() as conn, paused_gc():
        vendor_rows = _raw(conn, vendor_stmt).fetchall()
        posted = [tuple(r) for r in _raw(conn, select(je.c.invoice_id, je.c.vendor_id)).fetchall()]
        posted_lines: list[InvoiceLine] = []
        if posted:
            stmt, t = _select_lines()
            stmt = stmt.join(je, je.c.invoice_id == t.c.invoice_id).order_by(t.c.id)
            # An invoice loaded in several batches counts once: the batch it was first loaded in.
            first_batch: dict[str, str] = {}
            for row in _raw(conn, stmt):
                line = InvoiceLine._make(row)
                if first_batch.setdefault(line.invoice_id, line.import_batch) == line.import_batch:
                    posted_lines.append(line)
        po_result = _raw(conn, po_stmt)
        snapshot = ErpSnapshot._assemble(vendor_rows, _stream(po_result), posted, posted_lines)
    return snapshot


def _raw(conn, stmt):
    """Execute ``stmt`` and return the driver's own values (Decimal on PostgreSQL, float/int on SQLite)."""
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.params
    if conn.dialect.paramstyle in ("qmark", "numeric", "format") and params:
        return conn.exec_driver_sql(str(compiled), tuple(params[k] for k in compiled.positiontup))
    return conn.exec_driver_sql(str(compiled), params or None) if params else conn.exec_driver_sql(str(compiled))


def _stream(result, size: int = 20_000):
    while True:
        rows = result.fetchmany(size)
        if not rows:
            return
        yield from rows
