"""What every command shares: ``--json``, output, and the exit-code contract.

Exit codes: 0 success, 1 a refusal or failed check, 2 bad usage. Expected
refusals are ``GovernanceError``s and print a message, never a traceback.
Command modules import heavy libraries inside their handlers, never at module
load, so that ``governed-agents --help`` stays fast.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from typing import Any, Callable

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


def iso_date(text: str) -> _dt.date:
    """An argparse ``type`` for a UTC day written YYYY-MM-DD."""
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


def emit_json(value: Any) -> None:
    from governed_agents.canonical import _default

    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=_default) + "\n")


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    sys.stderr.write(text + "\n")


Handler = Callable[[argparse.Namespace], int]
