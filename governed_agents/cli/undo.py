"""``governed-agents undo RECEIPT_ID``: propose (or carry out) the compensating write."""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, EXIT_REFUSED, add_json_flag, emit_json, err, out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "undo",
        help="propose the compensating write of an executed write (through approval)",
        description=(
            "Undo an executed write, named by its receipt id. The write's tool says how it is undone "
            "(a reversing journal entry, the previous bank account restored); that compensating write "
            "goes through the gate and, where the envelope gates writes, an approval request like any "
            "other write. First call: proposes it and prints the approval request. After approval "
            "(`governed-agents approvals approve REQUEST_ID`), call again to carry it out (the "
            "workflow's approval sensor does the same under the Dagster daemon). The reversal's receipt "
            "links to the original and a write.reversed audit event records the time to correct. "
            "Exit 1, with nothing written but one undo.refused audit event, when the write cannot be "
            "undone (not reversible, already reversed, an undo already waiting, not an executed write)."
        ),
    )
    p.add_argument("receipt_id", metavar="RECEIPT_ID", help="receipt of the executed write to undo")
    p.add_argument("--token", help="requester's token (approval.request for the receipt's workflow); "
                                   "default requester: alice (demo)")
    add_json_flag(p)
    p.set_defaults(handler=_undo)


def _undo(args) -> int:
    from governed_agents.errors import GovernanceError
    from governed_agents.ledger import Ledger
    from governed_agents.undo import UndoRefused, undo

    ledger = Ledger.open()
    requested_by = "alice"
    if args.token:
        from governed_agents.identity.tokens import verify_token
        from governed_agents.receipts.store import get_receipt

        workflow = get_receipt(ledger, args.receipt_id).receipt.workflow
        requested_by = verify_token(args.token, action="approval.request", workflow=workflow).principal.id
    try:
        result = undo(ledger, args.receipt_id, requested_by=requested_by)
    except UndoRefused as exc:
        if args.json:
            emit_json({"ok": False, "code": exc.code, "error": exc.message, "hint": exc.hint})
        else:
            err(f"refused ({exc.code}): {exc.message}")
            if exc.hint:
                err(f"  {exc.hint}")
        return EXIT_REFUSED
    except GovernanceError:
        raise  # main prints it and exits 1
    if args.json:
        emit_json({"ok": True, **result.to_dict()})
        return EXIT_OK
    if result.status == "proposed":
        out(f"proposed: {result.summary}")
        out(f"  approval request {result.approval_request_id} ({result.compensation_tool})")
        out(f"  approve: governed-agents approvals approve {result.approval_request_id} --reason '…'")
        out(f"  then:    governed-agents undo {result.original_receipt_id}   (or let the approval sensor run it)")
    else:
        out(f"reversed: {result.summary}")
        out(f"  reversal receipt {result.reversal_receipt_id} (original {result.original_receipt_id})")
        out(f"  time to correct: {result.seconds_to_correct} s")
    return EXIT_OK
