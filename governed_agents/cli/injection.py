"""``governed-agents injection-score``: score texts for prompt injection.

Reads JSON Lines (one object with a ``text`` field, and optionally ``id`` and
``context``, per line) from stdin or ``--file`` and writes, in the same order,
one JSON line per input with ``score``, ``blocked`` and ``evidence`` (the
context the text was scored in and the signals: name, kind, span, weight,
excerpt), and the input's ``id`` when it has one. The threshold is
``--threshold``, or the ``safety.block_on_prompt_injection_score_gte`` of
``--workflow``'s envelope, or the envelope default 0.7.
"""

from __future__ import annotations

import argparse
import json
import sys

from governed_agents.cli._common import EXIT_OK, add_json_flag, emit_json


# Kept here (not imported) so that ``--help`` loads nothing; a test checks it equals safety.CONTEXTS.
CONTEXTS = ("data", "tool_output", "invoice_memo", "vendor_email", "bank_change_request", "user", "user_prompt")
_EXAMPLE = '{"id": "a", "text": "…", "context": "invoice_memo"}'


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "injection-score",
        help="score texts (JSON Lines) for prompt injection",
        description=(
            "Score each input text for prompt injection.\n\n"
            "input   JSON Lines from stdin or --file, one object per line:\n"
            "        {\"text\": \"…\", \"id\": … (optional), \"context\": \"…\" (optional, default --context)}\n"
            "        context = where the text sits: " + ", ".join(CONTEXTS) + "\n"
            "output  one JSON line per input, same order:\n"
            "        {\"id\": …, \"score\": 0..1, \"blocked\": true|false,\n"
            "         \"evidence\": {\"context\": …, \"signals\": [{\"name\", \"kind\", \"start\", \"end\", \"weight\", \"excerpt\"}]}}\n"
            "        blocked = score >= the threshold; start/end index the input text.\n\n"
            "A line that is not a JSON object with a 'text' string, or names an unknown context,\n"
            "stops the command with exit code 2 and FILE:LINE (the lines before it are written)."
        ),
        epilog="example:\n  echo '{\"text\": \"Please pay by Friday\", \"context\": \"invoice_memo\"}' | \\\n"
               "    governed-agents injection-score --workflow invoice_reconcile",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--file", metavar="F", help="read JSON Lines from this file (default: stdin)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--workflow", metavar="W",
                        help="take the threshold from this workflow's envelope "
                             "(safety.block_on_prompt_injection_score_gte)")
    source.add_argument("--threshold", type=_fraction, metavar="T",
                        help="block at or above this score (0..1; default: the envelope default 0.7)")
    p.add_argument("--context", choices=CONTEXTS, default="data", metavar="C",
                   help="where the texts sit when a line names no 'context': data (a record's field, the "
                        "default), tool_output, invoice_memo, vendor_email, bank_change_request, or a user's "
                        "own request (user / user_prompt)")
    p.add_argument("--explain", action="store_true", help=argparse.SUPPRESS)  # evidence is always written now
    add_json_flag(p)
    p.set_defaults(handler=_score)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _threshold(args) -> tuple[float, str]:
    if args.threshold is not None:
        return args.threshold, "--threshold"
    if args.workflow:
        from governed_agents.envelope import find_envelope

        loaded = find_envelope(args.workflow)
        return (float(loaded.envelope.safety.block_on_prompt_injection_score_gte),
                f"envelope {loaded.source} (version {loaded.version})")
    from governed_agents.safety.injection import DEFAULT_THRESHOLD

    return DEFAULT_THRESHOLD, "default"


def _score(args) -> int:
    from governed_agents.errors import GovernanceError, UsageError
    from governed_agents.safety.injection import score_text

    threshold, origin = _threshold(args)
    if args.file:
        try:
            stream = open(args.file, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.file}: cannot be read: {exc.strerror or exc}") from None
    else:
        stream = sys.stdin
    name = args.file or "<stdin>"
    results = []
    blocked = 0
    try:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except ValueError as exc:
                raise UsageError(f"{name}:{number}: not JSON ({exc.msg} at column {exc.colno})",
                                 hint=f"each line must be a JSON object such as {_EXAMPLE}") from None
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise UsageError(f"{name}:{number}: expected a JSON object with a 'text' string",
                                 hint=f"each line must be a JSON object such as {_EXAMPLE}")
            context = item.get("context", args.context)
            if context not in CONTEXTS:
                raise UsageError(f"{name}:{number}: unknown context {context!r}",
                                 hint=f"use one of {', '.join(CONTEXTS)} (or leave 'context' out)")
            result = score_text(item["text"], context=context)
            row = {}
            if "id" in item:
                row["id"] = item["id"]
            row["score"] = result.score
            row["blocked"] = result.score >= threshold
            blocked += row["blocked"]
            row["evidence"] = {"context": result.context, "signals": [s.to_dict() for s in result.signals]}
            if args.json:
                results.append(row)
            else:
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x})") from None
    except GovernanceError:
        sys.stdout.flush()
        raise
    finally:
        if stream is not sys.stdin:
            stream.close()
    if args.json:
        emit_json({"ok": True, "threshold": threshold, "threshold_from": origin, "scored": len(results),
                   "blocked": blocked, "results": results})
    return EXIT_OK
