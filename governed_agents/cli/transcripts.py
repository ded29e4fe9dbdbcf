"""``governed-agents transcripts list|verify|purge``: model-call transcripts and their retention.

Top-level imports stay light (argparse only); the ledger is imported inside the handlers.
"""

from __future__ import annotations

import argparse

from governed_agents.cli._common import EXIT_OK, EXIT_REFUSED, add_json_flag, emit_json, err, out


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser(
        "transcripts",
        help="model-call transcripts: list, verify against the audit chain, purge past retention",
        description=(
            "Transcripts of model calls, stored by the model gateway (redacted when the envelope's "
            "logging.redact_pii is on) for logging.store_transcripts_days days. The audit chain holds "
            "only each transcript's digest, so purging them leaves the chain and receipts verifiable."
        ),
    )
    group.set_defaults(group_parser=group)
    sub = group.add_subparsers(dest="transcripts_command", metavar="SUBCOMMAND")

    purge = sub.add_parser(
        "purge",
        help="delete transcripts older than their workflow's retention",
        description=(
            "Delete, per workflow, the transcripts created more than logging.store_transcripts_days days "
            "ago (the workflow's current envelope; 0 deletes them all). A workflow whose envelope cannot "
            "be loaded keeps each transcript's recorded expiry. One transaction: the deletions and one "
            "transcripts.purged audit event per workflow (count, cutoff, retention) commit together. "
            "The Dagster schedule transcript_retention runs the same purge."
        ),
    )
    purge.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")
    purge.add_argument("--workflow", metavar="W", help="only this workflow's transcripts")
    add_json_flag(purge)
    purge.set_defaults(handler=_purge)

    listing = sub.add_parser(
        "list",
        help="list stored transcripts (newest first)",
        description="List stored transcripts, newest first; --show prints their (redacted) content.",
    )
    listing.add_argument("--workflow", metavar="W", help="only this workflow's transcripts")
    listing.add_argument("--trace", metavar="ID", help="only transcripts of this trace id")
    listing.add_argument("--limit", metavar="N", type=_positive_int, default=50, help="at most N (default 50)")
    listing.add_argument("--show", action="store_true", help="print each transcript's request and response")
    add_json_flag(listing)
    listing.set_defaults(handler=_list)

    verify = sub.add_parser(
        "verify",
        help="check each stored transcript against the digest its model.call audit event anchors",
        description=(
            "For every stored transcript, find the model.call audit event that names it and check that "
            "the transcript's content still hashes to the digest anchored there. Exit 0 when all match, "
            "1 naming the transcripts that do not."
        ),
    )
    add_json_flag(verify)
    verify.set_defaults(handler=_verify)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _purge(args: argparse.Namespace) -> int:
    from governed_agents.ledger import Ledger
    from governed_agents.transcripts.retention import purge

    result = purge(Ledger.open(), dry_run=args.dry_run, workflow=args.workflow)
    if args.json:
        emit_json({"ok": True, **result.to_dict()})
        return EXIT_OK
    verb = "would delete" if result.dry_run else "deleted"
    if not result.workflows:
        out("no transcripts stored" + (f" for {args.workflow}" if args.workflow else ""))
        return EXIT_OK
    for w in result.workflows:
        rule = (f"retention {w.retention_days} d (cutoff {w.cutoff:%Y-%m-%d %H:%M:%S}Z)"
                if w.retention_days is not None else "recorded expiry")
        anchor = f", audit #{w.audit_seq}" if w.audit_seq is not None else ""
        out(f"{w.workflow}: {verb} {w.deleted}, kept {w.kept} — {rule}{anchor}")
        if w.note:
            err(f"  note: {w.note}")
    out(f"total: {verb} {result.deleted}" + (" (dry run: nothing changed)" if result.dry_run else ""))
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from governed_agents.ledger import Ledger
    from governed_agents.transcripts.store import list_transcripts

    rows = list_transcripts(Ledger.open(), workflow=args.workflow, trace_id=args.trace, limit=args.limit)
    if args.json:
        emit_json({"ok": True, "transcripts": rows})
        return EXIT_OK
    if not rows:
        out("no transcripts stored")
        return EXIT_OK
    for row in rows:
        out(f"{row['id']}  {row['created_at']:%Y-%m-%d %H:%M:%S}Z  {row['workflow']:<20} {row['tier'] or '-':<9} "
            f"{row['model'] or '-':<28} expires {row['expires_at']:%Y-%m-%d}  "
            f"{'redacted' if row['redacted'] else 'NOT redacted'}  trace {row['trace_id'] or '-'}")
        if args.show:
            out(f"  request:  {row['request']}")
            out(f"  response: {row['response']}")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from governed_agents.ledger import Ledger
    from governed_agents.transcripts.store import verify_transcripts

    report = verify_transcripts(Ledger.open())
    if args.json:
        emit_json(report)
    elif report["ok"]:
        out(f"transcripts OK: {report['checked']} checked against their audit anchors")
    else:
        for problem in report["problems"]:
            err(f"transcript {problem['transcript_id']}: {problem['problem']}")
        err(f"transcripts FAILED: {len(report['problems'])} of {report['checked']}")
    return EXIT_OK if report["ok"] else EXIT_REFUSED
