"""``governed-agents kill-switch on|off|status``: stop every write, globally or per workflow."""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, add_json_flag, emit_json, out


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "kill-switch",
        help="stop (or resume) every write, globally or for one workflow",
        description=(
            "While the kill switch is on, no write executes (reads continue). The executor re-reads "
            "it immediately before every write. Turning it on or off needs a token with the "
            "killswitch.set action (Admin role) and is audited."
        ),
    )
    group.set_defaults(group_parser=group)
    cmds = group.add_subparsers(dest="kill_switch_command", metavar="SUBCOMMAND")
    for verb in ("on", "off"):
        p = cmds.add_parser(verb, help=f"turn the kill switch {verb}")
        p.add_argument("--workflow", help="only this workflow (default: global)")
        p.add_argument("--reason", help="why (recorded in the audit log)")
        p.add_argument("--token", help="scoped token (default: $GOVERNED_AGENTS_TOKEN)")
        add_json_flag(p)
        p.set_defaults(handler=_set, engaged=(verb == "on"))
    p = cmds.add_parser("status", help="show every scope's state")
    add_json_flag(p)
    p.set_defaults(handler=_status)


def _set(args) -> int:
    from governed_agents import kill_switch
    from governed_agents.identity.tokens import token_from_env_or_arg
    from governed_agents.ledger import Ledger

    result = kill_switch.set_state(Ledger.open(), engaged=args.engaged, token=token_from_env_or_arg(args.token),
                                   workflow=args.workflow, reason=args.reason)
    if args.json:
        emit_json({"ok": True, **result})
    else:
        out(f"kill switch {'ON' if args.engaged else 'off'} for {result['scope']} (by {result['changed_by']})")
    return EXIT_OK


def _status(args) -> int:
    from governed_agents import kill_switch
    from governed_agents.ledger import Ledger

    states = kill_switch.list_states(Ledger.open())
    if args.json:
        emit_json({"ok": True, "scopes": states})
        return EXIT_OK
    if not any(s["engaged"] for s in states):
        out("kill switch off everywhere")
    for s in states:
        out(f"{s['scope']:32} {'ON ' if s['engaged'] else 'off'}  by {s['changed_by']} at "
            f"{s['changed_at']:%Y-%m-%d %H:%M:%S} UTC" + (f": {s['reason']}" if s['reason'] else ""))
    return EXIT_OK
