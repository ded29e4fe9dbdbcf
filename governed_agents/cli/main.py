"""Entry point: parses the command line and dispatches to one command module.

Each module in ``COMMAND_MODULES`` exposes ``register(subparsers)`` and sets
``handler`` on its parsers. Modules are imported here, so they must keep their
own top-level imports light (argparse and the standard library only).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from governed_agents.cli._common import EXIT_REFUSED, EXIT_USAGE, emit_json, err

COMMAND_MODULES = [
    "governed_agents.cli.demo",
    "governed_agents.cli.policy",
    "governed_agents.cli.approvals",
    "governed_agents.cli.receipts",
    "governed_agents.cli.audit",
    "governed_agents.cli.token",
    "governed_agents.cli.kill_switch",
    "governed_agents.cli.run",
    "governed_agents.cli.erp",
    "governed_agents.cli.spend",
    "governed_agents.cli.injection",
    "governed_agents.cli.admin",
    # Command groups owned by later work; a module not built yet is skipped
    # (see build_parser), a module that fails to import is an error.
    "governed_agents.cli.transcripts",
    "governed_agents.cli.eval",
    "governed_agents.cli.monitors",
    "governed_agents.cli.autonomy",
    "governed_agents.cli.undo",
    "governed_agents.cli.metrics",
    "governed_agents.cli.trace",
    "governed_agents.cli.replay",
    "governed_agents.cli.assess",
]

DESCRIPTION = """\
governed-agents: the control plane for back-office AI agents.

Every tool call passes one gate checked against a versioned execution envelope;
every write is previewed, approved by a scoped token, executed once and receipted;
every decision lands in a hash-chained audit log.

State lives in $GOVERNED_AGENTS_HOME (default ./.governed); the ledger database is
$GOVERNED_AGENTS_DB_URL (default SQLite in the home).
Exit codes: 0 success, 1 refusal or failed check, 2 bad usage."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="governed-agents",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from governed_agents import __version__

    parser.add_argument("--version", action="version", version=f"governed-agents {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # a command group not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from governed_agents.observability.logging import configure_from_env

    configure_from_env()  # JSON log lines on stderr when GOVERNED_AGENTS_LOG_FORMAT=json
    handler = getattr(args, "handler", None)
    if handler is None:
        # A group without a subcommand: show that group's help.
        (getattr(args, "group_parser", None) or parser).print_help(sys.stderr)
        return EXIT_USAGE
    from governed_agents.errors import GovernanceError

    try:
        return int(handler(args) or 0)
    except GovernanceError as exc:
        if getattr(args, "json", False):
            emit_json({"ok": False, **exc.to_json()})
        err(f"governed-agents: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        err("governed-agents: interrupted")
        return EXIT_REFUSED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
