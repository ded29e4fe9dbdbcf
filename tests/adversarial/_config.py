"""How hard the adversarial suite tries.

``GOVERNED_AGENTS_ADVERSARIAL_LONG=1`` selects the long run reported in
docs/adversarial.md (more crash trials per point, more tamper trials, more
fuzz examples); the default keeps the package to a few minutes on 2 cores.
"""

from __future__ import annotations

import os

LONG = os.environ.get("GOVERNED_AGENTS_ADVERSARIAL_LONG", "") == "1"


def scaled(default: int, long: int) -> int:
    return long if LONG else default
