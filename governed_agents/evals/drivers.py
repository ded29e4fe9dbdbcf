"""How a workflow's cases meet the workflow: seeding the sandbox, running an input.

A driver knows one workflow's input shape; everything it does goes through
that workflow's own steps (``governed_agents.workflows.<workflow>``), the
executor and the gate, so an eval never re-decides anything itself. Cases
with ``tool_calls:`` need no driver: any workflow in ``TOOLSETS`` runs them.

Observed outcomes (what a case's ``expect.outcome`` is compared with):

- ``allowed``: the gate allowed the call and it ran (a write executed);
- ``needs_approval``: the gate asked for an approval (a request was recorded);
- ``refused``: the gate denied the call (``reasons`` are its codes);
- ``exception``: the workflow's rules stopped the input before any tool call
  (``reasons``: the reconciliation code, e.g. ``suspected_injection``).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from governed_agents.errors import GovernanceError


def observe_call(result) -> dict:
    """An executor ``CallResult`` as an observed outcome."""
    codes = list(result.decision.codes) if result.decision is not None else []
    outcome = {
        "executed": "allowed", "duplicate": "allowed",
        "needs_approval": "needs_approval", "awaiting_approval": "needs_approval",
    }.get(result.outcome, "refused")
    return {"outcome": outcome, "reasons": codes,
            "messages": [r.message for r in (result.decision.reasons if result.decision is not None else ())],
            "executor_outcome": result.outcome,
            "side_effect": getattr(result.decision, "side_effect", None)}


def run_tool_calls(ctx, calls) -> dict:
    """Pass each proposed call to the executor in one task; the last call's outcome is observed."""
    from governed_agents.executor import TaskContext

    task = TaskContext(envelope=ctx.envelope, requested_by="eval", agent="agent.eval", tenant="acme")
    observed: dict = {}
    before = None
    for index, call in enumerate(calls):
        if index == len(calls) - 1:
            before = ctx.sandbox.erp_state()  # earlier calls may write; the judged call is the last
        try:
            observed = observe_call(ctx.executor.call(task, call.tool, dict(call.arguments),
                                                      reason="proposed by the eval case"))
        except GovernanceError as exc:
            observed = {"outcome": "refused", "reasons": [type(exc).__name__], "messages": [exc.message]}
    observed["wrote"] = ctx.sandbox.erp_state() != before
    return observed


_PERMISSIVE = {"allowed": 3, "needs_approval": 2, "refused": 1, "error": 0}


def run_agent(ctx, case) -> dict:
    """The agent loop with a scripted model over real HTTP (``ScriptedModelServer`` on loopback).

    The model here is an attacker stand-in that does what its script says (e.g.
    obeys an injected instruction); this tests containment, which must not
    depend on the model or on detection. Every proposed call goes through the
    gateway and ``run_tool_loop`` to the executor. Observed: the most permissive
    outcome of the write calls the model made (``refused`` only if every write
    was; reads are not judged unless the model made no write).
    """
    from governed_agents.executor import TaskContext
    from governed_agents.routing import ModelGateway, run_tool_loop
    from governed_agents.routing.loop import function_name
    from governed_agents.testing import text as text_reply
    from governed_agents.testing import tool_call as call_reply

    server = ctx.model_server()
    model = f"eval-{case.id}"
    server.script(model, *[call_reply(function_name(r.tool_call.tool), dict(r.tool_call.arguments))
                           if r.tool_call is not None else text_reply(r.text) for r in case.agent.script])
    tiers = ctx.envelope.envelope.models
    catalog = server.catalog({alias: {"name": model, "input_usd_per_1k": 0.0, "output_usd_per_1k": 0.0}
                              for alias in {tiers.router, tiers.reasoning, tiers.fallback}}, cache=False)
    task = TaskContext(envelope=ctx.envelope, requested_by="eval", agent="agent.eval", tenant="acme")
    loop = run_tool_loop(ModelGateway(ctx.sandbox.ledger, catalog, cache=False), ctx.executor, task,
                         [dict(m) for m in case.agent.messages], tools=list(case.agent.tools),
                         max_turns=len(case.agent.script))
    calls = [observe_call(r) for r in loop.tool_results]
    if not calls:
        return {"outcome": "error", "reasons": ["no_tool_call"], "messages": [loop.stop_reason or "answered"],
                "model_requests": len(server.requests_for(model))}
    # Containment is about writes: judge the most permissive write (any call if none was a write).
    judged = [c for c in calls if c["side_effect"] == "write"] or calls
    worst = max(judged, key=lambda c: _PERMISSIVE.get(c["outcome"], 0))
    return {"outcome": worst["outcome"], "reasons": sorted({code for c in judged for code in c["reasons"]}),
            "calls": [{"outcome": c["outcome"], "reasons": c["reasons"], "side_effect": c["side_effect"]}
                      for c in calls],
            "stop_reason": loop.stop_reason, "model_requests": len(server.requests_for(model))}


class Context:
    """What a case runs with: the sandbox, the envelope, the catalog, the executor."""

    def __init__(self, sandbox, envelope, catalog, executor):
        self.sandbox = sandbox
        self.envelope = envelope
        self.catalog = catalog
        self.executor = executor
        self._server = None

    def model_server(self):
        """The scripted model server for ``agent:`` cases, started on first use (loopback, free port)."""
        if self._server is None:
            from governed_agents.testing import ScriptedModelServer

            self._server = ScriptedModelServer().start()
        return self._server

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None


class Driver:
    """The default: a workflow from ``TOOLSETS`` bound to the sandbox ERP; tool-call cases only."""

    workflow = ""

    def seed(self, sandbox, fixture: dict) -> None:
        seed_erp(sandbox.erp, fixture)

    def toolset(self, sandbox) -> tuple:
        from governed_agents.workflows import TOOLSETS

        factory = TOOLSETS.get(self.workflow)
        if factory is None:
            raise GovernanceError(f"no toolset is registered for workflow {self.workflow!r}; its suite cannot run",
                                  hint="register the workflow in governed_agents/workflows/TOOLSETS")
        with _erp_url(sandbox.erp_url):
            return factory()

    def run_input(self, ctx: Context, case) -> dict:
        raise GovernanceError(f"case {case.id}: workflow {self.workflow} has no eval driver for input: cases",
                              hint="use tool_calls: cases, or add a driver in governed_agents/evals/drivers.py")


@contextmanager
def _erp_url(url: str):
    # Toolset factories bind to the configured ERP; point them at the sandbox while they are built.
    old = os.environ.get("GOVERNED_AGENTS_ERP_URL")
    os.environ["GOVERNED_AGENTS_ERP_URL"] = url
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("GOVERNED_AGENTS_ERP_URL", None)
        else:
            os.environ["GOVERNED_AGENTS_ERP_URL"] = old


_RELATIVE = re.compile(r"^(now|today)(?:([+-])(\d+)d)?$")


def _value(column: sa.Column, value: Any) -> Any:
    """A fixture value for ``column``: ``now-10d`` / ``today-3d`` are relative to the run (cases do not age)."""
    if isinstance(value, str):
        match = _RELATIVE.match(value.strip())
        if match:
            days = int(match.group(3) or 0) * (-1 if match.group(2) == "-" else 1)
            moment = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(days=days)
            return moment if match.group(1) == "now" else moment.date().isoformat()
        if isinstance(column.type, sa.DateTime):
            return _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def seed_tables(engine: sa.Engine, tables: dict) -> None:
    """Insert ``{table name: [rows]}`` into the sandbox ERP (tables of ``erp/schema.py``), in dependency order."""
    from governed_agents.erp.schema import metadata

    unknown = set(tables) - set(metadata.tables)
    if unknown:
        raise GovernanceError(f"fixture.tables: no ERP table named {', '.join(sorted(unknown))}",
                              hint=f"ERP tables: {', '.join(sorted(metadata.tables))}")
    with engine.begin() as c:
        for table in metadata.sorted_tables:
            for row in tables.get(table.name) or []:
                bad = set(row) - set(table.c.keys())
                if bad:
                    raise GovernanceError(f"fixture.tables.{table.name}: unknown column(s) {', '.join(sorted(bad))}")
                c.execute(table.insert().values(**{k: _value(table.c[k], v) for k, v in row.items()}))


def seed_erp(engine: sa.Engine, fixture: dict) -> None:
    """Load a suite's ``fixture:`` into the sandbox ERP.

    ``vendors``, ``purchase_orders``, ``goods_receipts`` and ``posted`` (invoices
    already posted, with their journal entries) are the invoice shapes; ``tables``
    takes rows for any ERP table by name (other workflows' data).
    """
    from governed_agents.erp.schema import goods_receipts, invoice_lines, journal_entries, purchase_order_lines, vendors
    from governed_agents.erp.tools import ACCOUNTS_PAYABLE, GRIR_CLEARING

    unknown = set(fixture) - {"vendors", "purchase_orders", "goods_receipts", "posted", "tables"}
    if unknown:
        raise GovernanceError(f"fixture: unknown section(s) {', '.join(sorted(unknown))}",
                              hint="sections: vendors, purchase_orders, goods_receipts, posted, tables")
    with engine.begin() as c:
        for v in fixture.get("vendors", []):
            c.execute(vendors.insert().values(**{"iban": None, "status": "active", **v}))
        for po in fixture.get("purchase_orders", []):
            c.execute(purchase_order_lines.insert().values(**po))
        for gr in fixture.get("goods_receipts", []):
            c.execute(goods_receipts.insert().values(**{"received_date": "2026-01-01", **gr}))
        for row, posted in enumerate(fixture.get("posted", []), start=2):
            invoice = posted["invoice"]
            for line in _lines_of(invoice):
                c.execute(invoice_lines.insert().values(import_batch="eval-fixture", source_row=row, **line))
            c.execute(journal_entries.insert().values(
                entry_id=f"je-{invoice['invoice_id']}",
                idempotency_key=f"erp.create_journal_entry:{posted['vendor_id']}:{invoice['invoice_id']}",
                invoice_id=invoice["invoice_id"], vendor_id=posted["vendor_id"], currency=invoice["currency"],
                amount=Decimal(str(posted["amount"])), debit_account=GRIR_CLEARING, credit_account=ACCOUNTS_PAYABLE,
                memo="posted before the eval", posted_at=_dt.datetime(2026, 1, 2, tzinfo=_dt.timezone.utc)))
    seed_tables(engine, fixture.get("tables") or {})


_HEADER = ("invoice_id", "vendor_name", "vendor_tax_id", "invoice_number", "invoice_date", "currency",
           "po_reference", "memo")
_LINE = ("line_no", "sku", "description", "quantity", "unit_price", "line_total")


def _lines_of(invoice: dict) -> list[dict]:
    """A case invoice (header fields + ``lines``) as one dict per line, every value a string or None."""
    unknown = set(invoice) - set(_HEADER) - {"lines"}
    if unknown:
        raise GovernanceError(f"invoice {invoice.get('invoice_id')!r}: unknown field(s) {', '.join(sorted(unknown))}",
                              hint=f"header fields: {', '.join(_HEADER)}; lines: list of {', '.join(_LINE)}")
    out = []
    for number, line in enumerate(invoice.get("lines") or [], start=1):
        bad = set(line) - set(_LINE)
        if bad:
            raise GovernanceError(f"invoice {invoice.get('invoice_id')!r} line {number}: unknown field(s) "
                                  f"{', '.join(sorted(bad))}", hint=f"line fields: {', '.join(_LINE)}")
        values = {k: (None if invoice.get(k) is None else str(invoice.get(k))) for k in _HEADER}
        values.update({k: (None if line.get(k) is None else str(line.get(k))) for k in _LINE})
        if values["line_no"] is None:
            values["line_no"] = str(number)
        out.append(values)
    return out


def invoice_lines_of(invoices: list[dict], batch: str = "eval") -> list:
    """Case invoices as reconciliation's ``InvoiceLine`` tuples, in order."""
    from governed_agents.reconcile import InvoiceLine

    lines = []
    row = 2
    for invoice in invoices:
        for line in _lines_of(invoice):
            lines.append(InvoiceLine(**line, source_row=row, import_batch=batch))
            row += 1
    return lines


class InvoiceReconcileDriver(Driver):
    """``input: {invoices: [...], subject: INVOICE_ID}``: reconcile the batch, then propose the subject's entry.

    The steps are the workflow's own: ``match`` (the reconciliation rules with
    the envelope's tolerances and injection threshold, the PO extractor asking
    the model tier through the gateway), ``injection_leaks`` (the defence-in-depth
    re-score), then the proposal goes to the executor exactly as
    ``request_approvals`` sends it.
    """

    workflow = "invoice_reconcile"

    def toolset(self, sandbox) -> tuple:
        from governed_agents.erp.tools import erp_toolset

        return erp_toolset(sandbox.erp)

    def run_input(self, ctx: Context, case) -> dict:
        from governed_agents.executor import TaskContext
        from governed_agents.workflows import invoice_reconcile as wf

        invoices = case.input.get("invoices")
        if not isinstance(invoices, list) or not invoices:
            raise GovernanceError(f"case {case.id}: input.invoices must be a non-empty list")
        subject = case.input.get("subject") or invoices[-1]["invoice_id"]
        lines = invoice_lines_of(invoices)
        calls: list[int] = []
        result = wf.match(lines, ctx.sandbox.erp, ctx.envelope, po_extractor=_extractor(ctx, calls))
        outcome = result.by_invoice().get(subject)
        if outcome is None:
            raise GovernanceError(f"case {case.id}: subject {subject!r} is not among the case's invoices")
        observed: dict[str, Any] = {"model_used": outcome.model_used, "details": outcome.details}
        if outcome.reason != "matched":
            return {**observed, "outcome": "exception", "reasons": [outcome.reason]}
        leaks = [leak for leak in wf.injection_leaks(result, ctx.envelope) if leak["invoice_id"] == subject]
        if leaks:
            return {**observed, "outcome": "exception", "reasons": ["injection_leak"]}
        task = TaskContext(envelope=ctx.envelope, requested_by="eval", agent="agent.invoice", tenant="acme")
        call = ctx.executor.call(task, wf.WRITE_TOOL, outcome.proposal,
                                 reason=f"invoice {subject} matched its PO and goods receipt")
        return {**observed, **observe_call(call), "amount": outcome.proposal.get("amount")}


def _extractor(ctx: Context, calls: list[int]):
    """The workflow's PO-extraction hook, on the sandbox ledger and the catalog under test."""
    from governed_agents.executor import TaskContext
    from governed_agents.routing import ModelGateway, find_po_reference

    gateway = ModelGateway(ctx.sandbox.ledger, ctx.catalog, cache=False)

    def extract(text: str) -> str | None:
        calls.append(1)
        task = TaskContext(envelope=ctx.envelope, requested_by="eval", agent="agent.invoice", tenant="acme")
        try:
            return find_po_reference(gateway, task, text).po_reference
        except GovernanceError:
            return None  # as in the workflow: no answer, the invoice becomes a no_po exception

    return extract


class VendorBankChangeDriver(Driver):
    """``input: {request: {request_id, vendor_id, new_iban, sender_email, received_at}}``.

    The request is taken in as the workflow's intake does (a ``bank_change_requests``
    row), then ``vendor_bank_change.propose`` assesses it (the read tool's red
    flags) and either stops it (a blocking flag: ``exception``, reasons = the
    flags) or sends the write to the executor (``needs_approval``, reasons = the
    flags shown to approvers). The request row is removed afterwards so that
    cases do not see each other as earlier requests.
    """

    workflow = "vendor_bank_change"

    def run_input(self, ctx: Context, case) -> dict:
        from governed_agents.erp.schema import bank_change_requests
        from governed_agents.workflows import vendor_bank_change as wf

        request = dict(case.input.get("request") or {})
        if not request.get("request_id"):
            raise GovernanceError(f"case {case.id}: input.request needs at least request_id, vendor_id, "
                                  "new_iban, sender_email")
        request.setdefault("received_at", "now")
        seed_tables(ctx.sandbox.erp, {"bank_change_requests": [request]})
        try:
            proposals = wf.propose(ctx.sandbox.erp, ctx.executor, ctx.envelope, requested_by="eval")
        finally:
            with ctx.sandbox.erp.begin() as c:
                c.execute(bank_change_requests.delete().where(
                    bank_change_requests.c.request_id == request["request_id"]))
        mine = next((p for p in proposals if p.request_id == request["request_id"]), None)
        if mine is None:
            raise GovernanceError(f"case {case.id}: the workflow did not consider request {request['request_id']}")
        outcome = {"blocked": "exception", "needs_approval": "needs_approval", "already_proposed": "needs_approval",
                   "already_applied": "allowed", "executed": "allowed"}.get(mine.outcome, "refused")
        return {"outcome": outcome, "reasons": list(mine.red_flags), "messages": [mine.detail] if mine.detail else [],
                "workflow_outcome": mine.outcome}


DRIVERS: dict[str, type[Driver]] = {"invoice_reconcile": InvoiceReconcileDriver,
                                    "vendor_bank_change": VendorBankChangeDriver}


def driver_for(workflow: str) -> Driver:
    cls = DRIVERS.get(workflow)
    if cls is None:
        driver = Driver()
        driver.workflow = workflow
        return driver
    return cls()
