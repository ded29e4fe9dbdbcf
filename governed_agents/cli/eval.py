"""``governed-agents eval run|promote|canary|status``: offline eval suites and the release gate."""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, EXIT_REFUSED, add_json_flag, emit_json, err, out


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "eval",
        help="run a workflow's eval suite; promote or canary a changed envelope / model catalog",
        description=(
            "Eval suites (governed_agents/evals/cases/<workflow>/) run each case through the real gate, "
            "executor, reconciler, injection scorer and model gateway in a sandbox (temporary ledger and "
            "ERP), compare outcomes with the expected ones, and judge each category against its threshold. "
            "Every run is recorded as an eval.run audit event. See docs/evals.md."
        ),
    )
    group.set_defaults(group_parser=group)
    cmds = group.add_subparsers(dest="eval_command", metavar="SUBCOMMAND")

    p = cmds.add_parser("run", help="run the suite, print a table, write a report; exit 1 below thresholds",
                        description="Run WORKFLOW's suite against an envelope (default: the deployed one) and "
                                    "the model catalog; print category, cases, passed, rate, threshold, verdict; "
                                    "write a JSON and a Markdown report (default under $GOVERNED_AGENTS_HOME/evals/).")
    p.add_argument("workflow", metavar="WORKFLOW")
    p.add_argument("--envelope", metavar="FILE", help="candidate envelope YAML (default: policies/WORKFLOW.yaml)")
    p.add_argument("--catalog", metavar="FILE", help="candidate model catalog (default: the configured one)")
    p.add_argument("--report", metavar="PATH", help="report path stem; PATH.json and PATH.md are written")
    p.add_argument("--case", action="append", metavar="ID", help="run only this case (repeatable; not recorded)")
    p.add_argument("--show-cases", action="store_true", help="list every case's expected and observed outcome")
    add_json_flag(p)
    p.set_defaults(handler=_run)

    p = cmds.add_parser("promote", help="make a candidate envelope / catalog the deployed one if its suites pass",
                        description="Run the suite(s) against the candidate. Below a threshold: refused (exit 1, "
                                    "eval.promotion_refused audit event, nothing changed). Passing: the candidate "
                                    "replaces policies/WORKFLOW.yaml (and/or the model catalog) and an "
                                    "eval.promoted audit event records both digests. Needs a token with "
                                    "policy.promote (Admin role) for the workflow.")
    p.add_argument("workflow", metavar="WORKFLOW")
    p.add_argument("--envelope", metavar="FILE", help="candidate envelope YAML for WORKFLOW")
    p.add_argument("--catalog", metavar="FILE", help="candidate model catalog (runs every workflow's suite)")
    p.add_argument("--token", help="scoped token with policy.promote (Admin); default: $GOVERNED_AGENTS_TOKEN")
    add_json_flag(p)
    p.set_defaults(handler=_promote)

    p = cmds.add_parser("canary", help="compare a candidate envelope with the deployed one on recent inputs",
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="Suggest-only: both envelopes decide the SAMPLE most recent inputs of the ERP;\n"
                                    "nothing is written to the ERP or the ledger but one eval.canary audit event.\n"
                                    "Reports, per item, decisions that flip, approvals newly needed (or no longer "
                                    "needed), and model cost.\n\n"
                                    "Recent inputs per WORKFLOW:\n"
                                    "  invoice_reconcile      invoices; up to the gate's decision, no approval "
                                    "requested\n"
                                    "  expense_receipt_chase  card transactions without a receipt; the chase runs "
                                    "in a sandbox\n"
                                    "                         (allow = reminder within the bounds, needs_approval, "
                                    "deny:CODES,\n"
                                    "                         not_chased, read_denied); bounds count from zero "
                                    "there\n"
                                    "  vendor_bank_change     pending bank-change requests; the proposal runs in a "
                                    "sandbox copy\n"
                                    "                         of the vendor master (needs_approval, blocked:FLAGS, "
                                    "denied)")
    p.add_argument("workflow", metavar="WORKFLOW",
                   choices=["invoice_reconcile", "expense_receipt_chase", "vendor_bank_change"])
    p.add_argument("--envelope", metavar="FILE", required=True, help="candidate envelope YAML")
    p.add_argument("--sample", type=int, default=50, metavar="N", help="recent inputs to compare (default 50)")
    add_json_flag(p)
    p.set_defaults(handler=_canary)

    p = cmds.add_parser("status", help="the latest recorded eval run of a workflow (deployed envelope by default)")
    p.add_argument("workflow", metavar="WORKFLOW")
    p.add_argument("--any-envelope", action="store_true", help="the latest run whatever envelope it evaluated")
    add_json_flag(p)
    p.set_defaults(handler=_status)


def _actor(value: str | None) -> str:
    import os

    return value or os.environ.get("USER") or "eval"


def _run(args) -> int:
    from governed_agents.evals.results import record_result, render_table, write_report
    from governed_agents.evals.runner import run_suite
    from governed_agents.ledger import Ledger

    only = set(args.case) if args.case else None
    result = run_suite(args.workflow, args.envelope, catalog=args.catalog, only=only)
    if only is None:
        result = record_result(Ledger.open(), result, actor=_actor(None))
    json_path, md_path = write_report(result, args.report)
    if args.json:
        emit_json({"ok": result.passed, **result.to_dict(), "report": {"json": str(json_path), "markdown": str(md_path)}})
    else:
        out(f"eval {result.workflow}: envelope {result.envelope_source} ({result.envelope_digest[:15]}…), "
            f"catalog {result.catalog_digest[:15]}…")
        out(render_table(result))
        if args.show_cases or not result.passed:
            for c in result.cases:
                if args.show_cases or not c.passed:
                    out(f"  {'ok  ' if c.passed else 'FAIL'} {c.id}: {c.observed.get('outcome')} "
                        f"{c.observed.get('reasons') or ''}" + (f" — {c.why}" if c.why else ""))
        out(f"verdict: {'PASS' if result.passed else 'FAIL'}"
            + (f" (audit seq {result.audit_seq})" if result.audit_seq is not None else " (partial run, not recorded)"))
        out(f"report: {json_path} and {md_path}")
    return EXIT_OK if result.passed else EXIT_REFUSED


def _promote(args) -> int:
    from governed_agents.evals.release import promote
    from governed_agents.identity.tokens import token_from_env_or_arg

    if args.envelope is None and args.catalog is None:
        from governed_agents.errors import UsageError

        raise UsageError("nothing to promote: give --envelope NEW.yaml and/or --catalog NEW.yaml")
    result = promote(args.workflow, envelope=args.envelope, catalog=args.catalog,
                     token=token_from_env_or_arg(args.token, action="policy.promote"))
    if args.json:
        emit_json({"ok": True, **result.to_dict()})
    else:
        for r in result.results:
            out(f"eval {r.workflow}: PASS (audit seq {r.audit_seq})")
        out(f"promoted {args.workflow}: {', '.join(result.changed)} (audit seq {result.audit_seq})")
    return EXIT_OK


def _canary(args) -> int:
    from governed_agents.evals.canary import run_canary

    report = run_canary(args.workflow, args.envelope, sample=args.sample, actor=_actor(None))
    data = report.to_dict()
    if args.json:
        emit_json({"ok": True, **data})
        return EXIT_OK
    what = {"invoice_id": "invoice(s)", "txn_id": "card transaction(s) without a receipt",
            "request_id": "pending bank-change request(s)"}[report.item_key]
    out(f"canary {report.workflow}: {len(report.items)} recent {what}, current {report.current_digest[:15]}… "
        f"vs candidate {report.candidate_digest[:15]}… (suggest-only: nothing written)")
    out(f"  current:   {data['current_counts']}  model cost {report.current_cost_usd} USD")
    out(f"  candidate: {data['candidate_counts']}  model cost {report.candidate_cost_usd} USD")
    out(f"  decisions that flip: {len(report.flips)}")
    for f in report.flips:
        out(f"    {f[report.item_key]}: {f['current']} -> {f['candidate']}")
    out(f"  approvals newly needed: {len(report.approvals_newly_needed)}; "
        f"no longer needed: {len(report.approvals_no_longer_needed)}")
    if report.writes_without_approval:
        err(f"  warning: the candidate lets writes through that now need approval: "
            f"{', '.join(report.writes_without_approval)}")
    return EXIT_OK


def _status(args) -> int:
    from governed_agents.envelope import find_envelope
    from governed_agents.evals.results import latest_result, render_table
    from governed_agents.ledger import Ledger

    digest = None if args.any_envelope else find_envelope(args.workflow).digest
    result = latest_result(Ledger.open(), args.workflow, digest)
    if result is None:
        if args.json:
            emit_json({"ok": False, "workflow": args.workflow, "envelope_digest": digest, "result": None})
        else:
            err(f"no recorded eval run of {args.workflow}" + (f" for the deployed envelope {digest[:15]}…" if digest else ""))
        return EXIT_REFUSED
    if args.json:
        emit_json({"ok": result.passed, **result.to_dict()})
    else:
        out(f"eval {args.workflow}: audit seq {result.audit_seq} at {result.finished_at}, "
            f"envelope {result.envelope_digest[:15]}…")
        out(render_table(result))
        out(f"verdict: {'PASS' if result.passed else 'FAIL'}")
    return EXIT_OK if result.passed else EXIT_REFUSED
