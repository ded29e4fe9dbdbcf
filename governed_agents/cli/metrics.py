"""``governed-agents metrics [WORKFLOW]``: the brief's operational metrics, from the ledger."""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, add_json_flag, emit_json, out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "metrics",
        help="cost per completed task, time to correct, blast radius, approval latency per workflow",
        description=(
            "Operational metrics computed from the governance ledger, per workflow: cost per completed task "
            "(model spend over completed tasks), time to correct (write → reversal, p50/p90), approval latency "
            "(request → decision, p50/p90; nearest-rank), and blast radius (most records and money one "
            "approval or one autonomous step touched, beside the envelope's declared bounds). "
            "See docs/autonomy.md#metrics."
        ),
    )
    p.add_argument("workflow", nargs="?", metavar="WORKFLOW", help="only this workflow (default: every one)")
    p.add_argument("--since", metavar="DATE", help="from this UTC date or ISO time (inclusive)")
    p.add_argument("--until", metavar="DATE", help="up to this UTC date or ISO time (exclusive)")
    add_json_flag(p)
    p.set_defaults(handler=_metrics)


def _when(value: str | None, flag: str):
    import datetime as dt

    from governed_agents.errors import UsageError

    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a date (2026-03-01) or ISO time (2026-03-01T12:00)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _fmt(seconds) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}min"
    return f"{seconds / 3600:.1f}h"


def _metrics(args) -> int:
    from governed_agents.ledger import Ledger
    from governed_agents.metrics import operational_metrics

    report = operational_metrics(Ledger.open(), args.workflow, since=_when(args.since, "--since"),
                                 until=_when(args.until, "--until"))
    if args.json:
        emit_json({"ok": True, **report})
        return EXIT_OK
    if not report["workflows"]:
        out("no workflow has recorded anything yet")
    for w in report["workflows"]:
        cost, ttc, lat, radius = (w["cost_per_completed_task"], w["time_to_correct"], w["approval_latency"],
                                  w["blast_radius"])
        out(w["workflow"])
        per_task = cost["cost_per_completed_task_usd"]
        out(f"  cost per completed task  {per_task + ' USD' if per_task else '-'} "
            f"({cost['cost_usd']} USD over {cost['completed_tasks']} completed task(s))")
        out(f"  time to correct          p50 {_fmt(ttc['p50_seconds'])}  p90 {_fmt(ttc['p90_seconds'])} "
            f"({ttc['corrections']} correction(s))")
        out(f"  approval latency         p50 {_fmt(lat['p50_seconds'])}  p90 {_fmt(lat['p90_seconds'])} "
            f"({lat['decided']} decided, {lat['pending']} pending)")
        for label, key in (("one approval", "per_approval"), ("one autonomous step", "per_autonomous_step")):
            r = radius[key]
            money = ", ".join(f"{v} {k}" for k, v in r["max_money"].items()) or "-"
            out(f"  blast radius, {label:19} ≤{r['max_records']} record(s), {money}")
        declared = radius["declared_bounds"]
        out(f"  declared bounds          {', '.join(f'{k}={v}' for k, v in declared.items()) if declared else '-'}")
    return EXIT_OK
