"""``governed-agents demo``: the product on embedded defaults, no keys, no network.

Two demos:

- ``run_demo`` (the default): invoice reconciliation as a governed Dagster
  pipeline — demo data, a proposal run, a batch approval with a scoped token,
  the real ``dagster-daemon`` whose approval sensor launches the posting runs,
  receipts and ``audit verify``;
- ``run_core_demo`` (``demo --core``): the governed write loop without Dagster —
  an agent reads through the gate, is refused what the envelope does not allow,
  proposes a write that needs approval, is approved by a FinanceAdmin holding a
  scoped token, writes once (a retry is a no-op), and leaves a signed receipt
  that verifies offline, anchored in an audit chain that verifies.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

from sqlalchemy import func, insert, select

REQUESTER = "alice"
APPROVER = "bob"
AGENT = "agent.invoice"
WORKFLOW = "invoice_reconcile"

DEMO_VENDORS = [
    {"vendor_id": "V001", "name": "Nordlicht Office Supplies GmbH", "tax_id": "DE811907980",
     "iban": "DE89370400440532013000", "currency": "EUR", "status": "active"},
    {"vendor_id": "V002", "name": "Blue Harbor Logistics Ltd", "tax_id": "GB123456789",
     "iban": "GB29NWBK60161331926819", "currency": "GBP", "status": "active"},
    {"vendor_id": "V003", "name": "Shady Supplies Inc", "tax_id": "US98-7654321",
     "iban": None, "currency": "USD", "status": "blocked"},
]
DEMO_PO_LINES = [
    {"po_number": "PO-4500123", "line_no": 1, "vendor_id": "V001", "currency": "EUR",
     "sku": "PAPER-A4", "description": "A4 paper, 80g, box of 5 reams", "quantity": Decimal("40"),
     "unit_price": Decimal("24.90")},
    {"po_number": "PO-4500123", "line_no": 2, "vendor_id": "V001", "currency": "EUR",
     "sku": "TONER-K", "description": "Toner cartridge, black", "quantity": Decimal("5"),
     "unit_price": Decimal("47.70")},
]


@dataclass
class DemoResult:
    home: str
    ledger_url: str
    approval_request_id: str
    entry_id: str
    receipt_id: str
    receipt_file: str
    audit_events: int
    audit_ok: bool
    receipt_verified: bool
    refusals: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def run_core_demo(say: Callable[[str], None] = print) -> DemoResult:
    from governed_agents import config
    from governed_agents.approvals import decide
    from governed_agents.envelope import find_envelope
    from governed_agents.erp.connector import erp_engine, erp_url
    from governed_agents.erp.schema import purchase_order_lines, vendors
    from governed_agents.errors import GovernanceError
    from governed_agents.executor import TaskContext
    from governed_agents.identity.keys import public_key
    from governed_agents.identity.tokens import issue_token
    from governed_agents.ledger import Ledger
    from governed_agents.receipts.render import render_markdown
    from governed_agents.receipts.signing import export_bytes, verify_receipt_bytes
    from governed_agents.workflows import executor_for

    steps = 8
    step = iter(range(1, steps + 1))

    def head(text: str) -> None:
        say(f"\n[{next(step)}/{steps}] {text}")

    home = config.home()
    head("State home and ledger")
    ledger = Ledger.open()
    say(f"  home:   {home}")
    say(f"  ledger: {ledger.url}")
    say(f"  ERP:    {erp_url()}")

    head("Execution envelope")
    envelope = find_envelope(WORKFLOW)
    budgets = envelope.envelope.budgets
    say(f"  {WORKFLOW}: version {envelope.version}, digest {envelope.digest[:23]}…")
    say(f"  allowed tools: {', '.join(envelope.envelope.permissions.allowed_tools)}")
    say(f"  budgets: {budgets.max_tool_calls} tool calls, {budgets.max_tokens_per_task} tokens, "
        f"${budgets.hard_cost_cap_usd} per task; writes need approval by "
        f"{', '.join(envelope.envelope.permissions.approval_roles)}")

    head("Demo ERP")
    engine = erp_engine()
    with engine.begin() as c:
        if c.execute(select(func.count()).select_from(vendors)).scalar_one() == 0:
            c.execute(insert(vendors), DEMO_VENDORS)
            c.execute(insert(purchase_order_lines), DEMO_PO_LINES)
    say(f"  {len(DEMO_VENDORS)} vendors, purchase order PO-4500123 with {len(DEMO_PO_LINES)} lines")

    executor = executor_for(WORKFLOW, ledger)
    task = TaskContext(envelope=envelope, requested_by=REQUESTER, agent=AGENT, tenant="acme")
    invoice_id = f"INV-{dt.date.today():%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"
    amount = sum((line["quantity"] * line["unit_price"] for line in DEMO_PO_LINES), Decimal("0"))

    head(f"Agent {AGENT} works invoice {invoice_id} for {REQUESTER} (trace {task.trace_id[:12]}…)")
    vendor = executor.call(task, "erp.lookup_vendor", {"tax_id": "DE811907980"})
    say(f"  erp.lookup_vendor        → {vendor.decision.outcome}: {vendor.output.name} ({vendor.output.status})")
    po = executor.call(task, "erp.match_po", {"po_number": "PO-4500123"})
    say(f"  erp.match_po             → {po.decision.outcome}: {len(po.output.lines)} lines, "
        f"total {amount:,.2f} {po.output.currency}")
    refusals = []
    for tool, args in [
        ("payments.send_wire", {"iban": "XX00 ATTACKER", "amount": "9999.00"}),
        ("erp.create_journal_entry", {"invoice_id": invoice_id, "vendor_id": "V001",
                                      "currency": "EUR", "amount": "-5"}),
    ]:
        result = executor.call(task, tool, args)
        reason = result.decision.reasons[0]
        refusals.append({"tool": tool, "code": reason.code, "message": reason.message})
        say(f"  {tool:24} → {result.decision.outcome}: {reason.message}")

    head("The write needs approval: preview")
    entry_args = {"invoice_id": invoice_id, "vendor_id": vendor.output.vendor_id, "currency": "EUR",
                  "amount": str(amount), "memo": "Office supplies, PO-4500123"}
    proposed = executor.call(task, "erp.create_journal_entry", entry_args,
                             reason="three-way match passed for PO-4500123")
    request = proposed.approval_request
    say(f"  erp.create_journal_entry → {proposed.decision.outcome}: approval request {request.id}")
    for change in request.preview["changes"]:
        say(f"    {change}")
    say(f"  preview digest {request.preview_digest[:23]}…, expires {request.expires_at:%Y-%m-%d %H:%M} UTC")

    head("Approval with a scoped token")
    own = issue_token(REQUESTER, actions=["approval.read"], workflows=[WORKFLOW])
    try:
        decide(ledger, request.id, token=own, decision="approve")
    except GovernanceError as exc:
        refusals.append({"tool": "approvals.approve", "code": getattr(exc, "code", ""), "message": exc.message})
        say(f"  {REQUESTER} (the requester) tries to approve her own request → refused: {exc.message}")
    say(f"  THE DEMO NOW APPROVES AS {APPROVER} (FinanceAdmin): it issues him a 15-minute token scoped")
    say(f"  to approval.approve on {WORKFLOW}. In real use {APPROVER} runs "
        f"`governed-agents approvals approve {request.id[:8]}…` with his own token.")
    token = issue_token(APPROVER, actions=["approval.approve"], workflows=[WORKFLOW],
                        ttl=dt.timedelta(minutes=15))
    approved = decide(ledger, request.id, token=token, decision="approve",
                      reason="matches PO and goods receipt", rebuild_preview=executor.rebuild_preview)
    say(f"  {APPROVER} approved → request {approved.status}")

    head("Execute once")
    posted = executor.call(task, "erp.create_journal_entry", entry_args, approval_request_id=request.id)
    say(f"  erp.create_journal_entry → {posted.outcome}: entry {posted.output.entry_id}")
    again = executor.call(task, "erp.create_journal_entry", entry_args, approval_request_id=request.id)
    say(f"  retry with the same idempotency key → {again.outcome}: nothing written twice")

    head("Receipt and audit")
    signed = posted.receipt
    receipts_dir = home / "receipts"
    receipts_dir.mkdir(exist_ok=True)
    receipt_file = receipts_dir / f"{signed.receipt.receipt_id}.json"
    receipt_file.write_bytes(export_bytes(signed))
    verify_receipt_bytes(receipt_file.read_bytes(), public_key())
    say("")
    for line in render_markdown(signed).splitlines():
        say(f"    {line}")
    say("")
    say(f"  receipt exported to {receipt_file}; verified offline with the public key: OK")
    result = ledger.verify()
    say(f"  audit verify: {'OK' if result.ok else 'BROKEN'}, {result.events_checked} events")

    say("\nNext:")
    say("  governed-agents audit verify")
    say(f"  governed-agents receipts verify {receipt_file}")
    say("  governed-agents receipts list")
    say(f"  governed-agents token issue --principal {APPROVER} --action approval.read   # then: approvals list --token …")
    return DemoResult(
        home=str(home),
        ledger_url=ledger.url,
        approval_request_id=request.id,
        entry_id=posted.output.entry_id,
        receipt_id=signed.receipt.receipt_id,
        receipt_file=str(receipt_file),
        audit_events=result.events_checked,
        audit_ok=result.ok,
        receipt_verified=True,
        refusals=refusals,
    )


@dataclass
class PipelineDemoResult:
    home: str
    dagster_home: str
    proposal_run_id: str
    outcomes: dict
    by_reason: dict
    approval_requests: list
    posting_runs: dict
    entries_posted: int
    receipts: list
    audit_events: int
    audit_ok: bool
    ui_command: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


DEMO_INVOICES = 16
DEMO_SEED = 7


def run_demo(say: Callable[[str], None] = print, *, invoices: int = DEMO_INVOICES,
             seed: int = DEMO_SEED, timeout: float = 150) -> PipelineDemoResult:
    """Invoice reconciliation through Dagster, approval included, on the embedded defaults."""
    import time

    from governed_agents import config
    from governed_agents.approvals import decide_batch, list_requests
    from governed_agents.dagster.daemon import running_daemon, wait_for_runs
    from governed_agents.dagster.instance import dagster_home, instance, ui_command
    from governed_agents.dagster.metadata import TAG_APPROVAL
    from governed_agents.dagster.runs import run_proposals
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.csv_contract import load_csv_dir
    from governed_agents.erp.generator import generate
    from governed_agents.erp.schema import journal_entries
    from governed_agents.errors import GovernanceError
    from governed_agents.identity.tokens import issue_token
    from governed_agents.ledger import Ledger
    from governed_agents.receipts.render import render_markdown, summary_line
    from governed_agents.receipts.store import get_receipt, list_receipts
    from governed_agents.workflows import executor_for

    started = time.monotonic()
    steps = 7
    step = iter(range(1, steps + 1))

    def head(text: str) -> None:
        say(f"\n[{next(step)}/{steps}] {text}  ({time.monotonic() - started:.0f}s)")

    home = config.home()
    head("State home, ledger and Dagster instance")
    ledger = Ledger.open()
    say(f"  home:         {home}")
    say(f"  ledger:       {ledger.url}")
    say(f"  DAGSTER_HOME: {dagster_home()}")

    head(f"Demo data: {invoices} supplier invoices with exceptions mixed in (seed {seed})")
    data_dir = home / "demo-data" / f"seed-{seed}"
    generate(data_dir, invoices=invoices, seed=seed)
    report = load_csv_dir(data_dir, erp_engine())
    files = ", ".join(f"{f.file} ({f.rows} rows)" for f in report.files)
    say(f"  generated into {data_dir}")
    say(f"  loaded into the ERP as batch {report.batch_id}: {files}")

    head("Reconciliation through Dagster (the proposal run shows in the UI)")
    run = run_proposals(WORKFLOW, requested_by=REQUESTER, batch_id=getattr(report, "batch_id", "") or "")
    say(f"  run {run.run_id}: {'succeeded' if run.success else 'STOPPED by a blocking check'}")
    for check in run.checks:
        say(f"  check {check['name']:45} {'passed' if check['passed'] else 'FAILED'}")
    for reason, n in sorted(run.by_reason.items(), key=lambda kv: (kv[0] != "matched", kv[0])):
        say(f"  {reason:22} {n}")
    if not run.success:
        raise GovernanceError("the demo's proposal run was stopped by a blocking check")

    head(f"Preview: {len(run.approval_requests)} journal entries await approval (batch {run.run_id[:8]}…)")
    pending = [r for r in list_requests(ledger, batch_id=run.run_id, limit=1000)]
    for r in pending:
        say(f"  {r.arguments['invoice_id']:>14}  {r.arguments['vendor_id']:6} "
            f"{r.arguments['amount']:>12} {r.arguments['currency']}  " + "; ".join(r.preview.get("changes", [])[:1]))
    if pending and pending[0].reason:
        # What the approver reads: the model's justification, checked for citations before it was asked.
        say(f"  why (drafted by the model, citations checked): {pending[0].reason}")

    head("Approval with a scoped token")
    try:
        own = issue_token(REQUESTER, actions=["approval.read"], workflows=[WORKFLOW])
        decide_batch(ledger, run.approval_requests, token=own, decision="approve")
    except GovernanceError as exc:
        say(f"  {REQUESTER} (the requester) tries to approve → refused: {exc.message}")
    say(f"  THE DEMO NOW APPROVES AS {APPROVER} (FinanceAdmin): it issues him a 15-minute token scoped to")
    say(f"  approval.approve on {WORKFLOW} and approves the whole batch in one action. In real use he runs")
    say(f"  `governed-agents approvals approve --batch {run.run_id}` with his own token.")
    token = issue_token(APPROVER, actions=["approval.approve"], workflows=[WORKFLOW],
                        ttl=dt.timedelta(minutes=15))
    executor = executor_for(WORKFLOW, ledger)
    decided = decide_batch(ledger, run.approval_requests, token=token, decision="approve",
                           reason="demo batch: three-way match passed",
                           rebuild_preview=executor.rebuild_preview)
    say(f"  {APPROVER} approved {len(decided)} request(s)")

    head("dagster-daemon: the approval sensor launches one posting run per approved request")
    dagster = instance()
    with running_daemon() as daemon:
        def progress(done: int, total: int) -> None:
            say(f"  posting runs finished: {done}/{total}  ({time.monotonic() - started:.0f}s)")

        runs = wait_for_runs(dagster, TAG_APPROVAL, run.approval_requests, timeout=timeout,
                             progress=progress, process=daemon)
    failed = [k for k, r in runs.items() if r.status.value != "SUCCESS"]
    with erp_engine().connect() as c:
        from sqlalchemy import func as _f, select as _s

        posted = c.execute(_s(_f.count()).select_from(journal_entries)).scalar_one()
    say(f"  {len(runs) - len(failed)} posting run(s) succeeded, {len(failed)} failed; "
        f"journal entries in the ERP: {posted}")

    head("Receipts and audit")
    receipts = list_receipts(ledger, workflow=WORKFLOW, limit=1000)
    for signed in receipts[:12]:
        say(f"  - {summary_line(signed.receipt)}")
    executed = [r for r in receipts if r.receipt.kind == "write_executed"]
    if executed:
        say("")
        for line in render_markdown(get_receipt(ledger, executed[0].receipt.receipt_id)).splitlines()[:24]:
            say(f"    {line}")
        say("    …")
    result = ledger.verify()
    say(f"\n  audit verify: {'OK' if result.ok else 'BROKEN'}, {result.events_checked} events")
    say(f"\nDone in {time.monotonic() - started:.0f}s. Open the Dagster UI on this instance:\n  {ui_command()}")
    say("Then: governed-agents receipts list · governed-agents audit verify · governed-agents demo --core")
    return PipelineDemoResult(
        home=str(home), dagster_home=str(dagster_home()), proposal_run_id=run.run_id,
        outcomes=run.outcomes, by_reason=run.by_reason, approval_requests=run.approval_requests,
        posting_runs={k: r.status.value for k, r in runs.items()}, entries_posted=posted,
        receipts=[r.receipt.receipt_id for r in receipts], audit_events=result.events_checked,
        audit_ok=result.ok, ui_command=ui_command(),
    )
