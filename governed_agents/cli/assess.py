"""``governed-agents assess WORKFLOW``: the autonomy readiness score, with its evidence.

Reads the envelope, the workflow's registered tools and the ledger; writes nothing.
"""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, add_json_flag, emit_json, out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "assess",
        help="autonomy readiness of a workflow: five scored dimensions, evidence, red flags, suggested stance",
        description=(
            "Score whether WORKFLOW should run autonomously: frequency (its run history in the ledger), "
            "reversibility (its write tools' declared reversibility and undo paths), observability (checks, "
            "success criteria, correction signals recorded), policy clarity (envelope completeness: budgets, "
            "spend cap, approvals, allowlist, thresholds) and data sensitivity (data classes its tools touch, "
            "redaction). Each dimension is 0-100 with its evidence and red flags; the suggested stance is "
            "assist, approval-only or bounded autonomy (rules in docs/readiness.md)."
        ),
    )
    p.add_argument("workflow", metavar="WORKFLOW", help="a workflow with an envelope in the policy directory")
    p.add_argument("--days", type=int, default=30, metavar="N",
                   help="history window in days (default 30)")
    add_json_flag(p)
    p.set_defaults(handler=_assess)


def _assess(args: argparse.Namespace) -> int:
    from governed_agents.errors import UsageError
    from governed_agents.ledger import Ledger
    from governed_agents.readiness import assess

    if args.days < 1:
        raise UsageError(f"--days must be at least 1, not {args.days}")
    result = assess(Ledger.open(), args.workflow, window_days=args.days)
    if args.json:
        emit_json({"ok": True, "assessment": result.to_dict()})
    else:
        out(render(result.to_dict()))
    return EXIT_OK


def render(a: dict) -> str:
    lines = [f"{a['workflow']} (envelope {a['envelope']['version']}), last {a['window_days']} days",
             f"suggested stance: {a['stance']} — {a['why']}", ""]
    for d in a["dimensions"]:
        lines.append(f"{d['name']:17} {d['score']:>3}/100")
        for key, value in d["evidence"].items():
            lines.append(f"    {key}: {value}")
        for flag in d["red_flags"]:
            lines.append(f"    RED FLAG: {flag}")
    return "\n".join(lines)
