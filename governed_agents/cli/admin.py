"""``governed-agents admin serve``: the admin panel (approvals, receipts, spend, policies, controls)."""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, err


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "admin",
        help="the admin panel for approvers, auditors and admins",
        description="Server-rendered admin panel. Sign in with a password (policies/admin_passwords.yaml) "
                    "or a scoped token; every action is checked against your current roles and audited.",
    )
    group.set_defaults(group_parser=group)
    cmds = group.add_subparsers(dest="admin_command", metavar="SUBCOMMAND")
    p = cmds.add_parser("serve", help="serve the admin panel (127.0.0.1:8765 by default)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; anything else exposes the panel to the network)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--session-minutes", type=float, default=30.0, help="session lifetime (default 30)")
    p.add_argument("--dagster-url", help="base URL of the Dagster UI, to link receipts to their runs")
    p.add_argument("--secure-cookies", action="store_true",
                   help="mark cookies Secure (set when the panel is served over HTTPS behind a proxy)")
    p.set_defaults(handler=_serve)


def _serve(args) -> int:
    import datetime as dt

    import uvicorn

    from governed_agents.admin.app import create_app

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        err(f"governed-agents: warning: binding {args.host}; the panel is reachable beyond this machine")
    app = create_app(session_ttl=dt.timedelta(minutes=args.session_minutes), dagster_url=args.dagster_url,
                     secure_cookies=args.secure_cookies)
    err(f"governed-agents admin panel on http://{args.host}:{args.port}/ (Ctrl-C to stop)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return EXIT_OK
