"""``governed-agents run WORKFLOW``: the proposal stage through Dagster."""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, EXIT_REFUSED, add_json_flag, emit_json, err, out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run a workflow's proposal stage through Dagster (shows in the Dagster UI)",
        description=(
            "Runs the workflow's proposal job in this process on the configured Dagster instance "
            "($DAGSTER_HOME, default $GOVERNED_AGENTS_HOME/dagster): read the batch, check its data "
            "quality, reconcile, preview every proposed write and ask for approval. Exit 1 if a "
            "blocking check stopped the run. Posting happens after approval, launched by the "
            "approval sensor under the Dagster daemon."
        ),
    )
    p.add_argument("workflow", choices=["invoice_reconcile", "vendor_bank_change", "expense_receipt_chase"],
                   help="invoice_reconcile: reconcile and propose journal entries; vendor_bank_change: check "
                        "bank-account change requests and ask for dual approval; expense_receipt_chase: send "
                        "receipt reminders within the envelope's bounds, ask for approval past them")
    p.add_argument("--batch", default="", help="ERP import batch to reconcile (default: every loaded line)")
    p.add_argument("--inbox-file", default="", help="an invoices CSV to load into the ERP first")
    p.add_argument("--demo-data", action="store_true",
                   help="vendor_bank_change / expense_receipt_chase: add the demo vendors and requests, or "
                        "employees and card transactions, first (idempotent)")
    p.add_argument("--token", help="requester's token (approval.request); default requester: alice (demo)")
    add_json_flag(p)
    p.set_defaults(handler=_run)


def _run(args) -> int:
    from governed_agents.dagster.instance import ui_command
    from governed_agents.dagster.runs import run_proposals

    requested_by = "alice"
    if args.token:
        from governed_agents.identity.tokens import verify_token

        requested_by = verify_token(args.token, action="approval.request", workflow=args.workflow).principal.id
    if not args.json:
        err(f"running {args.workflow} through Dagster…")
    run = run_proposals(args.workflow, batch_id=args.batch, inbox_file=args.inbox_file,
                        requested_by=requested_by, demo_data=args.demo_data)
    if args.json:
        emit_json({"ok": run.success, **run.to_dict()})
        return EXIT_OK if run.success else EXIT_REFUSED
    out(f"run {run.run_id}: {'succeeded' if run.success else 'STOPPED by a blocking check'}")
    for reason, n in sorted(run.by_reason.items()):
        out(f"  {reason:20} {n}")
    for check in run.checks:
        out(f"  check {check['name']}: {'passed' if check['passed'] else 'FAILED'}"
            + (f" — {check['details']}" if check["details"] and not check["passed"] else ""))
    if run.approval_requests:
        out(f"{len(run.approval_requests)} approval request(s) in batch {run.run_id}:")
        out("  governed-agents approvals list --status pending   (with an approval.read token)")
        out(f"  governed-agents approvals approve --batch {run.run_id} --reason '…'   (as a FinanceAdmin)")
    out(f"Dagster UI: {ui_command()}")
    return EXIT_OK if run.success else EXIT_REFUSED
