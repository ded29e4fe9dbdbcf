"""``governed-agents token issue|inspect``: scoped, short-lived tokens."""

from __future__ import annotations

import argparse
import re

from governed_agents.cli._common import EXIT_OK, add_json_flag, emit_json, out

_TTL_PART = re.compile(r"(\d+)([hms])")


def parse_ttl(text: str):
    """``15m``, ``2h``, ``90s``, ``1h30m`` → timedelta; ``UsageError`` otherwise."""
    import datetime as dt

    from governed_agents.errors import UsageError

    value = text.strip().lower()
    parts = _TTL_PART.findall(value)
    if not value or "".join(n + u for n, u in parts) != value or len({u for _, u in parts}) != len(parts):
        raise UsageError(
            f"--ttl {text!r} is not a duration", hint="use a number followed by h, m or s: 15m, 2h, 1h30m"
        )
    seconds = sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    if seconds <= 0:
        raise UsageError(f"--ttl {text!r} must be longer than zero")
    return dt.timedelta(seconds=seconds)


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser(
        "token",
        help="issue and inspect scoped, short-lived tokens",
        description="Issue and inspect scoped tokens. A token grants named actions on named workflows "
        "in one environment for at most 12 hours; the principal's current roles are checked on every use.",
    )
    group.set_defaults(group_parser=group)
    sub = group.add_subparsers(dest="token_command", metavar="SUBCOMMAND")

    issue = sub.add_parser(
        "issue",
        help="issue a token for a principal",
        description="Print a signed token granting ACTIONs on WORKFLOWs. Refused (exit 1) for an unknown "
        "principal or action, or an action the principal's roles do not allow.",
    )
    issue.add_argument("--principal", required=True, metavar="ID", help="principal id from policies/principals.yaml")
    issue.add_argument(
        "--action", action="append", required=True, metavar="A", help="action to grant (repeatable), e.g. approval.approve"
    )
    issue.add_argument(
        "--workflow",
        action="append",
        metavar="W",
        help="workflow the token is scoped to (repeatable; '*' for any; default: '*')",
    )
    issue.add_argument("--ttl", default="15m", help="lifetime, e.g. 15m, 2h (max 12h; default 15m)")
    issue.add_argument("--env", default=None, help="environment (default: $GOVERNED_AGENTS_ENV or dev)")
    add_json_flag(issue)
    issue.set_defaults(handler=_issue)

    inspect = sub.add_parser(
        "inspect",
        help="verify a token and show its claims",
        description="Verify TOKEN (signature, environment, time window, principal) and show what it grants; "
        "with --action (and --workflow) also check that one use. Exit 1 with the reason if invalid.",
    )
    inspect.add_argument("token", nargs="?", metavar="TOKEN", help="the token (default: $GOVERNED_AGENTS_TOKEN)")
    inspect.add_argument("--action", default=None, help="also verify the token for this action")
    inspect.add_argument("--workflow", default=None, help="with --action: the workflow of that use")
    inspect.add_argument("--env", default=None, help="environment (default: $GOVERNED_AGENTS_ENV or dev)")
    add_json_flag(inspect)
    inspect.set_defaults(handler=_inspect)


def _issue(args: argparse.Namespace) -> int:
    from governed_agents import config
    from governed_agents.identity.tokens import inspect_token, issue_token

    ttl = parse_ttl(args.ttl)
    env = args.env or config.environment()
    workflows = args.workflow or ["*"]
    token = issue_token(args.principal, actions=args.action, workflows=workflows, ttl=ttl, environment=env)
    claims = inspect_token(token, environment=env)
    if args.json:
        emit_json(
            {
                "ok": True,
                "token": token,
                "principal": claims.principal.id,
                "actions": list(claims.actions),
                "workflows": list(claims.workflows),
                "env": claims.environment,
                "expires_at": claims.expires_at,
                "token_id": claims.token_id,
            }
        )
    else:
        out(token)
    return EXIT_OK


def _inspect(args: argparse.Namespace) -> int:
    from governed_agents.identity.tokens import inspect_token, token_from_env_or_arg, verify_token

    token = token_from_env_or_arg(args.token)
    if args.action:
        claims = verify_token(token, action=args.action, workflow=args.workflow, environment=args.env)
    else:
        claims = inspect_token(token, environment=args.env)
    if args.json:
        emit_json({"ok": True, "valid": True, **claims.to_json()})
        return EXIT_OK
    p = claims.principal
    out(f"valid token {claims.token_id}")
    out(f"  principal:  {p.id} ({p.name}), tenant {p.tenant or '-'}")
    out(f"  roles now:  {', '.join(sorted(p.roles)) or '(none)'}")
    for action in claims.actions:
        note = "" if p.may(action) else "  (no longer allowed by the principal's roles)"
        out(f"  action:     {action}{note}")
    out(f"  workflows:  {', '.join(claims.workflows) or '(none)'}")
    out(f"  env:        {claims.environment}")
    out(f"  valid:      {_iso(claims.not_before)} .. {_iso(claims.expires_at)}")
    if args.action:
        out(f"  checked:    {args.action}" + (f" on {args.workflow}" if args.workflow else "") + ": allowed")
    return EXIT_OK


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")
