"""Tables of the demo ERP (the CSV contract in docs/erp.md maps onto these)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, Numeric, String, Table, Text, UniqueConstraint

metadata = MetaData()

vendors = Table(
    "vendors",
    metadata,
    Column("vendor_id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("tax_id", String(64), nullable=False, unique=True),
    Column("iban", String(64), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),  # active | blocked
)

purchase_order_lines = Table(
    "purchase_order_lines",
    metadata,
    Column("po_number", String(32), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("vendor_id", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("description", Text, nullable=True),
    Column("quantity", Numeric(18, 4), nullable=False),
    Column("unit_price", Numeric(18, 4), nullable=False),
)

goods_receipts = Table(
    "goods_receipts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("po_number", String(32), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("quantity_received", Numeric(18, 4), nullable=False),
    Column("received_date", String(10), nullable=False),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("entry_id", String(36), primary_key=True),
    # The ERP enforces the idempotency key too: a write retried after a crash
    # between the ERP commit and the ledger commit finds its own entry.
    Column("idempotency_key", String(200), nullable=False),
    Column("invoice_id", String(64), nullable=False),
    Column("vendor_id", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", Numeric(18, 2), nullable=False),
    Column("debit_account", String(64), nullable=False),
    Column("credit_account", String(64), nullable=False),
    Column("memo", Text, nullable=True),
    Column("posted_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("idempotency_key", name="uq_journal_entries_idempotency_key"),
)

# -- invoice imports (docs/erp.md) --------------------------------------------
#
# Invoice lines are kept exactly as the CSV gave them (raw strings): a line that
# breaks a business rule is still loaded, and reconciliation reports it as a
# ``data_quality`` exception naming the field and value. Text columns, not
# String(n): an over-long value must reach reconciliation, not fail the load
# on PostgreSQL.

import_batches = Table(
    "import_batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("source", Text, nullable=False),  # the directory or file loaded
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("invoice_lines", Integer, nullable=False),
    Column("files", Text, nullable=False),  # JSON: {file name: rows loaded}
    Column("sha256", String(64), nullable=True),  # of invoices.csv, when one was loaded
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_batch", String(64), nullable=False, index=True),
    Column("source_row", Integer, nullable=False),  # line number in the file (header = 1)
    Column("invoice_id", Text, nullable=True, index=True),
    Column("vendor_name", Text, nullable=True),
    Column("vendor_tax_id", Text, nullable=True),
    Column("invoice_number", Text, nullable=True),
    Column("invoice_date", Text, nullable=True),
    Column("currency", Text, nullable=True),
    Column("po_reference", Text, nullable=True),
    Column("line_no", Text, nullable=True),
    Column("sku", Text, nullable=True),
    Column("description", Text, nullable=True),
    Column("quantity", Text, nullable=True),
    Column("unit_price", Text, nullable=True),
    Column("line_total", Text, nullable=True),
    Column("memo", Text, nullable=True),
)

# Reconciliation and the goods-receipts import look receipts up by PO line.
# (An index only: existing ERP databases work without it, created on new ones.)
Index("ix_goods_receipts_po_line", goods_receipts.c.po_number, goods_receipts.c.line_no)

# -- vendor master: bank-account changes (vendor_bank_change, docs/workflows.md) ---------
#
# New tables only (existing ERP databases gain them on the next create_all); the
# vendors table keeps the current IBAN.

vendor_profiles = Table(
    "vendor_profiles",
    metadata,
    Column("vendor_id", String(32), primary_key=True),
    Column("country", String(2), nullable=False),  # ISO 3166 alpha-2 of the vendor's seat
    Column("email_domain", String(200), nullable=False),  # verified domain for bank-detail mail
    Column("iban_changed_at", DateTime(timezone=True), nullable=True),
)

# The vendor's contact persons (people, not companies): personal data. The ERP keeps them as
# they are; every store of the control plane redacts these names wherever a text quotes them
# (governed_agents.erp.people). A new table, so existing ERP databases gain it on create_all.
vendor_contacts = Table(
    "vendor_contacts",
    metadata,
    Column("vendor_id", String(32), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("email", String(320), nullable=True),
    Column("role", String(100), nullable=True),  # e.g. "accounts receivable"
)

# Requests as they arrive (by mail, a portal): data to check, never an instruction.
bank_change_requests = Table(
    "bank_change_requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("vendor_id", String(32), nullable=False, index=True),
    Column("new_iban", String(64), nullable=False),
    Column("sender_email", String(320), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# Every applied change with the account it replaced (undo restores old_iban).
bank_account_changes = Table(
    "bank_account_changes",
    metadata,
    Column("change_id", String(36), primary_key=True),
    Column("idempotency_key", String(200), nullable=False),
    Column("vendor_id", String(32), nullable=False, index=True),
    Column("old_iban", String(64), nullable=True),
    Column("new_iban", String(64), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("idempotency_key", name="uq_bank_account_changes_idempotency_key"),
)

# -- expenses: card transactions, receipts, reminders (expense_receipt_chase) -------------

employees = Table(
    "employees",
    metadata,
    Column("employee_id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("manager_id", String(32), nullable=True),
)

card_transactions = Table(
    "card_transactions",
    metadata,
    Column("txn_id", String(36), primary_key=True),
    Column("employee_id", String(32), nullable=False, index=True),
    Column("merchant", String(200), nullable=False),
    Column("amount", Numeric(18, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("txn_date", String(10), nullable=False),  # YYYY-MM-DD
)

expense_receipts = Table(
    "expense_receipts",
    metadata,
    Column("txn_id", String(36), primary_key=True),
    Column("file_name", String(200), nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
)

# The demo outbox: a reminder is "sent" when it is a row here.
outbox = Table(
    "outbox",
    metadata,
    Column("message_id", String(36), primary_key=True),
    Column("idempotency_key", String(200), nullable=False),
    Column("employee_id", String(32), nullable=False, index=True),
    Column("txn_id", String(36), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
)
