"""``governed-agents demo``: run the governed write loop on embedded defaults."""

from __future__ import annotations

import argparse
import sys

from governed_agents.cli._common import EXIT_OK, EXIT_REFUSED, add_json_flag, emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="run the governed write loop end to end (embedded SQLite, no keys, no network)",
        description=(
            "Runs an agent task through the gate on the embedded defaults: reads, refusals, a write "
            "that needs approval with its preview, a refused self-approval, an approval by the demo "
            "approver with a scoped token (the demo says so when it does this), the write executed "
            "once, a signed receipt verified offline and `audit verify`. State goes to "
            "$GOVERNED_AGENTS_HOME (default ./.governed)."
        ),
    )
    add_json_flag(p)
    p.set_defaults(handler=_demo)


def _demo(args) -> int:
    from governed_agents.demo import run_demo

    # With --json, progress goes to stderr and the result alone to stdout.
    say = (lambda s: sys.stderr.write(s + "\n")) if args.json else (lambda s: sys.stdout.write(s + "\n"))
    result = run_demo(say=say)
    if args.json:
        emit_json({"ok": result.audit_ok, **result.to_dict()})
    return EXIT_OK if result.audit_ok else EXIT_REFUSED
