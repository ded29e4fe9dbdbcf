"""``governed-agents trace TRACE_ID``: the whole story of one governed task, in order.

Reads the ledger (and the Dagster instance, for the runs tagged with the trace).
No token is needed, like ``audit`` and ``receipts``.
"""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, add_json_flag, emit_json, out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trace",
        help="the whole story of one trace: inputs, model calls, gate decisions, checks, approvals, writes, receipt",
        description=(
            "Print everything recorded under one trace id, in order: the task's inputs (redacted as the envelope "
            "says), model calls with tier, model, tokens and cost, each gate decision with its reasons, the checks "
            "of its runs, approvals, writes with before -> after, the receipts, and the Dagster runs (the proposal "
            "run and the posting run tagged governed_agents/trace_id). Trace ids are in receipts "
            "(`receipts list --json`), approval requests and Dagster run tags. Exit 1 when nothing carries the id."
        ),
    )
    p.add_argument("trace_id", metavar="TRACE_ID", help="the trace id (32 hex digits)")
    p.add_argument("--no-dagster", action="store_true",
                   help="do not look up Dagster runs (faster; the ledger alone)")
    add_json_flag(p)
    p.set_defaults(handler=_trace)


def _instance(skip: bool):
    if skip:
        return None
    from governed_agents.dagster.instance import instance

    return instance()


def _trace(args: argparse.Namespace) -> int:
    from governed_agents.forensics.trace import build_trace, render_trace
    from governed_agents.ledger import Ledger

    story = build_trace(Ledger.open(), args.trace_id, instance=_instance(args.no_dagster))
    if args.json:
        emit_json({"ok": True, "trace": story})
    else:
        out(render_trace(story))
    return EXIT_OK
