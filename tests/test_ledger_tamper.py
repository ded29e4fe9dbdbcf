"""Tampering with the stored chain is caught, naming the first bad event.

The attacker here has database superuser rights: they first switch the append-only
triggers off (PostgreSQL ``DISABLE TRIGGER USER``, SQLite ``DROP TRIGGER``), then
edit one column of one event, delete events, insert a forged one (naively, or
linked to its predecessor so that it verifies itself), reorder events, or move the
head. Each trial runs in a transaction that is rolled back afterwards, so one
chain serves hundreds of trials; ``verify`` reads inside that transaction.
Trials are drawn from a seeded random generator: a failure names its seed.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from typing import Callable

import pytest
import sqlalchemy as sa

from governed_agents.canonical import canonical_json
from governed_agents.ledger import GENESIS_HASH, Ledger
from governed_agents.ledger.audit import event_hash
from governed_agents.ledger.schema import audit_events, audit_head

CHAIN_LENGTH = 40
SQLITE_TRIALS = 480
POSTGRES_TRIALS = 72

EDITABLE = (
    "seq",
    "event_id",
    "ts",
    "kind",
    "actor",
    "workflow",
    "trace_id",
    "run_id",
    "envelope_version",
    "envelope_digest",
    "payload",
    "prev_hash",
    "hash",
)


def build_chain(ledger: Ledger, n: int = CHAIN_LENGTH) -> None:
    rng = random.Random(7)
    for i in range(n):
        ledger.append(
            rng.choice(["gate.decision", "approval.requested", "write.executed"]),
            {"i": i, "amount": f"{rng.randint(1, 99999)}.{rng.randint(0, 99):02d}", "note": "Überweisung ✓"},
            actor=rng.choice([None, "agent:reconciler", "alice"]),
            workflow=rng.choice([None, "invoice_reconcile"]),
            trace_id=rng.choice([None, f"trace-{i % 4}"]),
            run_id=rng.choice([None, f"run-{i}"]),
            envelope_version=rng.choice([None, "3"]),
            envelope_digest=rng.choice([None, "sha256:" + "ab" * 32]),
        )


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _disable_guards(ledger: Ledger, conn: sa.Connection) -> None:
    if ledger.dialect == "postgresql":
        conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        conn.exec_driver_sql("ALTER TABLE audit_head DISABLE TRIGGER USER")
    else:
        names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars().all()
        assert len(names) == 6
        for name in names:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')


def _set(conn: sa.Connection, at: int, **values) -> None:
    conn.execute(audit_events.update().where(audit_events.c.seq == at).values(**values))


def _shift_up(conn: sa.Connection, start: int, n: int) -> None:
    """Renumber events start..n to start+1..n+1 (from the top, so seq stays unique at every step)."""
    for seq in range(n, start - 1, -1):
        _set(conn, seq, seq=seq + 1)


# --- the tampering moves; each returns the seq verify must name ---------------------------------


def edit_one_column(conn, rows, rng) -> tuple[str, int]:
    n = len(rows)
    k = rng.randint(1, n)
    row = rows[k - 1]
    column = rng.choice(EDITABLE)
    if column == "seq":
        _set(conn, k, seq=n + rng.randint(1, 5))  # the event moves past the end: k is now missing
        return f"edit seq of {k}", k
    old = row[column]
    if column == "event_id":
        new = str(uuid.uuid4())
    elif column == "ts":
        new = old.replace(tzinfo=dt.timezone.utc) + dt.timedelta(
            microseconds=rng.choice([1, -1, 999, 3_600_000_000, -86_400_000_000])
        )
    elif column == "kind":
        new = old + rng.choice(["x", ".forged"])
    elif column == "payload":
        data = json.loads(old)
        style = rng.randrange(3)
        if style == 0:  # a different value
            data["amount"] = "0.01" if data["amount"] != "0.01" else "0.02"
            new = canonical_json(data)
        elif style == 1:  # the same content, not in canonical form
            new = json.dumps(data, indent=1)
        else:  # not JSON at all
            new = old[:-1]
    elif column in ("prev_hash", "hash"):
        new = _hex(rng)
    else:  # the nullable text columns
        new = None if old is not None and rng.random() < 0.5 else (old or "") + "z"
    assert new != old
    _set(conn, k, **{column: new})
    return f"edit {column} of {k}", k


def delete_one(conn, rows, rng) -> tuple[str, int]:
    k = rng.randint(1, len(rows))
    conn.execute(audit_events.delete().where(audit_events.c.seq == k))
    return f"delete {k}", k


def delete_tail(conn, rows, rng) -> tuple[str, int]:
    n = len(rows)
    m = rng.randint(1, 5)
    conn.execute(audit_events.delete().where(audit_events.c.seq > n - m))
    return f"delete the last {m}", n - m + 1


def insert_forged(conn, rows, rng) -> tuple[str, int]:
    """Insert a forged event at position p, renumbering the events after it.

    naive:   the forgery's prev_hash is made up           -> the forgery itself (p) fails.
    linked:  the forgery links to event p-1 and hashes right; the displaced event is
             relinked to it (UNIQUE(prev_hash) forces that), but its own hash still
             covers its old seq                          -> p+1 fails (or the head, p = n+1).
    rehash:  as linked, and the displaced event is re-hashed too; the next event still
             links to the displaced event's old hash   -> p+2 fails (or the head).
    """
    n = len(rows)
    p = rng.randint(1, n + 1)
    style = rng.choice(["naive", "linked", "rehash"])
    prev = rows[p - 2]["hash"] if p > 1 else GENESIS_HASH
    forged = {
        "seq": p,
        "event_id": str(uuid.uuid4()),
        "ts": dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc),
        "kind": "write.executed",
        "actor": "alice",
        "workflow": "invoice_reconcile",
        "trace_id": "trace-forged",
        "run_id": None,
        "envelope_version": "3",
        "envelope_digest": None,
        "payload": canonical_json({"amount": "250000.00", "vendor": "Shell Co"}),
        "prev_hash": _hex(rng) if style == "naive" else prev,
    }
    forged["hash"] = event_hash(forged)
    if style != "naive" and p <= n:
        displaced = dict(rows[p - 1])
        _set(conn, p, prev_hash=forged["hash"])
        if style == "rehash":
            displaced.update(seq=p + 1, prev_hash=forged["hash"])
            _set(conn, p, hash=event_hash(displaced))
    _shift_up(conn, p, n)
    conn.execute(audit_events.insert().values(**forged))
    if style == "naive":
        expected = p
    elif style == "linked":
        expected = p + 1 if p <= n else n + 1  # appended past the end: the head names it
    else:
        expected = p + 2 if p <= n - 1 else n + 1
    return f"insert {style} at {p}", expected


def swap_payloads(conn, rows, rng) -> tuple[str, int]:
    i, j = rng.sample(range(1, len(rows) + 1), 2)
    _set(conn, i, payload=rows[j - 1]["payload"])
    _set(conn, j, payload=rows[i - 1]["payload"])
    return f"swap payloads of {i} and {j}", min(i, j)


def swap_events(conn, rows, rng) -> tuple[str, int]:
    """Exchange two whole events (every column but seq): a reordering."""
    i, j = rng.sample(range(1, len(rows) + 1), 2)
    content = [c for c in EDITABLE if c != "seq"]
    unique = {"event_id": "tmp-" + uuid.uuid4().hex[:20], "prev_hash": _hex(rng), "hash": _hex(rng)}
    _set(conn, i, **unique)  # out of the way of the unique constraints
    _set(conn, j, **{c: rows[i - 1][c] for c in content})
    _set(conn, i, **{c: rows[j - 1][c] for c in content})
    return f"swap events {i} and {j}", min(i, j)


def move_head(conn, rows, rng) -> tuple[str, int]:
    n = len(rows)
    if rng.random() < 0.5:
        target = rng.choice([s for s in range(0, n + 4) if s != n])
        conn.execute(audit_head.update().values(seq=target))
        return f"head seq {n} -> {target}", (n + 1 if target > n else target + 1)
    conn.execute(audit_head.update().values(hash=_hex(rng)))
    return "head hash", n


MOVES: list[Callable] = [
    edit_one_column,
    edit_one_column,
    edit_one_column,
    delete_one,
    delete_tail,
    insert_forged,
    insert_forged,
    swap_payloads,
    swap_events,
    move_head,
]


def run_trials(ledger: Ledger, trials: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    with ledger.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)).mappings()]
        conn.rollback()
        assert len(rows) == CHAIN_LENGTH
        counts: dict[str, int] = {}
        for trial in range(trials):
            move = rng.choice(MOVES)
            trans = conn.begin()
            try:
                _disable_guards(ledger, conn)
                what, expected = move(conn, rows, rng)
                result = ledger._verify_on(conn)
            finally:
                trans.rollback()
            context = f"seed {seed}, trial {trial}: {what}: {result}"
            assert not result.ok, context
            assert result.first_bad_seq == expected, context
            # The message names the event, or says what the head claims against the last event.
            assert str(expected) in result.problem or result.problem.startswith("chain head"), context
            counts[move.__name__] = counts.get(move.__name__, 0) + 1
    assert ledger.verify().ok  # every trial was rolled back
    return counts


def test_randomised_tampering_is_caught_at_the_first_bad_event_on_sqlite(sqlite_url):
    ledger = Ledger.open(sqlite_url)
    build_chain(ledger)
    counts = run_trials(ledger, SQLITE_TRIALS, seed=20250301)
    assert set(counts) == {m.__name__ for m in MOVES}
    assert sum(counts.values()) == SQLITE_TRIALS


def test_randomised_tampering_is_caught_at_the_first_bad_event_on_postgres(pg_url):
    ledger = Ledger.open(pg_url)
    build_chain(ledger)
    counts = run_trials(ledger, POSTGRES_TRIALS, seed=20250302)
    assert set(counts) == {m.__name__ for m in MOVES}


@pytest.mark.parametrize("column", EDITABLE)
def test_an_edit_of_each_column_is_caught(sqlite_url, column):
    """Every column once, deterministically, on top of the random trials."""
    ledger = Ledger.open(sqlite_url)
    build_chain(ledger, 12)
    with ledger.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(audit_events).order_by(audit_events.c.seq)).mappings()]
        conn.rollback()
        for seed in range(500):  # find a draw that edits this column
            rng = random.Random(seed)
            probe = random.Random(seed)
            probe.randint(1, len(rows))
            if probe.choice(EDITABLE) == column:
                break
        with conn.begin():
            _disable_guards(ledger, conn)
            what, expected = edit_one_column(conn, rows, rng)
            assert column in what
            result = ledger._verify_on(conn)
            conn.rollback()
    assert (result.ok, result.first_bad_seq) == (False, expected), (what, result)


def test_committed_tampering_is_caught_by_a_fresh_verify(db_url):
    ledger = Ledger.open(db_url)
    build_chain(ledger, 10)
    with ledger.engine.begin() as conn:
        _disable_guards(ledger, conn)
        _set(conn, 4, payload=canonical_json({"amount": "1.00"}))
    result = ledger.verify()
    assert (result.ok, result.first_bad_seq, result.events_checked) == (False, 4, 3)
    assert result.problem == "event 4: hash does not match its content (edited?)"


def test_deleting_the_head_row_is_caught(db_url):
    ledger = Ledger.open(db_url)
    build_chain(ledger, 5)
    with ledger.engine.begin() as conn:
        _disable_guards(ledger, conn)
        conn.execute(audit_head.delete())
    result = ledger.verify()
    assert not result.ok and "chain head row is missing" in result.problem


def test_a_consistent_rewrite_of_tail_and_head_is_only_caught_by_an_external_anchor(sqlite_url):
    """The documented limit: a superuser who deletes the tail *and* moves the head back
    consistently leaves a chain that verifies. A hash held outside the database (a
    signed receipt's audit_hash) is what exposes it."""
    ledger = Ledger.open(sqlite_url)
    build_chain(ledger, 10)
    anchor = ledger.events()[-1].hash  # e.g. carried by a receipt handed to someone else
    with ledger.engine.begin() as conn:
        _disable_guards(ledger, conn)
        conn.execute(audit_events.delete().where(audit_events.c.seq > 8))
        eighth = conn.execute(sa.select(audit_events.c.hash).where(audit_events.c.seq == 8)).scalar()
        conn.execute(audit_head.update().values(seq=8, hash=eighth))
    assert ledger.verify().ok
    assert anchor not in {e.hash for e in ledger.events()}
