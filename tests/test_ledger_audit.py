"""The audit chain without a database: the hashed form, the SQL hash template, verify_chain's rules."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tracemalloc
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from governed_agents.canonical import canonical_json
from governed_agents.ledger import GENESIS_HASH, AuditEvent, VerifyResult
from governed_agents.ledger.audit import event_hash, hash_template, ts_iso, verify_chain

UTC = dt.timezone.utc
T0 = dt.datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def make_chain(n: int, *, start_ts: dt.datetime = T0) -> list[dict]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        row = {
            "seq": seq,
            "event_id": str(uuid.UUID(int=seq)),
            "ts": start_ts + dt.timedelta(milliseconds=seq),
            "kind": "gate.decision",
            "actor": "agent:reconciler",
            "workflow": "invoice_reconcile",
            "trace_id": f"trace-{seq % 3}",
            "run_id": None,
            "envelope_version": "3",
            "envelope_digest": None,
            "payload": canonical_json({"n": seq, "amount": "10.00"}),
            "prev_hash": prev,
        }
        row["hash"] = prev = event_hash(row)
        rows.append(row)
    return rows


def head_of(rows: list[dict]) -> tuple[int, str]:
    return (rows[-1]["seq"], rows[-1]["hash"]) if rows else (0, GENESIS_HASH)


# --- the hashed form --------------------------------------------------------------------------


def test_event_hash_is_sha256_of_the_documented_canonical_json():
    row = make_chain(1)[0]
    text = (
        '{"actor":"agent:reconciler","envelope_digest":null,"envelope_version":"3",'
        f'"event_id":"{row["event_id"]}","kind":"gate.decision",'
        '"payload":"{\\"amount\\":\\"10.00\\",\\"n\\":1}",'
        f'"prev_hash":"{GENESIS_HASH}","run_id":null,"seq":1,"trace_id":"trace-1",'
        '"ts":"2025-03-01T12:00:00.001000Z","workflow":"invoice_reconcile"}'
    )
    assert row["hash"] == hashlib.sha256(text.encode()).hexdigest()


def test_event_hash_accepts_an_event_a_dict_payload_and_any_timezone():
    row = make_chain(1)[0]
    event = AuditEvent.from_row(row)
    assert isinstance(event.payload, dict)
    from dataclasses import asdict

    assert event_hash(asdict(event)) == row["hash"]  # payload dict -> canonical text
    other_zone = dict(row, ts=row["ts"].astimezone(dt.timezone(dt.timedelta(hours=5))))
    assert event_hash(other_zone) == row["hash"]
    naive_utc = dict(row, ts=row["ts"].replace(tzinfo=None))
    assert event_hash(naive_utc) == row["hash"]
    assert ts_iso(T0) == "2025-03-01T12:00:00.000000Z"


def test_every_column_is_in_the_hash():
    row = make_chain(1)[0]
    changed = {
        "seq": 2,
        "event_id": str(uuid.uuid4()),
        "ts": row["ts"] + dt.timedelta(microseconds=1),
        "kind": "gate.decision2",
        "actor": None,
        "workflow": "other",
        "trace_id": None,
        "run_id": "run-1",
        "envelope_version": "4",
        "envelope_digest": "sha256:abc",
        "payload": canonical_json({"n": 1, "amount": "10.01"}),
        "prev_hash": "1" * 64,
    }
    for column, value in changed.items():
        assert event_hash(dict(row, **{column: value})) != row["hash"], column
    # A payload re-serialised non-canonically is a different text, so a different hash.
    assert event_hash(dict(row, payload=json.dumps(json.loads(row["payload"]), indent=1))) != row["hash"]


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
_opt = st.one_of(st.none(), _text)
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), _text, st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=2**62),
    kind=_text,
    actor=_opt,
    workflow=_opt,
    trace_id=_opt,
    run_id=_opt,
    version=_opt,
    env_digest=_opt,
    payload=st.dictionaries(_text, _json, max_size=4),
    ts=st.datetimes(timezones=st.just(UTC)),
    prev=st.binary(min_size=32, max_size=32).map(bytes.hex),
)
def test_hash_template_filled_in_equals_event_hash(seq, kind, actor, workflow, trace_id, run_id, version,
                                                   env_digest, payload, ts, prev):
    """PostgreSQL hashes appends from this template; it must agree with event_hash byte for byte."""
    fields = {
        "seq": seq,
        "event_id": str(uuid.uuid4()),
        "ts": ts,
        "kind": kind,
        "actor": actor,
        "workflow": workflow,
        "trace_id": trace_id,
        "run_id": run_id,
        "envelope_version": version,
        "envelope_digest": env_digest,
        "payload": canonical_json(payload),
        "prev_hash": prev,
    }
    prefix, middle, suffix = hash_template(fields)
    filled = prefix + prev + middle + str(seq) + suffix
    assert hashlib.sha256(filled.encode("utf-8")).hexdigest() == event_hash(fields)


# --- verify_chain -----------------------------------------------------------------------------


def test_an_intact_chain_verifies_and_an_empty_one_too():
    rows = make_chain(25)
    result = verify_chain(iter(rows), head_of(rows))
    assert result == VerifyResult(True, 25, 25, None, None, rows[-1]["hash"])
    assert verify_chain([], (0, GENESIS_HASH)).ok
    assert verify_chain(iter(rows), None).ok  # an excerpt without its head


def test_each_rule_names_the_first_bad_event():
    rows = make_chain(20)
    head = head_of(rows)

    edited = [dict(r) for r in rows]
    edited[6]["payload"] = canonical_json({"n": 7, "amount": "99999.00"})
    result = verify_chain(edited, head)
    assert (result.ok, result.first_bad_seq, result.events_checked) == (False, 7, 6)
    assert result.problem == "event 7: hash does not match its content (edited?)"

    missing = rows[:16] + rows[17:]
    result = verify_chain(missing, head)
    assert result.first_bad_seq == 17
    assert result.problem == "event 17 missing: chain jumps from 16 to 18 (deleted?)"

    result = verify_chain(rows[1:], head)
    assert (result.first_bad_seq, result.problem) == (1, "event 1 missing: chain starts at 2 (deleted?)")

    result = verify_chain(rows[:-1], head)
    assert result.first_bad_seq == 20
    assert result.problem == "chain head says 20 events but the last is 19 (tail deleted?)"

    result = verify_chain([], head)
    assert (result.first_bad_seq, result.problem) == (1, "chain head says 20 events but there are none (deleted?)")

    relinked = [dict(r) for r in rows]
    relinked[9]["prev_hash"] = "f" * 64
    result = verify_chain(relinked, head)
    assert result.first_bad_seq == 10 and "prev_hash does not match the hash of event 9" in result.problem

    result = verify_chain(rows, head_of(rows[:-1]))
    assert result.first_bad_seq == 20 and "beyond the chain head" in result.problem

    result = verify_chain(rows, (20, "e" * 64))
    assert result.first_bad_seq == 20 and "chain head hash does not match event 20" in result.problem

    out_of_order = rows[:5] + [rows[2]] + rows[5:]
    result = verify_chain(out_of_order, head)
    assert result.first_bad_seq == 3 and "out of sequence" in result.problem


def test_verify_chain_streams_in_constant_memory_and_reports_progress():
    def rows(n):
        prev = GENESIS_HASH
        for seq in range(1, n + 1):
            row = {
                "seq": seq,
                "event_id": str(uuid.UUID(int=seq)),
                "ts": T0,
                "kind": "k",
                "actor": None,
                "workflow": None,
                "trace_id": None,
                "run_id": None,
                "envelope_version": None,
                "envelope_digest": None,
                "payload": '{"x":"' + "y" * 1000 + '"}',
                "prev_hash": prev,
            }
            row["hash"] = prev = event_hash(row)
            yield row

    n = 3_000
    head = None
    for row in rows(n):
        head = (row["seq"], row["hash"])
    seen = []
    tracemalloc.start()
    try:
        result = verify_chain(rows(n), head, progress=seen.append, progress_every=1_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.ok and result.events_checked == n
    assert seen == [1_000, 2_000, 3_000]
    # Holding 3,000 rows of 1 KB would take several MB; streaming needs a few KB.
    assert peak < 256 * 1024, peak
