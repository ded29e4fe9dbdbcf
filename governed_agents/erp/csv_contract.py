"""The public ERP CSV contract and its loader (documented in docs/erp.md).

Five files, each UTF-8 with a header row; columns are found by name, in any
order, extra columns are ignored:

- ``vendors.csv``: the vendor master (upsert by ``vendor_id``);
- ``vendor_contacts.csv``: the vendors' contact people (upsert by ``vendor_id, name``; the vendor
  must be in the master, this import included). Their names are redacted wherever a run stores
  text (``erp.people``); a sole trader's owner listed here is redacted inside the trading name too;
- ``purchase_orders.csv``: one row per PO line (upsert by ``po_number, line_no``);
- ``goods_receipts.csv``: receipts per PO line (replace, per PO line named);
- ``invoices.csv``: one row per invoice line, kept as raw strings in one import batch.

An import is one transaction. A file that cannot be read as this contract — a
missing column, a row with the wrong number of fields, bytes that are not
UTF-8, broken quoting — and, for the master files, a value that does not fit
its column (a master is reference data; a bad one is refused, not guessed) is
refused with a ``CsvRefused`` naming file, line and column, and *nothing* of
the import is written. Invoice rows that parse but break a business rule are
loaded as they are: reconciliation reports them as ``data_quality``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from governed_agents.erp.schema import (
    goods_receipts,
    import_batches,
    invoice_lines,
    purchase_order_lines,
    vendor_contacts,
    vendors,
)
from governed_agents.errors import GovernanceError
from governed_agents.reconcile.currencies import ISO_4217
from governed_agents.timeutil import utcnow

VENDOR_COLUMNS = ("vendor_id", "name", "tax_id", "iban", "currency", "status")
PO_COLUMNS = ("po_number", "vendor_id", "currency", "line_no", "sku", "description", "quantity", "unit_price")
GR_COLUMNS = ("po_number", "line_no", "quantity_received", "received_date")
INVOICE_COLUMNS = (
    "invoice_id", "vendor_name", "vendor_tax_id", "invoice_number", "invoice_date", "currency",
    "po_reference", "line_no", "sku", "description", "quantity", "unit_price", "line_total", "memo",
)
CONTACT_COLUMNS = ("vendor_id", "name", "email", "role")
VENDOR_STATUSES = ("active", "blocked")

#: The contract's files in load order (masters before the invoices that refer to them).
CONTRACT: dict[str, tuple[str, ...]] = {
    "vendors.csv": VENDOR_COLUMNS,
    "vendor_contacts.csv": CONTACT_COLUMNS,
    "purchase_orders.csv": PO_COLUMNS,
    "goods_receipts.csv": GR_COLUMNS,
    "invoices.csv": INVOICE_COLUMNS,
}

PROGRESS_EVERY = 100_000
_CHUNK = 5_000
_HINT = "fix the file and load it again; nothing of this import was written"
# Numeric(18, 4) in the ERP: at most 14 digits before the point and 4 after.
_MAX_INT_DIGITS = 14
_MAX_PLACES = 4

Progress = Callable[[str], None]


class CsvRefused(GovernanceError):
    """A CSV file does not follow the contract; nothing of the import was loaded.

    ``details`` holds ``file``, ``line`` (1 = the header), ``column`` (a name, or
    ``None`` when the problem is not in one column) and ``problem``.
    """

    def __init__(self, file: str, line: int | None, column: str | None, problem: str, *,
                 hint: str | None = _HINT):
        where = file if line is None else f"{file}:{line}"
        if column:
            where += f": column {column!r}"
        super().__init__(f"{where}: {problem}", hint=hint,
                         details={"file": file, "line": line, "column": column, "problem": problem})
        self.file, self.line, self.column, self.problem = file, line, column, problem


class BatchAlreadyLoaded(CsvRefused):
    """The import batch id is taken: the file was loaded before (an inbox re-delivery)."""


@dataclass(slots=True)
class FileReport:
    """What one file contributed to an import."""

    file: str
    kind: str  # the contract file it was read as: vendors.csv, purchase_orders.csv, …
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    replaced: int = 0  # goods receipts: stored receipts of the named PO lines that were replaced
    ignored_columns: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"file": self.file, "kind": self.kind, "rows": self.rows, "inserted": self.inserted, "updated": self.updated,
                "replaced": self.replaced, "ignored_columns": list(self.ignored_columns)}


@dataclass(slots=True)
class LoadReport:
    """The result of one import: which files were loaded, which were absent, and the batch."""

    source: str
    batch_id: str | None
    files: list[FileReport] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> list[str]:
        return [f.file for f in self.files]

    @property
    def invoice_lines(self) -> int:
        return sum(f.rows for f in self.files if f.kind == "invoices.csv")

    def file(self, name: str) -> FileReport | None:
        return next((f for f in self.files if f.file == name), None)

    def to_dict(self) -> dict:
        return {"source": self.source, "batch_id": self.batch_id, "loaded": self.loaded,
                "absent": list(self.absent), "invoice_lines": self.invoice_lines,
                "files": [f.to_dict() for f in self.files]}


# -- reading ------------------------------------------------------------------


class _Lines:
    """The file's lines as the csv reader consumes them, remembering the current record's.

    The csv module reports neither the column of a quoting error nor anything
    about bytes that are not UTF-8 (read with ``surrogateescape``, they arrive
    as lone surrogates), so the raw text of the record is kept until it parses.
    """

    __slots__ = ("_it", "record", "bad_bytes")

    def __init__(self, handle):
        self._it = iter(handle)
        self.record: list[str] = []
        self.bad_bytes = False

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self._it)
        if not line.isascii():
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:
                self.bad_bytes = True
        self.record.append(line)
        return line


def _field_index_at_quote_error(text: str) -> int:
    """The 0-based field in which strict CSV parsing of ``text`` fails."""
    pos, index, n = 0, 0, len(text)
    while pos < n:
        if text[pos] == '"':
            pos += 1
            while True:
                j = text.find('"', pos)
                if j < 0:
                    return index  # the quote never closes
                if text.startswith('"', j + 1):
                    pos = j + 2
                    continue
                pos = j + 1
                break
            if pos < n and text[pos] not in ",\r\n":
                return index
        else:
            j = text.find(",", pos)
            if j < 0:
                return index
            pos = j
        if pos < n and text[pos] == ",":
            index += 1
            pos += 1
            continue
        return index
    return index


def _column_name(header: list[str], index: int) -> str:
    return header[index] if 0 <= index < len(header) else f"#{index + 1} (beyond the header's {len(header)} columns)"


def _rows(path: Path, name: str, columns: tuple[str, ...], report: FileReport,
          progress: Progress | None) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, values in contract order)`` for each data row, refusing what does not parse."""
    try:
        handle = path.open("r", encoding="utf-8", errors="surrogateescape", newline="")
    except OSError as exc:
        raise CsvRefused(name, None, None, f"cannot be read: {exc.strerror or exc}") from None
    with handle:
        lines = _Lines(handle)
        reader = csv.reader(lines, strict=True)
        header: list[str] | None = None
        index: list[int] = []
        width = 0
        while True:
            lines.record.clear()
            lines.bad_bytes = False
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                line = reader.line_num - max(len(lines.record), 1) + 1
                raw = "".join(lines.record)
                column = None
                if header is not None:
                    if "NUL" in str(exc):
                        column = _column_name(header, raw[: raw.find("\x00")].count(","))
                    else:
                        column = _column_name(header, _field_index_at_quote_error(raw))
                raise CsvRefused(name, max(line, 1), column,
                                 f"cannot be parsed as CSV ({exc}); check the quoting of this field") from None
            line = reader.line_num - len(lines.record) + 1
            if lines.bad_bytes:
                for i, value in enumerate(row):
                    try:
                        value.encode("utf-8")
                    except UnicodeEncodeError as exc:
                        bad = value[exc.start].encode("utf-8", "surrogateescape")
                        col = _column_name(header, i) if header is not None else f"#{i + 1} of the header"
                        raise CsvRefused(name, line, col,
                                         f"is not UTF-8 text (byte 0x{bad.hex()} at character {exc.start + 1}); "
                                         "save the file as UTF-8") from None
            if header is None:
                header = [h.strip().lower() for h in row]
                if header and header[0].startswith("\ufeff"):
                    header[0] = header[0][1:].strip()
                if not any(header):
                    raise CsvRefused(name, line, None, f"the header row is empty; expected: {', '.join(columns)}")
                seen: dict[str, int] = {}
                for i, h in enumerate(header):
                    if h in seen and h:
                        raise CsvRefused(name, line, h, f"appears twice in the header (columns {seen[h] + 1} and {i + 1})")
                    seen[h] = i
                missing = [c for c in columns if c not in seen]
                if missing:
                    raise CsvRefused(
                        name, line, missing[0],
                        f"is missing from the header (missing: {', '.join(missing)}; found: {', '.join(header)})",
                        hint=f"the header must name every column of {name}: {', '.join(columns)}",
                    )
                index = [seen[c] for c in columns]
                width = len(header)
                report.ignored_columns = tuple(h for h in header if h not in columns)
                continue
            if not row:
                continue  # a blank line
            if len(row) != width:
                if len(row) < width:
                    column = header[len(row)]
                    problem = f"the row has {len(row)} fields, the header {width}: this column and those after it are missing"
                else:
                    column = _column_name(header, width)
                    problem = f"the row has {len(row)} fields, the header {width}: an unquoted comma in a value?"
                raise CsvRefused(name, line, column, problem)
            report.rows += 1
            if progress is not None and report.rows % PROGRESS_EVERY == 0:
                progress(f"{name}: {report.rows:,} rows read")
            yield line, [row[i] for i in index]
        if header is None:
            raise CsvRefused(name, None, None, f"the file is empty; expected a header row: {', '.join(columns)}")


# -- typed values of the master files -----------------------------------------


def _text(name: str, line: int, column: str, value: str, *, max_len: int, required: bool = True) -> str | None:
    value = value.strip()
    if not value:
        if required:
            raise CsvRefused(name, line, column, "is empty; a value is required")
        return None
    if len(value) > max_len:
        raise CsvRefused(name, line, column, f"is {len(value)} characters long; at most {max_len} are allowed")
    return value


def _decimal(name: str, line: int, column: str, value: str, *, minimum: Decimal | None = None) -> Decimal:
    text = value.strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise CsvRefused(name, line, column, f"{value!r} is not a number (use a point: 1234.50)") from None
    if not number.is_finite():
        raise CsvRefused(name, line, column, f"{value!r} is not a finite number")
    sign, digits, exponent = number.as_tuple()
    places = -exponent if exponent < 0 else 0
    if places > _MAX_PLACES or len(digits) - places > _MAX_INT_DIGITS:
        raise CsvRefused(name, line, column,
                         f"{value!r} does not fit: at most {_MAX_INT_DIGITS} digits before the point and {_MAX_PLACES} after")
    if minimum is not None and number < minimum:
        raise CsvRefused(name, line, column, f"{value!r} must be at least {minimum}")
    return number


def _line_no(name: str, line: int, value: str) -> int:
    text = value.strip()
    if not text.isdigit() or len(text) > 9 or int(text) < 1:
        raise CsvRefused(name, line, "line_no", f"{value!r} is not a line number (a whole number from 1)")
    return int(text)


def _currency(name: str, line: int, value: str) -> str:
    code = value.strip().upper()
    if code not in ISO_4217:
        raise CsvRefused(name, line, "currency", f"{value!r} is not an ISO 4217 currency code (EUR, USD, GBP…)")
    return code


def _date(name: str, line: int, column: str, value: str) -> str:
    text = value.strip()
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise CsvRefused(name, line, column, f"{value!r} is not a date in the form YYYY-MM-DD") from None


# -- writing ------------------------------------------------------------------


def _existing(conn: Connection, table, key_columns: tuple[str, ...], keys: list[tuple]) -> set[tuple]:
    """Which of ``keys`` are stored. Looks up by the first key column (indexed) and filters here:
    SQLite does not use an index for row-value ``IN`` lists."""
    cols = [table.c[k] for k in key_columns]
    wanted = set(keys)
    firsts = sorted({k[0] for k in keys})
    found: set[tuple] = set()
    for start in range(0, len(firsts), 1000):
        part = firsts[start:start + 1000]
        for row in conn.execute(select(*cols).where(cols[0].in_(part))):
            key = tuple(row)
            if key in wanted:
                found.add(key)
    return found


def _upsert(conn: Connection, table, key_columns: tuple[str, ...], rows: list[dict], report: FileReport) -> None:
    if not rows:
        return
    keys = [tuple(r[k] for k in key_columns) for r in rows]
    existing = _existing(conn, table, key_columns, keys)
    report.updated += sum(1 for k in keys if k in existing)
    report.inserted += len(rows) - sum(1 for k in keys if k in existing)
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        stmt = dialect_insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key_columns),
            set_={c.name: stmt.excluded[c.name] for c in table.c if c.name not in key_columns},
        )
        conn.execute(stmt, rows)
        return
    # Any other database: update what exists, insert the rest.
    cols = [table.c[k] for k in key_columns]
    for row, key in zip(rows, keys):
        if key in existing:
            where = [c == v for c, v in zip(cols, key)]
            conn.execute(table.update().where(*where).values(**row))
        else:
            conn.execute(insert(table), [row])


def _load_vendors(conn: Connection, path: Path, name: str, report: FileReport, progress: Progress | None) -> None:
    seen_ids: dict[str, int] = {}
    seen_tax: dict[str, int] = {}
    chunk: list[dict] = []
    lines_of: dict[str, int] = {}

    def flush() -> None:
        # A tax id already held by another vendor would break the master's uniqueness.
        by_tax = {r["tax_id"]: r for r in chunk}
        taxes = list(by_tax)
        for start in range(0, len(taxes), 1000):
            part = taxes[start:start + 1000]
            for vendor_id, tax_id in conn.execute(
                select(vendors.c.vendor_id, vendors.c.tax_id).where(vendors.c.tax_id.in_(part))
            ):
                row = by_tax[tax_id]
                if row["vendor_id"] != vendor_id:
                    raise CsvRefused(name, lines_of[row["vendor_id"]], "tax_id",
                                     f"{tax_id!r} already belongs to vendor {vendor_id} in the vendor master")
        _upsert(conn, vendors, ("vendor_id",), chunk, report)
        chunk.clear()

    for line, (vendor_id, vname, tax_id, iban, currency, status) in _rows(path, name, VENDOR_COLUMNS, report, progress):
        row = {
            "vendor_id": _text(name, line, "vendor_id", vendor_id, max_len=32),
            "name": _text(name, line, "name", vname, max_len=200),
            "tax_id": _text(name, line, "tax_id", tax_id, max_len=64),
            "iban": _text(name, line, "iban", iban, max_len=64, required=False),
            "currency": _currency(name, line, currency),
            "status": status.strip().lower(),
        }
        if row["status"] not in VENDOR_STATUSES:
            raise CsvRefused(name, line, "status", f"{status!r} is not a vendor status (active or blocked)")
        for key, seen, column in ((row["vendor_id"], seen_ids, "vendor_id"), (row["tax_id"], seen_tax, "tax_id")):
            if key in seen:
                raise CsvRefused(name, line, column, f"{key!r} appears twice in the file (first on line {seen[key]})")
            seen[key] = line
        lines_of[row["vendor_id"]] = line
        chunk.append(row)
        if len(chunk) >= _CHUNK:
            flush()
    flush()


def _load_vendor_contacts(conn: Connection, path: Path, name: str, report: FileReport,
                          progress: Progress | None) -> None:
    seen: dict[tuple[str, str], int] = {}
    rows: list[tuple[int, dict]] = []
    for line, (vendor_id, person, email, role) in _rows(path, name, CONTACT_COLUMNS, report, progress):
        row = {
            "vendor_id": _text(name, line, "vendor_id", vendor_id, max_len=32),
            "name": " ".join(_text(name, line, "name", person, max_len=200).split()),
            "email": _text(name, line, "email", email, max_len=320, required=False),
            "role": _text(name, line, "role", role, max_len=100, required=False),
        }
        if row["email"] is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", row["email"]):
            raise CsvRefused(name, line, "email", f"{row['email']!r} is not an e-mail address")
        key = (row["vendor_id"], row["name"])
        if key in seen:
            raise CsvRefused(name, line, "name", f"{row['name']!r} of vendor {row['vendor_id']!r} appears twice "
                                                 f"in the file (first on line {seen[key]})")
        seen[key] = line
        rows.append((line, row))
    ids = sorted({r["vendor_id"] for _, r in rows})
    known: set[str] = set()
    for start in range(0, len(ids), 1000):
        part = ids[start:start + 1000]
        known |= {v for (v,) in conn.execute(select(vendors.c.vendor_id).where(vendors.c.vendor_id.in_(part)))}
    for line, row in rows:
        if row["vendor_id"] not in known:
            raise CsvRefused(name, line, "vendor_id", f"{row['vendor_id']!r} is not in the vendor master; "
                             "load the vendor in vendors.csv first (the same import may hold both)")
    for start in range(0, len(rows), _CHUNK):
        _upsert(conn, vendor_contacts, ("vendor_id", "name"), [r for _, r in rows[start:start + _CHUNK]], report)


def _load_purchase_orders(conn: Connection, path: Path, name: str, report: FileReport,
                          progress: Progress | None) -> None:
    seen: set[str] = set()
    header_of: dict[str, tuple[str, str, int]] = {}
    chunk: list[dict] = []
    for line, (po, vendor_id, currency, line_no, sku, description, quantity, unit_price) in _rows(
        path, name, PO_COLUMNS, report, progress
    ):
        row = {
            "po_number": _text(name, line, "po_number", po, max_len=32),
            "line_no": _line_no(name, line, line_no),
            "vendor_id": _text(name, line, "vendor_id", vendor_id, max_len=32),
            "currency": _currency(name, line, currency),
            "sku": _text(name, line, "sku", sku, max_len=64),
            "description": description.strip() or None,
            "quantity": _decimal(name, line, "quantity", quantity, minimum=Decimal(0)),
            "unit_price": _decimal(name, line, "unit_price", unit_price, minimum=Decimal(0)),
        }
        key = f"{row['po_number']}\x00{row['line_no']}"
        if key in seen:
            raise CsvRefused(name, line, "line_no",
                             f"PO {row['po_number']} line {row['line_no']} appears twice in the file")
        seen.add(key)
        first = header_of.setdefault(row["po_number"], (row["vendor_id"], row["currency"], line))
        for column, value, expected in (("vendor_id", row["vendor_id"], first[0]), ("currency", row["currency"], first[1])):
            if value != expected:
                raise CsvRefused(name, line, column,
                                 f"PO {row['po_number']} has {column} {value!r} here but {expected!r} on line {first[2]}; "
                                 "all lines of one PO must agree")
        chunk.append(row)
        if len(chunk) >= _CHUNK:
            _upsert(conn, purchase_order_lines, ("po_number", "line_no"), chunk, report)
            chunk.clear()
    _upsert(conn, purchase_order_lines, ("po_number", "line_no"), chunk, report)


def _load_goods_receipts(conn: Connection, path: Path, name: str, report: FileReport,
                         progress: Progress | None) -> None:
    # The file is the complete receipt history of every PO line it names: stored
    # receipts of those lines are replaced, so loading a file twice changes nothing.
    # Only rows that existed before this import are deleted (id <= before).
    before = conn.execute(select(func.max(goods_receipts.c.id))).scalar() or 0
    chunk: list[dict] = []

    def flush() -> None:
        if not chunk:
            return
        if before:
            # Stored receipts of the PO lines this chunk names: looked up by PO number (indexed).
            pairs = {(r["po_number"], r["line_no"]) for r in chunk}
            numbers = sorted({p for p, _ in pairs})
            doomed = []
            for start in range(0, len(numbers), 1000):
                for rid, po, line_no in conn.execute(
                    select(goods_receipts.c.id, goods_receipts.c.po_number, goods_receipts.c.line_no).where(
                        goods_receipts.c.po_number.in_(numbers[start:start + 1000]), goods_receipts.c.id <= before)
                ):
                    if (po, line_no) in pairs:
                        doomed.append(rid)
            for start in range(0, len(doomed), 1000):
                conn.execute(goods_receipts.delete().where(goods_receipts.c.id.in_(doomed[start:start + 1000])))
            report.replaced += len(doomed)
        conn.execute(insert(goods_receipts), chunk)
        report.inserted += len(chunk)
        chunk.clear()

    for line, (po, line_no, quantity, received) in _rows(path, name, GR_COLUMNS, report, progress):
        chunk.append({
            "po_number": _text(name, line, "po_number", po, max_len=32),
            "line_no": _line_no(name, line, line_no),
            "quantity_received": _decimal(name, line, "quantity_received", quantity),
            "received_date": _date(name, line, "received_date", received),
        })
        if len(chunk) >= _CHUNK:
            flush()
    flush()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _load_invoices(conn: Connection, path: Path, name: str, batch_id: str, report: FileReport,
                   progress: Progress | None) -> None:
    chunk: list[dict] = []
    columns = ("source_row",) + INVOICE_COLUMNS
    for line, values in _rows(path, name, INVOICE_COLUMNS, report, progress):
        row = dict(zip(columns, [line, *values]))
        row["import_batch"] = batch_id
        chunk.append(row)
        if len(chunk) >= _CHUNK:
            conn.execute(insert(invoice_lines), chunk)
            chunk.clear()
    if chunk:
        conn.execute(insert(invoice_lines), chunk)
    report.inserted = report.rows


def new_batch_id() -> str:
    """A fresh import batch id: ``b-YYYYmmddTHHMMSSZ-<8 hex>``."""
    return f"b-{utcnow():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def _check_batch_id(conn: Connection, batch_id: str, source: str) -> None:
    if not isinstance(batch_id, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", batch_id):
        raise CsvRefused(source, None, None,
                         f"{batch_id!r} is not a batch id (1-64 letters, digits, '.', '_', ':' or '-')")
    if conn.execute(select(import_batches.c.batch_id).where(import_batches.c.batch_id == batch_id)).first():
        raise BatchAlreadyLoaded(source, None, None, f"import batch {batch_id!r} was already loaded; nothing was loaded again",
                                 hint="each batch id is loaded once; pass a new batch id to load the file anyway")


def _run_import(engine: Engine, source: str, files: list[tuple[str, Path]], batch_id: str | None,
                progress: Progress | None) -> LoadReport:
    report = LoadReport(source=source, batch_id=None)
    loaders = {
        "vendors.csv": _load_vendors,
        "vendor_contacts.csv": _load_vendor_contacts,
        "purchase_orders.csv": _load_purchase_orders,
        "goods_receipts.csv": _load_goods_receipts,
    }
    try:
        with engine.begin() as conn:
            for kind, path in files:
                file_report = FileReport(file=path.name, kind=kind)
                if kind == "invoices.csv":
                    batch_id = batch_id or new_batch_id()
                    _check_batch_id(conn, batch_id, path.name)
                    report.batch_id = batch_id
                    _load_invoices(conn, path, path.name, batch_id, file_report, progress)
                    conn.execute(insert(import_batches).values(
                        batch_id=batch_id, source=str(path), loaded_at=utcnow(),
                        invoice_lines=file_report.rows, sha256=_sha256(path),
                        files=json.dumps({f.file: f.rows for f in report.files + [file_report]}, sort_keys=True),
                    ))
                else:
                    loaders[kind](conn, path, path.name, file_report, progress)
                report.files.append(file_report)
    except IntegrityError as exc:
        # The checks above should catch every conflict first; this is the last line.
        name = report.files[-1].file if report.files else source
        raise CsvRefused(source, None, None,
                         f"the ERP refused the import ({type(exc.orig).__name__}: {str(exc.orig).splitlines()[0]}); "
                         f"last file read: {name}") from None
    return report


def load_csv_dir(directory: str | Path, engine: Engine, *, batch_id: str | None = None,
                 progress: Progress | None = None) -> LoadReport:
    """Load whichever contract files ``directory`` holds, in one transaction.

    Returns a ``LoadReport`` naming the files loaded and those absent. Raises
    ``CsvRefused`` (nothing loaded) when no contract file is there or any file
    breaks the contract. ``progress`` is called every 100,000 rows.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise CsvRefused(str(folder), None, None, "is not a directory",
                         hint=f"pass a folder holding some of: {', '.join(CONTRACT)}")
    present = [(name, folder / name) for name in CONTRACT if (folder / name).is_file()]
    if not present:
        raise CsvRefused(str(folder), None, None, f"holds none of the contract files ({', '.join(CONTRACT)})",
                         hint="file names are exact and lower case")
    report = _run_import(engine, str(folder), present, batch_id, progress)
    report.absent = [name for name in CONTRACT if not (folder / name).is_file()]
    return report


def load_invoices_csv(path: str | Path, engine: Engine, batch_id: str | None = None, *,
                      progress: Progress | None = None) -> LoadReport:
    """Load one invoices file (any name, e.g. dropped into an inbox) as import batch ``batch_id``.

    The file follows the ``invoices.csv`` contract. A ``batch_id`` already
    loaded is refused (``BatchAlreadyLoaded``), so a re-delivered file keyed
    by a stable id loads once.
    """
    file = Path(path)
    if not file.is_file():
        raise CsvRefused(str(file), None, None, "no such file")
    return _run_import(engine, str(file), [("invoices.csv", file)], batch_id, progress)
