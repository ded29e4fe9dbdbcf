"""Concurrent appenders in several processes never fork the chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter

from governed_agents.ledger import Ledger

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRITERS = 4
PER_WRITER = 200

# Each writer waits at a gate (a file) so that all of them append at the same time,
# half of the time alone and half inside a transaction with a second statement.
_WRITER = """
import sys, time
from pathlib import Path
from governed_agents.ledger import Ledger

url, gate, name, count = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ledger = Ledger.open(url)
while not gate.exists():
    time.sleep(0.002)
for i in range(count):
    if i % 10 == 9:
        time.sleep(0.001)  # other work between appends; SQLite's busy wait is unfair without it
    if i % 2:
        ledger.append("concurrent.append", {"writer": name, "i": i}, actor=name, trace_id=name)
    else:
        with ledger.transaction() as conn:
            conn.exec_driver_sql("SELECT 1")
            ledger.append("concurrent.append", {"writer": name, "i": i}, actor=name, trace_id=name, conn=conn)
"""


def test_concurrent_appenders_in_several_processes_never_fork_the_chain(db_url, tmp_path):
    gate = tmp_path / "gate"
    Ledger.open(db_url)  # migrate first; the race on opening is tested in test_ledger_db
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, db_url, str(gate), f"writer-{n}", str(PER_WRITER)],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    time.sleep(0.8)
    gate.touch()
    errors = [p.communicate(timeout=180)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * WRITERS, errors

    ledger = Ledger.open(db_url)
    events = ledger.events()
    total = WRITERS * PER_WRITER
    assert [e.seq for e in events] == list(range(1, total + 1))  # contiguous, no gaps, no duplicates
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
    assert Counter(e.actor for e in events) == {f"writer-{n}": PER_WRITER for n in range(WRITERS)}
    for n in range(WRITERS):  # each writer's own events are in its own order
        mine = [e.payload["i"] for e in events if e.actor == f"writer-{n}"]
        assert mine == list(range(PER_WRITER))
    # The writers really interleaved (otherwise this test would prove nothing).
    switches = sum(1 for a, b in zip(events, events[1:]) if a.actor != b.actor)
    assert switches >= 2 * WRITERS, switches
    result = ledger.verify()
    assert result.ok, result
    assert (result.events_checked, result.head_seq) == (total, total)
    assert ledger.head() == (total, events[-1].hash)


def test_threads_sharing_one_ledger_never_fork_the_chain(db_url):
    import threading

    ledger = Ledger.open(db_url)
    errors: list[BaseException] = []

    def write(name: str) -> None:
        try:
            for i in range(50):
                if i % 2:
                    ledger.append("threaded.append", {"i": i}, actor=name)
                else:
                    with ledger.transaction() as conn:
                        ledger.append("threaded.append", {"i": i}, actor=name, conn=conn)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"thread-{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    events = ledger.events()
    assert [e.seq for e in events] == list(range(1, 201))
    assert Counter(e.actor for e in events) == {f"thread-{n}": 50 for n in range(4)}
    assert ledger.verify().ok
