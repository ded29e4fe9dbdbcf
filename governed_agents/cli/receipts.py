"""``governed-agents receipts list|show|export|verify|public-key``: signed receipts.

``verify`` and ``public-key`` are for auditors: ``verify`` needs only an
exported receipt file and the public key file; it never opens the ledger or
reads the private key.
"""

from __future__ import annotations

import argparse
import sys

from governed_agents.cli._common import EXIT_OK, EXIT_REFUSED, add_json_flag, emit_json, err, out


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser(
        "receipts",
        help="list, show, export and verify signed receipts",
        description="Signed receipts of governed writes and runs. An exported receipt verifies offline "
        "with only the public key: `governed-agents receipts verify FILE --public-key signing.pub`.",
    )
    group.set_defaults(group_parser=group)
    sub = group.add_subparsers(dest="receipts_command", metavar="SUBCOMMAND")

    lst = sub.add_parser("list", help="list receipts, newest first", description="List receipts, newest first.")
    lst.add_argument("--workflow", default=None, metavar="W", help="only this workflow")
    lst.add_argument("--trace", default=None, metavar="T", help="only this trace id")
    lst.add_argument("--run", default=None, metavar="R", help="only this Dagster run id")
    lst.add_argument("--limit", type=int, default=50, metavar="N", help="at most N receipts (default 50)")
    add_json_flag(lst)
    lst.set_defaults(handler=_list)

    show = sub.add_parser(
        "show",
        help="show one receipt and check its signature",
        description="Show a receipt (Markdown by default) and check its signature against this "
        "installation's public key. Exit 1 if the signature does not verify.",
    )
    show.add_argument("receipt_id", metavar="ID", help="receipt id (or a unique prefix of at least 6 characters)")
    fmt = show.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="Markdown (the default)")
    add_json_flag(fmt)
    show.set_defaults(handler=_show)

    export = sub.add_parser(
        "export",
        help="write the exact signed file of a receipt",
        description="Write the receipt's canonical signed form (the bytes `receipts verify` checks).",
    )
    export.add_argument("receipt_id", metavar="ID", help="receipt id (or a unique prefix)")
    export.add_argument("--output", "-o", default=None, metavar="FILE", help="write to FILE (default: stdout)")
    export.set_defaults(handler=_export)

    verify = sub.add_parser(
        "verify",
        help="verify an exported receipt file offline",
        description="Verify an exported receipt: exact canonical form, key id and Ed25519 signature. "
        "Needs only the file and the public key (no ledger, no private key). Exit 0 if it verifies, "
        "1 with the reason if not.",
    )
    verify.add_argument("file", metavar="FILE", help="the exported receipt")
    verify.add_argument(
        "--public-key",
        default=None,
        metavar="PEM_FILE",
        help="the issuer's public key (default: $GOVERNED_AGENTS_HOME/keys/signing.pub)",
    )
    add_json_flag(verify)
    verify.set_defaults(handler=_verify)

    pub = sub.add_parser(
        "public-key",
        help="print the public key receipts are verified with",
        description="Print this installation's public key (PEM) for auditors.",
    )
    add_json_flag(pub)
    pub.set_defaults(handler=_public_key)


def _list(args: argparse.Namespace) -> int:
    from governed_agents.errors import UsageError
    from governed_agents.ledger.db import Ledger
    from governed_agents.receipts.render import summary_line
    from governed_agents.receipts.store import list_receipts

    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    found = list_receipts(
        Ledger.open(), workflow=args.workflow, trace_id=args.trace, run_id=args.run, limit=args.limit
    )
    if args.json:
        emit_json(
            {
                "ok": True,
                "receipts": [
                    {
                        "receipt_id": s.receipt.receipt_id,
                        "kind": s.receipt.kind,
                        "workflow": s.receipt.workflow,
                        "trace_id": s.receipt.trace_id,
                        "run_id": s.receipt.run_id,
                        "approval_request_id": s.receipt.approval_request_id,
                        "finished_at": s.receipt.finished_at,
                        "key_id": s.key_id,
                        "summary": summary_line(s.receipt),
                    }
                    for s in found
                ],
            }
        )
        return EXIT_OK
    if not found:
        out("no receipts")
        return EXIT_OK
    for s in found:
        r = s.receipt
        out(f"{r.receipt_id}  {r.kind:15} {summary_line(r)}")
    return EXIT_OK


def _check(signed):
    from governed_agents.errors import ReceiptInvalid
    from governed_agents.identity.keys import public_key
    from governed_agents.receipts.signing import verify_signed

    try:
        verify_signed(signed, public_key())
        return True, None
    except ReceiptInvalid as exc:
        return False, exc.message


def _show(args: argparse.Namespace) -> int:
    from governed_agents.ledger.db import Ledger
    from governed_agents.receipts.render import render_markdown
    from governed_agents.receipts.store import get_receipt

    signed = get_receipt(Ledger.open(), args.receipt_id)
    verified, reason = _check(signed)
    if args.json:
        emit_json({"ok": verified, **signed.export_dict(), "verified": verified, "verify_error": reason})
    else:
        sys.stdout.write(render_markdown(signed, verified=verified, verify_error=reason))
    if not verified:
        err(f"governed-agents: receipt {signed.receipt.receipt_id} does NOT verify: {reason}")
        return EXIT_REFUSED
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from governed_agents.ledger.db import Ledger
    from governed_agents.receipts.signing import export_bytes
    from governed_agents.receipts.store import get_receipt

    signed = get_receipt(Ledger.open(), args.receipt_id)
    data = export_bytes(signed)
    if args.output:
        Path(args.output).write_bytes(data)
        err(f"wrote receipt {signed.receipt.receipt_id} to {args.output}")
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from governed_agents.errors import ReceiptInvalid
    from governed_agents.identity.keys import key_id, load_public_key_file, public_key_path
    from governed_agents.receipts.signing import verify_receipt_bytes

    key_file = Path(args.public_key) if args.public_key else public_key_path()
    key = load_public_key_file(key_file)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise ReceiptInvalid(f"cannot read receipt file {args.file}: {exc.strerror or exc}") from None
    try:
        receipt = verify_receipt_bytes(data, key)
    except ReceiptInvalid as exc:
        exc.message = f"receipt file {args.file} does not verify: {exc.message}"
        raise
    kid = key_id(key)
    if args.json:
        emit_json(
            {
                "ok": True,
                "verified": True,
                "receipt_id": receipt.receipt_id,
                "kind": receipt.kind,
                "workflow": receipt.workflow,
                "key_id": kid,
                "digest": receipt.digest(),
                "audit_anchor": receipt.audit_anchor.model_dump(),
            }
        )
    else:
        out(f"receipt {receipt.receipt_id} verified (key {kid})")
    return EXIT_OK


def _public_key(args: argparse.Namespace) -> int:
    from governed_agents.identity.keys import key_id, public_key, public_key_pem

    key = public_key()
    if args.json:
        emit_json({"ok": True, "key_id": key_id(key), "public_key_pem": public_key_pem(key)})
    else:
        sys.stdout.write(public_key_pem(key))
    return EXIT_OK
