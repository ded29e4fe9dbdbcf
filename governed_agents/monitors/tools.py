"""The read tools monitors call, registered like any agent's tools and run through the gate.

Every tool here is ``side_effect="read"``; ``monitor_toolset`` checks that before
returning, so a monitor's registry cannot hold a write even by mistake.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from governed_agents.errors import GovernanceError

_CHUNK = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PostedEntriesInput(_Strict):
    posted_since: dt.datetime | None = Field(default=None, description="only entries posted at or after this")


class PostedEntry(_Strict):
    entry_id: str
    vendor_id: str
    invoice_id: str
    invoice_number: str | None
    currency: str
    amount: Decimal
    posted_at: dt.datetime


class PostedEntries(_Strict):
    entries: list[PostedEntry]


class InvoiceHeader(_Strict):
    invoice_id: str
    vendor_tax_id: str | None
    invoice_number: str | None
    currency: str | None
    total: Decimal | None  # None when a line total is missing or not a number


class InvoiceHeaders(_Strict):
    invoices: list[InvoiceHeader]


class NoInput(_Strict):
    pass


class PendingApproval(_Strict):
    id: str
    workflow: str
    action: str
    created_at: dt.datetime
    expires_at: dt.datetime


class PendingApprovals(_Strict):
    requests: list[PendingApproval]


class CostWindowInput(_Strict):
    since: dt.datetime
    until: dt.datetime


class WorkflowCost(_Strict):
    workflow: str
    cost_usd: Decimal
    completed_tasks: int


class CostWindow(_Strict):
    workflows: list[WorkflowCost]


class ChainStatus(_Strict):
    ok: bool
    events_checked: int
    head_seq: int
    first_bad_seq: int | None
    problem: str | None


def monitor_toolset(ledger, erp_engine):
    """A registry of the monitors' read tools bound to ``ledger`` and ``erp_engine``."""
    from governed_agents.gate import ToolRegistry
    from governed_agents.timeutil import as_utc

    registry = ToolRegistry()

    @registry.tool(name="erp.list_posted_entries", input=PostedEntriesInput, output=PostedEntries,
                   side_effect="read", reversible=True, data_classes=("financial",),
                   description="Posted journal entries with the invoice number of the invoice each pays.")
    def list_posted_entries(args: PostedEntriesInput) -> dict:
        from governed_agents.erp.schema import invoice_lines, journal_entries

        stmt = select(journal_entries).order_by(journal_entries.c.posted_at)
        if args.posted_since is not None:
            stmt = stmt.where(journal_entries.c.posted_at >= args.posted_since)
        with erp_engine.connect() as c:
            rows = [dict(r._mapping) for r in c.execute(stmt)]
            ids = sorted({r["invoice_id"] for r in rows})
            numbers: dict[str, str] = {}
            for i in range(0, len(ids), _CHUNK):
                found = c.execute(select(invoice_lines.c.invoice_id, invoice_lines.c.invoice_number)
                                  .where(invoice_lines.c.invoice_id.in_(ids[i:i + _CHUNK]))
                                  .distinct())
                for invoice_id, number in found:
                    if number:
                        numbers.setdefault(invoice_id, number)
        return {"entries": [{"entry_id": r["entry_id"], "vendor_id": r["vendor_id"], "invoice_id": r["invoice_id"],
                             "invoice_number": numbers.get(r["invoice_id"]), "currency": r["currency"],
                             "amount": r["amount"], "posted_at": as_utc(r["posted_at"])} for r in rows]}

    @registry.tool(name="erp.list_invoices", input=NoInput, output=InvoiceHeaders,
                   side_effect="read", reversible=True, data_classes=("financial",),
                   description="Loaded invoices (one header per invoice id: vendor tax id, number, total).")
    def list_invoices(args: NoInput) -> dict:
        from governed_agents.erp.schema import invoice_lines as t

        headers: dict[str, dict] = {}
        with erp_engine.connect() as c:
            rows = c.execute(select(t.c.invoice_id, t.c.vendor_tax_id, t.c.invoice_number, t.c.currency,
                                    t.c.line_total).where(t.c.invoice_id.is_not(None)))
            for invoice_id, tax_id, number, currency, line_total in rows:
                h = headers.setdefault(invoice_id, {"invoice_id": invoice_id, "vendor_tax_id": tax_id,
                                                    "invoice_number": number, "currency": currency,
                                                    "total": Decimal(0)})
                if h["total"] is None:
                    continue
                try:
                    h["total"] += Decimal(str(line_total).strip())
                except (ArithmeticError, ValueError):
                    h["total"] = None  # data quality reports the line; this invoice cannot be compared
        return {"invoices": list(headers.values())}

    @registry.tool(name="ledger.list_pending_approvals", input=NoInput, output=PendingApprovals,
                   side_effect="read", reversible=True,
                   description="Approval requests still waiting for a decision, oldest first.")
    def list_pending_approvals(args: NoInput) -> dict:
        from governed_agents.ledger.schema import approval_requests as t

        with ledger.engine.connect() as c:
            rows = c.execute(select(t.c.id, t.c.workflow, t.c.action, t.c.created_at, t.c.expires_at)
                             .where(t.c.status == "pending").order_by(t.c.created_at)).fetchall()
        return {"requests": [{"id": r.id, "workflow": r.workflow, "action": r.action,
                              "created_at": as_utc(r.created_at), "expires_at": as_utc(r.expires_at)}
                             for r in rows]}

    @registry.tool(name="ledger.cost_per_completed_task", input=CostWindowInput, output=CostWindow,
                   side_effect="read", reversible=True,
                   description="Model spend and completed tasks per workflow in [since, until).")
    def cost_per_completed_task(args: CostWindowInput) -> dict:
        from governed_agents.routing.report import spend_report

        report = spend_report(ledger, since=args.since, until=args.until)
        return {"workflows": [{"workflow": w["workflow"], "cost_usd": w["cost_usd"],
                               "completed_tasks": w["completed_tasks"]} for w in report["by_workflow"]]}

    @registry.tool(name="ledger.verify_audit_chain", input=NoInput, output=ChainStatus,
                   side_effect="read", reversible=True,
                   description="Walk the hash-chained audit log and say whether it verifies.")
    def verify_audit_chain(args: NoInput) -> dict:
        result = ledger.verify()
        return {"ok": result.ok, "events_checked": result.events_checked, "head_seq": result.head_seq,
                "first_bad_seq": result.first_bad_seq, "problem": result.problem}

    writes = [name for name in registry.names() if registry.spec(name).is_write]
    if writes:  # pragma: no cover - a guard against a future edit
        raise GovernanceError(f"monitor tools must be reads; {', '.join(writes)} write")
    return registry
