"""``governed-agents audit``: verify the hash-chained audit trail and browse it.

Top-level imports stay light (argparse only); the ledger is imported inside the
handlers.
"""

from __future__ import annotations

import argparse
import sys

from governed_agents.cli._common import EXIT_OK, add_json_flag, emit_json, err, out

# Show progress when the chain is at least this long (or always on a terminal).
_PROGRESS_MIN_EVENTS = 100_000


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser(
        "audit",
        help="verify and browse the hash-chained audit trail",
        description="Verify and browse the hash-chained audit trail in the governance ledger.",
    )
    group.set_defaults(group_parser=group)
    sub = group.add_subparsers(dest="audit_command", metavar="SUBCOMMAND")

    verify = sub.add_parser(
        "verify",
        help="check the whole chain: every hash, every link, the head",
        description=(
            "Walk every audit event in order and check that seq runs 1, 2, 3, … without gaps, "
            "that each event links to the previous one's hash, that each hash matches the "
            "event's content, and that the last event is the recorded chain head. "
            "Exit 0 when the chain verifies, 1 naming the first bad event otherwise."
        ),
    )
    add_json_flag(verify)
    verify.set_defaults(handler=_verify)

    listing = sub.add_parser(
        "list",
        help="list audit events (oldest first)",
        description="List audit events in chain order, oldest first, optionally filtered.",
    )
    listing.add_argument("--trace", metavar="ID", help="only events of this trace id")
    listing.add_argument("--kind", metavar="K", help="only events of this kind (e.g. gate.decision)")
    listing.add_argument("--limit", metavar="N", type=_positive_int, default=50, help="at most N events (default 50)")
    listing.add_argument("--after", metavar="SEQ", type=_non_negative_int, help="only events after this seq (to page)")
    add_json_flag(listing)
    listing.set_defaults(handler=_list)


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _verify(args: argparse.Namespace) -> int:
    from governed_agents.errors import AuditChainBroken
    from governed_agents.ledger import Ledger

    ledger = Ledger.open()
    show_progress = sys.stderr.isatty()

    def progress(checked: int, total: int) -> None:
        if show_progress or total >= _PROGRESS_MIN_EVENTS:
            err(f"  verified {checked:,} of {total:,} events…")

    result = ledger.verify(progress=progress)
    if not result.ok:
        raise AuditChainBroken(
            f"audit chain BROKEN: {result.problem}",
            hint=(
                "the ledger was changed outside governed-agents; do not trust events from "
                f"{result.first_bad_seq if result.first_bad_seq is not None else 'the head'} on; "
                "compare with the audit hashes in signed receipts and restore the ledger from a backup"
            ),
            details=result.to_json(),
        )
    if args.json:
        emit_json(result.to_json())
    else:
        head = (result.head_hash or "")[:12]
        out(f"audit chain OK: {result.events_checked} events, head {head}")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from governed_agents.ledger import Ledger

    ledger = Ledger.open()
    events = ledger.events(trace_id=args.trace, kind=args.kind, limit=args.limit, after_seq=args.after)
    if args.json:
        emit_json({"ok": True, "events": [event.to_json() for event in events]})
        return EXIT_OK
    if not events:
        out("no audit events" + (" match" if (args.trace or args.kind or args.after) else ""))
        return EXIT_OK
    for event in events:
        who = event.actor or "-"
        trace = event.trace_id or "-"
        stamp = event.ts.strftime("%Y-%m-%d %H:%M:%S")
        out(f"{event.seq:>7}  {stamp}Z  {event.kind:<28} {who:<20} trace {trace}  {event.hash[:12]}")
    if len(events) == args.limit:
        err(f"(first {args.limit}; next page: --after {events[-1].seq})")
    return EXIT_OK
