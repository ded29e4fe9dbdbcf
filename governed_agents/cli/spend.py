"""``governed-agents spend report|caps``: what model calls cost, and how close each cap is.

Reads the ledger only (no token needed, like ``audit`` and ``receipts``). Calls
answered by the offline stand-in are labelled: their amounts are catalog
prices that no provider charged.
"""

from __future__ import annotations

import argparse
import datetime as _dt

from governed_agents.cli._common import EXIT_OK, EXIT_REFUSED, add_json_flag, emit_json, iso_date, out


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "spend",
        help="model spend by workflow, user, tenant and model; cap status",
        description="Model spend recorded by the model gateway, and spend caps against it.",
    )
    group.set_defaults(group_parser=group)
    cmds = group.add_subparsers(dest="spend_command", metavar="SUBCOMMAND")

    p = cmds.add_parser(
        "report",
        help="spend by workflow, user, tenant and model, and cost per completed task",
        description=(
            "Spend of settled model calls (cache hits count as calls at $0) by workflow, user, tenant and "
            "model, with cost per completed task: all spend, failed tasks included, over the tasks that "
            "completed. Days are UTC. Offline stand-in calls are labelled."
        ),
    )
    p.add_argument("--since", type=iso_date, metavar="DATE", help="from this UTC day (YYYY-MM-DD), inclusive")
    p.add_argument("--until", type=iso_date, metavar="DATE", help="to this UTC day (YYYY-MM-DD), inclusive")
    p.add_argument("--workflow", help="only this workflow")
    add_json_flag(p)
    p.set_defaults(handler=_report)

    p = cmds.add_parser(
        "caps",
        help="each spend cap of a workflow against today's and this month's spend (exit 1 if one is exceeded)",
        description=(
            "The workflow's caps (its envelope's and any set by an admin) against what is committed now "
            "(settled plus reserved). Exit code 1 when a cap is exceeded."
        ),
    )
    p.add_argument("workflow", help="the workflow whose envelope names the caps")
    add_json_flag(p)
    p.set_defaults(handler=_caps)


def _report(args: argparse.Namespace) -> int:
    from governed_agents.ledger import Ledger
    from governed_agents.routing.report import spend_report

    report = spend_report(Ledger.open(), since=args.since, until=args.until, workflow=args.workflow)
    if args.json:
        emit_json({"ok": True, "report": report})
        return EXIT_OK
    out(render_report(report))
    return EXIT_OK


def _caps(args: argparse.Namespace) -> int:
    from governed_agents.envelope import find_envelope
    from governed_agents.ledger import Ledger
    from governed_agents.routing.report import caps_status

    envelope = find_envelope(args.workflow)
    statuses = caps_status(Ledger.open(), envelope)
    exceeded = [s for s in statuses if s.exceeded]
    if args.json:
        emit_json({"ok": not exceeded, "workflow": args.workflow, "caps": [s.to_dict() for s in statuses]})
        return EXIT_REFUSED if exceeded else EXIT_OK
    if not statuses:
        out(f"{args.workflow}: no workflow, user or tenant spend caps apply "
            f"(the task cap is {envelope.envelope.budgets.hard_cost_cap_usd} USD)")
        return EXIT_OK
    out(f"{'budget':18} {'scope':28} {'period':10} {'spent USD':>14} {'cap USD':>12} {'used':>6}  state")
    for s in statuses:
        state = "EXCEEDED" if s.exceeded else ("exhausted" if s.exhausted else "ok")
        out(f"{s.budget:18} {(s.scope + ' ' + s.name)[:28]:28} {s.period:10} {_num(s.spent_usd):>14} "
            f"{_num(s.cap_usd):>12} {s.fraction:>6.0%}  {state}")
    if exceeded:
        out(f"{len(exceeded)} cap(s) exceeded")
        return EXIT_REFUSED
    return EXIT_OK


def _num(value) -> str:
    from decimal import Decimal

    amount = Decimal(str(value))
    return f"{amount:,.2f}" if amount == amount.quantize(Decimal("0.01")) or amount >= 1 else f"{amount.normalize():f}"


def render_report(report: dict) -> str:
    """The report as text tables."""
    totals = report["totals"]
    window = "all time"
    if report["since"] or report["until"]:
        since = report["since"].strftime("%Y-%m-%d") if report["since"] else "…"
        until = ((report["until"] - _dt.timedelta(days=1)).strftime("%Y-%m-%d") if report["until"] else "…")
        window = f"{since} to {until} (UTC)"
    lines = [
        f"Model spend, {window}" + (f", workflow {report['workflow']}" if report["workflow"] else ""),
        f"  total:        {_num(totals['cost_usd'])} USD over {totals['calls']} call(s) "
        f"({totals['model_calls']} to a model, {totals['cache_hits']} cache hit(s) at $0, "
        f"{totals['failed_calls']} failed attempt(s) released)",
        f"  tokens:       {totals['tokens']:,}",
        f"  tasks:        {totals['tasks']} ({totals['completed_tasks']} completed); cost per completed task: "
        + (f"{_num(totals['cost_per_completed_task_usd'])} USD" if totals["cost_per_completed_task_usd"] else "-"),
    ]
    if totals["open_reservations"]:
        lines.append(f"  open:         {totals['open_reservations']} reservation(s) in flight, "
                     f"{_num(totals['open_reserved_usd'])} USD reserved")
    if report["downgrades"]:
        lines.append("  downgrades:   " + ", ".join(f"{k} ×{v}" for k, v in report["downgrades"].items()))
    if report.get("offline_note"):
        lines.append(f"  NOTE {report['offline_note']}")

    def table(title: str, rows: list[dict], key: str) -> None:
        if not rows:
            return
        names = []
        for row in rows:
            name = str(row.get(key))
            if key == "model":
                name = f"{row['alias']} = {row['model']}" + (" [offline stand-in]" if row["offline_model"] else "")
            names.append(name[:60])
        width = max(len(title), *(len(n) for n in names))
        lines.append("")
        lines.append(f"By {title}:")
        lines.append(f"  {title:{width}} {'cost USD':>14} {'calls':>6} {'cache':>6} {'tasks':>6} {'done':>5} "
                     f"{'USD/completed task':>19}")
        for name, row in zip(names, rows):
            per_task = _num(row["cost_per_completed_task_usd"]) if row["cost_per_completed_task_usd"] else "-"
            lines.append(f"  {name:{width}} {_num(row['cost_usd']):>14} {row['calls']:>6} {row['cache_hits']:>6} "
                         f"{row['tasks']:>6} {row['completed_tasks']:>5} {per_task:>19}")

    table("workflow", report["by_workflow"], "workflow")
    table("user", report["by_user"], "user")
    table("tenant", report["by_tenant"], "tenant")
    table("model", report["by_model"], "model")
    if not report["by_workflow"]:
        lines.append("")
        lines.append("no model calls recorded in this window")
    return "\n".join(lines)
