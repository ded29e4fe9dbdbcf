"""Tampering, randomised and counted: audit rows on SQLite and PostgreSQL, exported receipts.

Audit-row trials reuse ``tests.test_ledger_tamper`` (edits of any column,
deletions, naive and chain-linked insertions, reorderings, head moves, with the
append-only triggers switched off first); each must fail ``verify`` naming the
first bad seq. Receipt trials take real signed receipts and flip bytes, edit,
delete or add fields, or re-order them; each must fail offline verification
(``verify_receipt_bytes`` with the public key, no database).

Fixed seeds; counts (default / long run) are reported in docs/adversarial.md.
"""

from __future__ import annotations

import json
import random

import pytest

from governed_agents.canonical import canonical_bytes
from governed_agents.errors import ReceiptInvalid
from governed_agents.ledger import Ledger
from governed_agents.receipts.examples import example_receipt
from governed_agents.receipts.signing import export_bytes, sign_receipt, verify_receipt_bytes
from tests.adversarial._config import scaled
from tests.test_ledger_tamper import MOVES, build_chain, run_trials

SQLITE_TRIALS = scaled(1000, 10000)
POSTGRES_TRIALS = scaled(200, 2000)
RECEIPT_TRIALS = scaled(1000, 20000)


def test_audit_tampering_on_sqlite_is_always_caught(sqlite_url):
    ledger = Ledger.open(sqlite_url)
    build_chain(ledger)
    counts = run_trials(ledger, SQLITE_TRIALS, seed=90001)
    assert sum(counts.values()) == SQLITE_TRIALS and set(counts) == {m.__name__ for m in MOVES}


def test_audit_tampering_on_postgres_is_always_caught(pg_url):
    ledger = Ledger.open(pg_url)
    build_chain(ledger)
    counts = run_trials(ledger, POSTGRES_TRIALS, seed=90002)
    assert sum(counts.values()) == POSTGRES_TRIALS and set(counts) == {m.__name__ for m in MOVES}


# -- receipts ---------------------------------------------------------------------


def _leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    else:
        yield path, value


def _set(doc, path, value):
    for p in path[:-1]:
        doc = doc[p]
    doc[path[-1]] = value


def _other(value, rng):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + rng.choice([1, -1, 1000])
    if value is None:
        return rng.choice(["", 0, "x"])
    text = str(value)
    if not text:
        return "x"
    i = rng.randrange(len(text))
    return text[:i] + chr((ord(text[i]) + rng.randint(1, 25)) % 0x2FF or 65) + text[i + 1:]


def flip_byte(data: bytes, rng) -> tuple[str, bytes]:
    i = rng.randrange(len(data))
    out = bytearray(data)
    out[i] ^= rng.randint(1, 255)
    return f"byte {i} flipped", bytes(out)


def edit_field(data: bytes, rng) -> tuple[str, bytes]:
    doc = json.loads(data)
    path, value = rng.choice(list(_leaves(doc)))
    _set(doc, path, _other(value, rng))
    return f"field {'/'.join(map(str, path))} edited", canonical_bytes(doc) + b"\n"


def delete_field(data: bytes, rng) -> tuple[str, bytes]:
    doc = json.loads(data)
    key = rng.choice(sorted(doc["receipt"]))
    del doc["receipt"][key]
    return f"field receipt/{key} deleted", canonical_bytes(doc) + b"\n"


def add_field(data: bytes, rng) -> tuple[str, bytes]:
    doc = json.loads(data)
    doc["receipt"][rng.choice(["approved_by", "override", "notes2", "x"])] = rng.choice(["erin", True, 1])
    return "field added", canonical_bytes(doc) + b"\n"


def reorder(data: bytes, rng) -> tuple[str, bytes]:
    doc = json.loads(data)
    lists = [(p, v) for p, v in _walk_lists(doc) if len(v) > 1 and len({json.dumps(x, sort_keys=True) for x in v}) > 1]
    path, items = rng.choice(lists)
    shuffled = list(items)
    while shuffled == items:
        rng.shuffle(shuffled)
    _set(doc, path, shuffled)
    return f"list {'/'.join(map(str, path))} reordered", canonical_bytes(doc) + b"\n"


def _walk_lists(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk_lists(v, path + (k,))
    elif isinstance(value, list):
        yield path, value
        for i, v in enumerate(value):
            yield from _walk_lists(v, path + (i,))


def truncate(data: bytes, rng) -> tuple[str, bytes]:
    n = rng.randrange(1, len(data))
    return f"truncated to {n} bytes", data[:n]


RECEIPT_MOVES = [flip_byte, edit_field, delete_field, add_field, reorder, truncate]


@pytest.fixture(scope="module")
def signed_receipts():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    receipts = [
        example_receipt(),
        example_receipt(kind="write_refused", notes="kill switch engaged — Überweisung gestoppt ✓"),
        example_receipt(kind="write_failed", notes="attempt 1: TransientFault", extra={"attempts": [1, 2, 3]}),
    ]
    return key, [export_bytes(sign_receipt(r, key)) for r in receipts]


def test_receipt_tampering_fails_offline_verification(signed_receipts):
    key, exported = signed_receipts
    public = key.public_key()
    for data in exported:
        verify_receipt_bytes(data, public)  # the untouched ones verify
    rng = random.Random(90003)
    counts: dict[str, int] = {}
    for trial in range(RECEIPT_TRIALS):
        move = rng.choice(RECEIPT_MOVES)
        what, tampered = move(rng.choice(exported), rng)
        assert tampered not in exported, f"trial {trial}: {what} changed nothing"
        with pytest.raises(ReceiptInvalid):
            verify_receipt_bytes(tampered, public)
            pytest.fail(f"seed 90003, trial {trial}: {what} verified")
        counts[move.__name__] = counts.get(move.__name__, 0) + 1
    assert set(counts) == {m.__name__ for m in RECEIPT_MOVES}
