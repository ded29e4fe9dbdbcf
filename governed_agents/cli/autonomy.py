"""``governed-agents autonomy status|promote|demote WORKFLOW``: earned execution rights."""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, add_json_flag, emit_json, out

_LEVELS = ("suggest", "draft", "approve", "bounded")


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "autonomy",
        help="show, promote or demote a workflow's autonomy level (suggest → draft → approve → bounded)",
        description=(
            "Each workflow with an autonomy: section in its envelope has a level: suggest (no write runs), "
            "draft (writes are drafted for approval, never executed by the agent), approve (every write "
            "needs an approval), bounded (the envelope's own bounds apply). A level rises only when the "
            "recorded evidence meets the envelope's promotion criteria, and falls one step automatically "
            "after an incident (a reversed write, a monitor finding). Promote and demote need a token with "
            "the autonomy.set action (Admin role) and are audited. See docs/autonomy.md."
        ),
    )
    group.set_defaults(group_parser=group)
    cmds = group.add_subparsers(dest="autonomy_command", metavar="SUBCOMMAND")
    p = cmds.add_parser("status", help="the level in force, its history and the evidence for the next promotion")
    p.add_argument("workflow", metavar="WORKFLOW")
    add_json_flag(p)
    p.set_defaults(handler=_status)
    for verb, text in (("promote", "raise the level (one step, or to --to) if the evidence allows"),
                       ("demote", "lower the level (one step, or to --to)")):
        p = cmds.add_parser(verb, help=text, description=text + "; needs a token with autonomy.set.")
        p.add_argument("workflow", metavar="WORKFLOW")
        p.add_argument("--to", choices=_LEVELS, help="target level (default: one step)")
        p.add_argument("--reason", help="why (recorded in the audit log)")
        p.add_argument("--token", help="scoped token (default: $GOVERNED_AGENTS_TOKEN)")
        add_json_flag(p)
        p.set_defaults(handler=_promote if verb == "promote" else _demote)


def _status(args) -> int:
    from governed_agents import autonomy
    from governed_agents.envelope import find_envelope
    from governed_agents.ledger import Ledger

    ledger, envelope = Ledger.open(), find_envelope(args.workflow)
    state = autonomy.record_incident_demotions(ledger, envelope)
    found = autonomy.evidence(ledger, envelope, state=state)
    settings = envelope.envelope.autonomy
    if args.json:
        emit_json({"ok": True, "workflow": args.workflow, "state": state.to_dict(), "evidence": found.to_dict(),
                   "max_level": settings.max_level if settings else None})
        return EXIT_OK
    if not state.managed:
        out(f"{args.workflow}: autonomy not managed (no autonomy: section in its envelope, never demoted); "
            "the envelope's own rules apply")
        return EXIT_OK
    out(f"{args.workflow}: level {state.level}" + (f" (max {settings.max_level})" if settings else ""))
    if state.changed_at is not None:
        out(f"  set by {state.changed_by} at {state.changed_at:%Y-%m-%d %H:%M:%S} UTC"
            + (f": {state.reason}" if state.reason else ""))
    else:
        out("  initial level from the envelope (never changed)")
    out(f"evidence since {found.since:%Y-%m-%d %H:%M:%S} UTC (last demotion):" if found.since
        else "evidence (no demotion yet):")
    out(f"  approved runs     {found.approved_runs}")
    out(f"  executed writes   {found.executed_writes}")
    out(f"  reversals         {found.reversals} (correction rate {found.correction_rate:.1%})")
    out(f"  eval              {found.eval_detail}")
    out(f"  monitor findings  {found.open_findings}")
    if settings is not None:
        p = settings.promotion
        out(f"criteria: ≥{p.min_approved_runs} approved runs, correction rate ≤{p.max_correction_rate:.1%}"
            + (", eval passing" if p.require_eval_pass else ""))
        if found.unmet:
            out("next promotion refused while:")
            for line in found.unmet:
                out(f"  - {line}")
        else:
            out("criteria met: a promotion would be accepted")
    return EXIT_OK


def _change(args, verb: str) -> int:
    from governed_agents import autonomy
    from governed_agents.envelope import find_envelope
    from governed_agents.identity.tokens import token_from_env_or_arg
    from governed_agents.ledger import Ledger

    ledger, envelope = Ledger.open(), find_envelope(args.workflow)
    action = autonomy.promote if verb == "promote" else autonomy.demote
    # A refusal (AutonomyRefused, TokenError) is a GovernanceError: main prints it, exit code 1.
    result = action(ledger, envelope, token=token_from_env_or_arg(args.token), to=args.to, reason=args.reason)
    if args.json:
        emit_json({"ok": True, **result})
    else:
        out(f"{args.workflow}: {result['from']} → {result['to']} (by {result['by']})")
    return EXIT_OK


def _promote(args) -> int:
    return _change(args, "promote")


def _demote(args) -> int:
    return _change(args, "demote")
