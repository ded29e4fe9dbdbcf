"""Bulk work on millions of small objects: pause the cyclic garbage collector.

Building a list of a million tuples triggers a full collection again and again,
each walking everything built so far; that doubled the time of reading and
reconciling a large batch. Nothing built here forms reference cycles, so the
collector is paused for the duration and restored (if it was on) afterwards.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
