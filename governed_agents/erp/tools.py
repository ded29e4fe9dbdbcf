"""The ERP's governed tools and the previews of its writes.

``erp_toolset(engine)`` returns a fresh gate ``ToolRegistry`` holding the ERP
tools bound to one ERP database (a posted entry is undone by a reversing entry:
``erp.create_journal_entry`` names ``erp.reverse_journal_entry`` as its
compensation), and the preview builders the executor uses to
show approvers (and re-check before writing) what a write will change. A
preview builder takes a list of inputs and returns their previews in order, so
a batch of proposals reads the ERP once per chunk rather than once per entry.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from governed_agents.erp.schema import journal_entries, purchase_order_lines, vendors
from governed_agents.faults import crash_point, fault_point
from governed_agents.timeutil import as_utc, utcnow

GRIR_CLEARING = "2110 GR/IR clearing"
ACCOUNTS_PAYABLE = "2000 Accounts payable"

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LookupVendorInput(_Strict):
    tax_id: Identifier


class VendorRecord(_Strict):
    found: bool
    vendor_id: str | None = None
    name: str | None = None
    currency: str | None = None
    status: str | None = None


class MatchPoInput(_Strict):
    po_number: Identifier


class PoLine(_Strict):
    line_no: int
    sku: str
    quantity: Decimal
    unit_price: Decimal


class MatchPoOutput(_Strict):
    found: bool
    po_number: str
    vendor_id: str | None = None
    currency: str | None = None
    lines: list[PoLine] = Field(default_factory=list)


class CreateJournalEntryInput(_Strict):
    invoice_id: Identifier
    vendor_id: Identifier
    currency: Currency
    amount: Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)]
    memo: Annotated[str, StringConstraints(max_length=500)] = ""


class JournalEntryPosted(_Strict):
    entry_id: str
    idempotency_key: str
    invoice_id: str
    amount: Decimal
    currency: str
    debit_account: str
    credit_account: str


def journal_entry_key(entry: CreateJournalEntryInput) -> str:
    return f"erp.create_journal_entry:{entry.vendor_id}:{entry.invoice_id}"


class ReverseJournalEntryInput(_Strict):
    entry_id: Identifier
    reason: Annotated[str, StringConstraints(max_length=200)] = ""


def reversal_key(args: ReverseJournalEntryInput) -> str:
    # One reversal per entry, whoever asks and why.
    return f"erp.reverse_journal_entry:{args.entry_id}"


def _compensate_journal_entry(receipt):
    """The reversing entry of a posted entry (its receipt's state_after is the posted entry)."""
    from governed_agents.gate import Compensation

    after = receipt.state_after or {}
    entry_id = after.get("entry_id")
    if not entry_id:
        raise ValueError(f"receipt {receipt.receipt_id} names no posted entry_id")
    return Compensation(
        tool="erp.reverse_journal_entry",
        arguments={"entry_id": entry_id, "reason": f"undo of receipt {receipt.receipt_id}"},
        summary=f"reverse journal entry {entry_id} ({after.get('amount')} {after.get('currency')}, "
                f"invoice {after.get('invoice_id')})",
    )


def erp_toolset(engine: Engine):
    """A registry with the ERP tools bound to ``engine``, and their preview builders."""
    from governed_agents.gate import ToolRegistry

    registry = ToolRegistry()

    @registry.tool(
        name="erp.lookup_vendor",
        description="Find a vendor in the vendor master by tax id.",
        input=LookupVendorInput,
        output=VendorRecord,
        side_effect="read",
        reversible=True,
    )
    def lookup_vendor(args: LookupVendorInput) -> dict:
        with engine.connect() as c:
            row = c.execute(select(vendors).where(vendors.c.tax_id == args.tax_id)).first()
        if row is None:
            return {"found": False}
        m = row._mapping
        return {"found": True, "vendor_id": m["vendor_id"], "name": m["name"],
                "currency": m["currency"], "status": m["status"]}

    @registry.tool(
        name="erp.match_po",
        description="Read a purchase order's lines.",
        input=MatchPoInput,
        output=MatchPoOutput,
        side_effect="read",
        reversible=True,
    )
    def match_po(args: MatchPoInput) -> dict:
        with engine.connect() as c:
            rows = c.execute(
                select(purchase_order_lines)
                .where(purchase_order_lines.c.po_number == args.po_number)
                .order_by(purchase_order_lines.c.line_no)
            ).fetchall()
        if not rows:
            return {"found": False, "po_number": args.po_number}
        first = rows[0]._mapping
        return {
            "found": True,
            "po_number": args.po_number,
            "vendor_id": first["vendor_id"],
            "currency": first["currency"],
            "lines": [
                {"line_no": r._mapping["line_no"], "sku": r._mapping["sku"],
                 "quantity": r._mapping["quantity"], "unit_price": r._mapping["unit_price"]}
                for r in rows
            ],
        }

    @registry.tool(
        name="erp.create_journal_entry",
        description="Post an accounts-payable journal entry: debit GR/IR clearing, credit AP.",
        input=CreateJournalEntryInput,
        output=JournalEntryPosted,
        side_effect="write",
        reversible=True,
        idempotency_key=journal_entry_key,
        compensate=_compensate_journal_entry,
        compensation_tool="erp.reverse_journal_entry",
    )
    def create_journal_entry(args: CreateJournalEntryInput) -> dict:
        key = journal_entry_key(args)
        row = {
            "entry_id": str(uuid.uuid4()),
            "idempotency_key": key,
            "invoice_id": args.invoice_id,
            "vendor_id": args.vendor_id,
            "currency": args.currency,
            "amount": args.amount,
            "debit_account": GRIR_CLEARING,
            "credit_account": ACCOUNTS_PAYABLE,
            "memo": args.memo,
            "posted_at": utcnow(),
        }
        fault_point("erp_write")
        return _post_once(engine, row, before_commit=lambda: crash_point("in_erp_write"))

    @registry.tool(
        name="erp.reverse_journal_entry",
        description="Post the reversing entry of a posted journal entry: debit AP, credit GR/IR clearing.",
        input=ReverseJournalEntryInput,
        output=JournalEntryPosted,
        side_effect="write",
        reversible=False,  # a reversal is corrected by posting the entry again, not by undo
        idempotency_key=reversal_key,
    )
    def reverse_journal_entry(args: ReverseJournalEntryInput) -> dict:
        original = _entry_by_id(engine, args.entry_id)
        if original is None:
            raise ValueError(f"journal entry {args.entry_id} does not exist: nothing to reverse")
        key = reversal_key(args)
        row = {
            "entry_id": str(uuid.uuid4()),
            "idempotency_key": key,
            "invoice_id": original["invoice_id"],
            "vendor_id": original["vendor_id"],
            "currency": original["currency"],
            "amount": original["amount"],
            "debit_account": original["credit_account"],
            "credit_account": original["debit_account"],
            "memo": f"reversal of entry {args.entry_id}" + (f": {args.reason}" if args.reason else ""),
            "posted_at": utcnow(),
        }
        return _post_once(engine, row)

    def preview_journal_entries(entries: list[CreateJournalEntryInput]) -> list[dict]:
        """Previews of many entries with one read of the ERP per chunk of keys."""
        existing = _entries_by_keys(engine, [journal_entry_key(a) for a in entries])
        return [_journal_entry_preview(a, existing.get(journal_entry_key(a))) for a in entries]

    def preview_reversals(reversals: list[ReverseJournalEntryInput]) -> list[dict]:
        done = _entries_by_keys(engine, [reversal_key(a) for a in reversals])
        return [_reversal_preview(a, _entry_by_id(engine, a.entry_id), done.get(reversal_key(a)))
                for a in reversals]

    previews = {"erp.create_journal_entry": preview_journal_entries,
                "erp.reverse_journal_entry": preview_reversals}
    return registry, previews


def _journal_entry_preview(args: CreateJournalEntryInput, before: dict | None) -> dict:
    after = {
        "invoice_id": args.invoice_id,
        "vendor_id": args.vendor_id,
        "currency": args.currency,
        "amount": str(args.amount),
        "debit_account": GRIR_CLEARING,
        "credit_account": ACCOUNTS_PAYABLE,
        "memo": args.memo,
    }
    if before is not None:
        before = {k: str(v) if isinstance(v, Decimal) else v for k, v in before.items() if k in after}
    amount = f"{args.amount:,.2f} {args.currency}"
    return {
        "before": before,
        "after": after,
        "changes": [
            f"debit {GRIR_CLEARING} {amount}",
            f"credit {ACCOUNTS_PAYABLE} {amount} (vendor {args.vendor_id}, invoice {args.invoice_id})",
        ] if before is None else ["no change: this entry is already posted"],
    }


def _reversal_preview(args: ReverseJournalEntryInput, original: dict | None, done: dict | None) -> dict:
    if original is None:
        return {"before": None, "after": None,
                "changes": [f"nothing to reverse: journal entry {args.entry_id} does not exist"]}
    amount = f"{original['amount']:,.2f} {original['currency']}"
    before = {"entry_id": original["entry_id"], "invoice_id": original["invoice_id"],
              "vendor_id": original["vendor_id"], "amount": str(original["amount"]),
              "currency": original["currency"], "debit_account": original["debit_account"],
              "credit_account": original["credit_account"]}
    after = {**before, "entry_id": None, "reverses_entry_id": original["entry_id"],
             "debit_account": original["credit_account"], "credit_account": original["debit_account"]}
    if done is not None:
        return {"before": before, "after": after,
                "changes": [f"no change: entry {args.entry_id} is already reversed by {done['entry_id']}"]}
    return {
        "before": before,
        "after": after,
        "changes": [
            f"debit {original['credit_account']} {amount}",
            f"credit {original['debit_account']} {amount} (reverses entry {args.entry_id}, "
            f"invoice {original['invoice_id']})",
        ],
    }


def _entry_by_id(engine: Engine, entry_id: str) -> dict | None:
    with engine.connect() as c:
        row = c.execute(select(journal_entries).where(journal_entries.c.entry_id == entry_id)).first()
    return dict(row._mapping) if row is not None else None


def _entries_by_keys(engine: Engine, keys: list[str], chunk: int = 500) -> dict[str, dict]:
    found: dict[str, dict] = {}
    unique = list(dict.fromkeys(keys))
    with engine.connect() as c:
        for i in range(0, len(unique), chunk):
            rows = c.execute(select(journal_entries).where(
                journal_entries.c.idempotency_key.in_(unique[i:i + chunk])))
            for row in rows:
                m = dict(row._mapping)
                m["posted_at"] = as_utc(m["posted_at"])
                found[m["idempotency_key"]] = m
    return found


def _post_once(engine: Engine, row: dict, *, before_commit=lambda: None) -> dict:
    """Insert a journal entry once per idempotency key: a second insert under the same
    key (a retry after a lost answer) returns the entry the first one wrote."""
    try:
        with engine.begin() as c:
            c.execute(journal_entries.insert().values(**row))
            before_commit()
    except IntegrityError:
        existing = _entry_by_key(engine, row["idempotency_key"])
        if existing is None:
            raise
        row = existing
    return {k: row[k] for k in JournalEntryPosted.model_fields}


def _entry_by_key(engine: Engine, key: str) -> dict | None:
    return _entries_by_keys(engine, [key]).get(key)
