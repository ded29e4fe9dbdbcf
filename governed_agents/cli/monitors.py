"""``governed-agents monitors list|run``: the continuous monitors, outside their schedules."""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, EXIT_REFUSED, add_json_flag, emit_json, out


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "monitors",
        help="list the continuous monitors and their last results, or run one now",
        description=(
            "Continuous monitors are read-only agents (policies/monitor_<name>.yaml) that the Dagster daemon "
            "runs on schedules: duplicate payments, spend anomaly, approval backlog, audit chain. Each run "
            "records monitor.finding or monitor.passed in the audit log. `run` runs one (or all) now, "
            "exactly as the schedule would; exit code 1 when something was found or a monitor could not run. "
            "See docs/monitors.md."
        ),
    )
    group.set_defaults(group_parser=group)
    cmds = group.add_subparsers(dest="monitors_command", metavar="SUBCOMMAND")
    p = cmds.add_parser("list", help="each monitor, its schedule and its last recorded result")
    add_json_flag(p)
    p.set_defaults(handler=_list)
    p = cmds.add_parser("run", help="run monitors now (default: all)")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="monitors to run: duplicate_payments, spend_anomaly, approval_backlog, audit_chain "
                        "(default: all)")
    add_json_flag(p)
    p.set_defaults(handler=_run)


def _last_results(ledger) -> dict[str, dict]:
    from sqlalchemy import select

    from governed_agents.ledger.audit import AuditEvent
    from governed_agents.ledger.schema import audit_events as t

    last: dict[str, dict] = {}
    with ledger.engine.connect() as c:
        rows = c.execute(select(t).where(t.c.kind.in_(("monitor.finding", "monitor.passed")))
                         .order_by(t.c.seq.desc()).limit(500)).mappings()
        for row in rows:
            event = AuditEvent.from_row(row)
            name = event.payload.get("monitor")
            if name not in last:
                last[name] = {"ok": event.kind == "monitor.passed", "summary": event.payload.get("summary"),
                              "at": event.ts, "seq": event.seq}
    return last


def _list(args) -> int:
    from governed_agents.ledger import Ledger
    from governed_agents.monitors import MONITORS, cron, envelope_name

    last = _last_results(Ledger.open())
    rows = [{"monitor": name, "envelope": f"policies/{envelope_name(name)}.yaml",
             "schedule": cron(name), "last": last.get(name)} for name in MONITORS]
    if args.json:
        emit_json({"ok": True, "monitors": rows})
        return EXIT_OK
    for r in rows:
        state = "never run" if r["last"] is None else (
            f"{'green' if r['last']['ok'] else 'RED'}: {r['last']['summary']} "
            f"({r['last']['at']:%Y-%m-%d %H:%M:%S} UTC)")
        out(f"{r['monitor']:20} {r['schedule']:14} {state}")
    return EXIT_OK


def _run(args) -> int:
    from governed_agents.errors import UsageError
    from governed_agents.ledger import Ledger
    from governed_agents.monitors import MONITORS, run_monitor

    names = args.names or list(MONITORS)
    unknown = [n for n in names if n not in MONITORS]
    if unknown:
        raise UsageError(f"no monitor named {', '.join(unknown)}", hint=f"monitors: {', '.join(MONITORS)}")
    ledger = Ledger.open()
    results, failed = [], False
    for name in names:
        result = run_monitor(name, ledger=ledger)
        failed = failed or not result.ok
        results.append(result.to_dict())
        if not args.json:
            out(f"{name:20} {'green' if result.ok else 'RED  '} {result.summary}")
            for finding in result.findings[:10]:
                out(f"    {finding}")
    if args.json:
        emit_json({"ok": not failed, "results": results})
    return EXIT_REFUSED if failed else EXIT_OK
