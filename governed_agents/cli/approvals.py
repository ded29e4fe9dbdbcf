"""``governed-agents approvals list|show|approve|reject``.

Identity comes from a token (``--token`` or ``GOVERNED_AGENTS_TOKEN``), never
from a name typed on the command line. Reading needs ``approval.read``;
deciding needs ``approval.approve`` or ``approval.reject`` for the request's
workflow.
"""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, add_json_flag, emit_json, out

TOKEN_HELP = "scoped token (default: $GOVERNED_AGENTS_TOKEN); make one with `governed-agents token issue`"


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "approvals",
        help="list, inspect, approve or reject gated writes",
        description="Approval requests for gated writes. Every command needs a scoped token.",
    )
    group.set_defaults(group_parser=group)
    cmds = group.add_subparsers(dest="approvals_command", metavar="SUBCOMMAND")

    p = cmds.add_parser("list", help="list approval requests (newest first)")
    p.add_argument("--status", choices=["pending", "approved", "rejected", "expired", "executed"],
                   help="only requests with this status (a pending request past expiry is 'expired')")
    p.add_argument("--workflow", help="only this workflow")
    p.add_argument("--batch", help="only this batch id")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--token", help=TOKEN_HELP)
    add_json_flag(p)
    p.set_defaults(handler=_list)

    p = cmds.add_parser("show", help="show one request with its preview (before → after)")
    p.add_argument("request_id")
    p.add_argument("--token", help=TOKEN_HELP)
    add_json_flag(p)
    p.set_defaults(handler=_show)

    for verb in ("approve", "reject"):
        p = cmds.add_parser(
            verb,
            help=f"{verb} one or more requests (all or nothing)",
            description=(
                f"{verb.capitalize()} approval requests as the principal your token names. "
                "Several ids, or --batch, are decided in one action: if any one is refused, none is "
                "decided. Refusals (expired, forged or out-of-scope token, missing role, own request, "
                "already decided, expired request, changed preview) exit 1 and change nothing."
            ),
        )
        p.add_argument("request_ids", nargs="*", metavar="REQUEST_ID")
        p.add_argument("--batch", help="decide every pending request of this batch")
        p.add_argument("--reason", required=(verb == "reject"),
                       help="why (required to reject; recorded in the audit log and receipts)")
        p.add_argument("--token", help=TOKEN_HELP)
        add_json_flag(p)
        p.set_defaults(handler=_decide, decision=verb)


def _token(args) -> str:
    from governed_agents.identity.tokens import token_from_env_or_arg

    return token_from_env_or_arg(args.token)


def _read_access(args, workflow: str | None = None):
    from governed_agents.identity.tokens import verify_token

    return verify_token(_token(args), action="approval.read", workflow=workflow)


def _list(args) -> int:
    from governed_agents.approvals import list_requests
    from governed_agents.ledger import Ledger

    claims = _read_access(args, args.workflow)
    requests = list_requests(Ledger.open(), status=args.status, workflow=args.workflow,
                             batch_id=args.batch, limit=args.limit)
    # A reader sees only the workflows the token is scoped to.
    requests = [r for r in requests if claims.covers_workflow(r.workflow)]
    if args.json:
        emit_json({"ok": True, "requests": [r.to_dict() for r in requests]})
        return EXIT_OK
    if not requests:
        out("no approval requests" + (f" with status {args.status}" if args.status else ""))
        return EXIT_OK
    out(f"{'id':36}  {'status':9}  {'workflow':18}  {'action':26}  {'requested by':12}  summary")
    for r in requests:
        out(f"{r.id:36}  {r.effective_status():9}  {r.workflow:18}  {r.action:26}  "
            f"{r.requested_by:12}  {_summary(r)}")
    return EXIT_OK


def _show(args) -> int:
    from governed_agents.approvals import get_request
    from governed_agents.ledger import Ledger

    claims = _read_access(args)
    request = get_request(Ledger.open(), args.request_id)
    if not claims.covers_workflow(request.workflow):
        _read_access(args, request.workflow)  # raises token_wrong_workflow with its hint
    if args.json:
        emit_json({"ok": True, "request": request.to_dict()})
        return EXIT_OK
    out(render_request(request))
    return EXIT_OK


def _decide(args) -> int:
    from governed_agents.approvals import decide_batch, list_requests
    from governed_agents.errors import UsageError
    from governed_agents.ledger import Ledger
    from governed_agents.workflows import executor_for

    ledger = Ledger.open()
    ids = list(args.request_ids)
    if args.batch:
        ids += [r.id for r in list_requests(ledger, batch_id=args.batch, status="pending", limit=10_000)]
    if not ids:
        raise UsageError(f"name the request ids to {args.decision}, or --batch BATCH_ID")

    executors: dict[str, object] = {}

    def rebuild(request):
        if request.workflow not in executors:
            executors[request.workflow] = executor_for(request.workflow, ledger)
        return executors[request.workflow].rebuild_preview(request)

    decided = decide_batch(ledger, ids, token=_token(args), decision=args.decision,
                           reason=args.reason, rebuild_preview=rebuild)
    if args.json:
        emit_json({"ok": True, "requests": [r.to_dict() for r in decided]})
        return EXIT_OK
    for r in decided:
        who = r.decisions[-1].approver if r.decisions else "?"
        extra = ""
        if r.status == "pending":
            extra = f" ({len(r.approvers)} of {r.min_approvals} approvals; waiting for another approver)"
        out(f"{r.id}: {args.decision}d by {who} → {r.status}{extra} | {_summary(r)}")
    return EXIT_OK


def _summary(request) -> str:
    changes = request.preview.get("changes") or []
    return "; ".join(changes)[:120] if changes else request.action


def render_request(request) -> str:
    """A person-readable view of a request and its preview."""
    lines = [
        f"Approval request {request.id}",
        f"  status:        {request.effective_status()}",
        f"  workflow:      {request.workflow} (envelope {request.envelope_version}, "
        f"{request.envelope_digest[:19]}…)",
        f"  action:        {request.action}",
        f"  requested by:  {request.requested_by}" + (f" (tenant {request.tenant})" if request.tenant else ""),
        f"  reason:        {request.reason or '-'}",
        f"  needs:         {request.min_approvals} approval(s) from {', '.join(request.required_roles)}",
        f"  expires:       {request.expires_at:%Y-%m-%d %H:%M:%S} UTC",
        f"  trace:         {request.trace_id or '-'}",
        f"  preview:       {request.preview_digest}",
    ]
    if request.batch_id:
        lines.append(f"  batch:         {request.batch_id}")
    lines.append("  changes:")
    for change in request.preview.get("changes") or ["(none listed)"]:
        lines.append(f"    - {change}")
    before, after = request.preview.get("before"), request.preview.get("after")
    if isinstance(after, dict):
        lines.append(f"  {'field':18} {'before':24} after")
        for key in after:
            old = (before or {}).get(key, "—") if isinstance(before, dict) else "—"
            lines.append(f"  {key:18} {str(old):24} {after[key]}")
    for d in request.decisions:
        lines.append(f"  {d.decision}d by {d.approver} at {d.decided_at:%Y-%m-%d %H:%M:%S} UTC"
                     + (f": {d.reason}" if d.reason else ""))
    return "\n".join(lines)
