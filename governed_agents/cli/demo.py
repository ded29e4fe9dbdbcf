"""``governed-agents demo``: run the governed write loop on embedded defaults."""

from __future__ import annotations

import argparse
import sys

from governed_agents.cli._common import EXIT_OK, EXIT_REFUSED, add_json_flag, emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run invoice reconciliation end to end through Dagster (embedded SQLite, no keys, no network)",
        description=(
            "Generates demo invoices, runs the reconciliation through Dagster, prints the preview, "
            "approves the batch as the demo approver with a scoped token (and says so), starts the "
            "real dagster-daemon so the approval sensor launches the posting runs, then prints the "
            "receipts, `audit verify` and the command that opens the Dagster UI on the same "
            "instance. With --core: the governed write loop alone, without Dagster. State goes "
            "to $GOVERNED_AGENTS_HOME (default ./.governed)."
        ),
    )
    p.add_argument("--core", action="store_true",
                   help="only the governed write loop, without Dagster (a few seconds)")
    add_json_flag(p)
    p.set_defaults(handler=_demo)


def _demo(args) -> int:
    from governed_agents.demo import run_core_demo, run_demo

    # With --json, progress goes to stderr and the result alone to stdout.
    def say(text: str) -> None:
        stream = sys.stderr if args.json else sys.stdout
        stream.write(text + "\n")
        stream.flush()

    result = (run_core_demo if args.core else run_demo)(say=say)
    if args.json:
        emit_json({"ok": result.audit_ok, **result.to_dict()})
    return EXIT_OK if result.audit_ok else EXIT_REFUSED
