"""The ledger database on SQLite and PostgreSQL: opening, migrations, appends, transactions, triggers."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from governed_agents.errors import LedgerError
from governed_agents.ledger import GENESIS_HASH, AuditEvent, Ledger
from governed_agents.ledger.audit import event_hash
from governed_agents.ledger.db import HEAD_REVISION, MIGRATIONS_DIR
from governed_agents.ledger.schema import audit_events, idempotency_keys, metadata

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_open_migrates_a_fresh_database_and_caches_per_url(db_url):
    ledger = Ledger.open(db_url)
    assert ledger.dialect in ("sqlite", "postgresql")
    assert Ledger.open(db_url) is ledger
    assert ledger.head() == (0, GENESIS_HASH)
    assert ledger.events() == []
    assert ledger.verify().ok
    with ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD_REVISION


def test_open_defaults_to_the_configured_url(monkeypatch, tmp_path):
    monkeypatch.setenv("GOVERNED_AGENTS_HOME", str(tmp_path / "elsewhere"))
    ledger = Ledger.open()
    assert ledger.url == f"sqlite:///{tmp_path / 'elsewhere' / 'ledger.sqlite3'}"
    assert (tmp_path / "elsewhere" / "ledger.sqlite3").exists()
    with ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 30_000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_head_revision_constant_is_the_migration_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_migrated_schema_equals_the_metadata(db_url):
    """The migrations create exactly schema.py's tables, columns, types, indexes and constraints."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    ledger = Ledger.open(db_url)
    with ledger.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
        assert set(sa.inspect(conn).get_table_names()) == set(metadata.tables) | {"alembic_version"}


def test_downgrade_removes_everything_and_upgrade_restores_it(db_url):
    from alembic import command
    from alembic.config import Config

    ledger = Ledger.open(db_url)
    ledger.append("before.downgrade", {})
    with ledger.engine.connect() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
        conn.commit()
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
        command.upgrade(cfg, "head")
        conn.commit()
    ledger.dispose()
    fresh = Ledger.open(db_url)
    assert fresh.head() == (0, GENESIS_HASH)
    fresh.append("after.upgrade", {})
    assert fresh.verify().ok


def test_reopening_a_migrated_database_does_not_import_alembic(sqlite_url):
    Ledger.open(sqlite_url).append("x", {})
    code = (
        "import sys; from governed_agents.ledger import Ledger; "
        f"l = Ledger.open({sqlite_url!r}); assert l.head()[0] == 1; "
        "print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False"


def test_several_processes_opening_a_fresh_database_do_not_race(tmp_path, db_url):
    """Six processes open (and so migrate) the same new database at the same moment."""
    go = tmp_path / "go"
    code = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from governed_agents.ledger import Ledger\n"
        "while not Path(sys.argv[2]).exists(): time.sleep(0.005)\n"
        "ledger = Ledger.open(sys.argv[1])\n"
        "ledger.append('opened', {'pid': os.getpid()})\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, db_url, str(go)], cwd=REPO, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    time.sleep(0.8)  # let them all import and wait at the gate
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    ledger = Ledger.open(db_url)
    assert [e.kind for e in ledger.events()] == ["opened"] * 6
    assert ledger.verify().ok
    with ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1


# --- appending --------------------------------------------------------------------------------


def test_append_returns_the_stored_event_and_links_the_chain(db_url):
    ledger = Ledger.open(db_url)
    first = ledger.append(
        "approval.requested",
        {"amount": "1200.50", "vendor": "Müller & Söhne", "lines": [1, 2.5, None], "ok": True},
        actor="agent:reconciler",
        workflow="invoice_reconcile",
        trace_id="trace-1",
        run_id="run-1",
        envelope_version="3",
        envelope_digest="sha256:" + "a" * 64,
    )
    second = ledger.append("approval.decided", {"decision": "approve"}, actor="alice", trace_id="trace-1")
    assert isinstance(first, AuditEvent)
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert ledger.head() == (2, second.hash)
    assert first.ts.tzinfo is not None and first.ts.utcoffset() == dt.timedelta(0)

    stored = ledger.events()
    assert stored == [first, second]  # what append returned is what was stored, ts and payload included
    assert stored[0].payload["vendor"] == "Müller & Söhne"
    from dataclasses import asdict

    assert event_hash(asdict(stored[0])) == first.hash
    with ledger.engine.connect() as conn:
        text = conn.execute(sa.select(audit_events.c.payload).where(audit_events.c.seq == 1)).scalar()
    assert text == '{"amount":"1200.50","lines":[1,2.5,null],"ok":true,"vendor":"Müller & Söhne"}'


def test_events_filters_and_pages(db_url):
    ledger = Ledger.open(db_url)
    for i in range(10):
        ledger.append("k.even" if i % 2 == 0 else "k.odd", {"i": i}, trace_id=f"t{i % 3}")
    assert [e.seq for e in ledger.events(kind="k.odd")] == [2, 4, 6, 8, 10]
    assert [e.seq for e in ledger.events(trace_id="t0")] == [1, 4, 7, 10]
    assert [e.seq for e in ledger.events(trace_id="t0", kind="k.even")] == [1, 7]
    assert [e.seq for e in ledger.events(limit=3)] == [1, 2, 3]
    assert [e.seq for e in ledger.events(after_seq=3, limit=3)] == [4, 5, 6]
    assert ledger.events(after_seq=10) == []
    assert ledger.events(trace_id="nope") == []


def test_append_inside_a_transaction_commits_or_rolls_back_with_the_state_change(db_url):
    ledger = Ledger.open(db_url)
    now = dt.datetime.now(dt.timezone.utc)
    row = {"key": "k1", "tool": "erp.post", "status": "done", "created_at": now}
    with ledger.transaction() as conn:
        conn.execute(idempotency_keys.insert().values(**row))
        event = ledger.append("write.executed", {"key": "k1"}, conn=conn)
    assert ledger.head() == (1, event.hash)

    with pytest.raises(RuntimeError):
        with ledger.transaction() as conn:
            conn.execute(idempotency_keys.insert().values(**dict(row, key="k2")))
            ledger.append("write.executed", {"key": "k2"}, conn=conn)
            raise RuntimeError("the ERP call failed")
    assert ledger.head() == (1, event.hash)
    with ledger.engine.connect() as conn:
        assert conn.execute(sa.select(idempotency_keys.c.key)).scalars().all() == ["k1"]
    assert ledger.append("next", {}).seq == 2  # no gap left by the rolled-back event
    assert ledger.verify().ok


def test_a_failed_state_change_takes_its_audit_event_with_it(db_url):
    ledger = Ledger.open(db_url)
    now = dt.datetime.now(dt.timezone.utc)
    with ledger.transaction() as conn:
        conn.execute(idempotency_keys.insert().values(key="dup", tool="t", status="done", created_at=now))
    with pytest.raises(sa.exc.IntegrityError):
        with ledger.transaction() as conn:
            ledger.append("write.attempted", {}, conn=conn)
            conn.execute(idempotency_keys.insert().values(key="dup", tool="t", status="done", created_at=now))
    assert ledger.head() == (0, GENESIS_HASH)


def test_sqlite_append_in_a_caller_transaction_needs_ledger_transaction(sqlite_url):
    ledger = Ledger.open(sqlite_url)
    with ledger.engine.begin() as conn:
        with pytest.raises(LedgerError, match=r"needs a connection from Ledger.transaction\(\)"):
            ledger.append("x", {}, conn=conn)


def test_append_refuses_what_it_cannot_store_faithfully(db_url):
    ledger = Ledger.open(db_url)
    with pytest.raises(LedgerError, match="no canonical JSON form"):
        ledger.append("bad.payload", {"x": object()})
    with pytest.raises(LedgerError, match="no canonical JSON form"):
        ledger.append("bad.payload", {"x": float("nan")})
    with pytest.raises(LedgerError, match="kind must be a string of at most 64"):
        ledger.append("k" * 65, {})
    with pytest.raises(LedgerError, match="actor must be a string of at most 128"):
        ledger.append("k", {}, actor="a" * 129)
    with pytest.raises(LedgerError, match="payload must be a dict"):
        ledger.append("k", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(LedgerError, match="kind must not be empty"):
        ledger.append("", {})
    assert ledger.head() == (0, GENESIS_HASH)


def test_verify_reads_one_snapshot_while_appends_continue(db_url, tmp_path):
    ledger = Ledger.open(db_url)
    for i in range(300):
        ledger.append("seed", {"i": i})
    code = (
        "import sys\nfrom governed_agents.ledger import Ledger\n"
        "l = Ledger.open(sys.argv[1])\n"
        "for i in range(300): l.append('during.verify', {'i': i})\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code, db_url], cwd=REPO)
    try:
        results = []
        while writer.poll() is None:
            results.append(ledger.verify())
    finally:
        writer.wait(timeout=120)
    results.append(ledger.verify())
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    assert results[-1].events_checked == 600


# --- the database refuses edits ---------------------------------------------------------------


def _refused(ledger: Ledger, sql: str) -> str:
    with pytest.raises(sa.exc.DBAPIError) as caught:
        with ledger.transaction() as conn:
            conn.exec_driver_sql(sql)
    return str(caught.value.orig)


def test_the_database_refuses_to_edit_or_delete_audit_events(db_url):
    ledger = Ledger.open(db_url)
    for i in range(3):
        ledger.append("k", {"i": i})
    assert "audit_events is append-only: UPDATE refused" in _refused(
        ledger, "UPDATE audit_events SET kind = 'forged' WHERE seq = 2"
    )
    assert "audit_events is append-only: DELETE refused" in _refused(ledger, "DELETE FROM audit_events WHERE seq = 3")
    assert "audit_events is append-only: DELETE refused" in _refused(ledger, "DELETE FROM audit_events")
    if ledger.dialect == "postgresql":
        assert "audit_events is append-only: TRUNCATE refused" in _refused(ledger, "TRUNCATE audit_events")
        assert "TRUNCATE refused" in _refused(ledger, "TRUNCATE audit_events CASCADE")
    # An insert that does not extend the head is refused too (an append around the chain lock).
    assert "does not extend the chain head" in _refused(
        ledger,
        "INSERT INTO audit_events (seq, event_id, ts, kind, payload, prev_hash, hash) VALUES "
        f"(7, 'e7', '2025-01-01 00:00:00', 'forged', '{{}}', '{'1' * 64}', '{'2' * 64}')",
    )
    assert ledger.verify().ok and ledger.head()[0] == 3


def test_the_database_only_lets_the_head_advance_by_one(db_url):
    ledger = Ledger.open(db_url)
    first = ledger.append("k", {})
    for sql in (
        "UPDATE audit_head SET seq = seq + 2",
        "UPDATE audit_head SET seq = seq - 1",
        f"UPDATE audit_head SET hash = '{'9' * 64}'",
        # One ahead, but onto an event that does not exist.
        f"UPDATE audit_head SET seq = seq + 1, hash = '{'9' * 64}'",
    ):
        assert "audit_head may only advance by one" in _refused(ledger, sql)
    assert "DELETE refused" in _refused(ledger, "DELETE FROM audit_head")
    assert "INSERT refused" in _refused(ledger, f"INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, '{'0' * 64}')")
    if ledger.dialect == "postgresql":
        assert "TRUNCATE refused" in _refused(ledger, "TRUNCATE audit_head")
    assert ledger.head() == (1, first.hash)


def test_append_through_the_ledger_after_a_refused_edit_still_works(db_url):
    ledger = Ledger.open(db_url)
    ledger.append("k", {})
    _refused(ledger, "DELETE FROM audit_events")
    assert ledger.append("k", {}).seq == 2
    assert ledger.verify().ok


# --- failing closed ---------------------------------------------------------------------------


def test_an_unreachable_database_is_a_ledger_error_with_the_password_hidden():
    url = "postgresql+psycopg2://auditor:s3cret-pw@127.0.0.1:1/ledger"
    with pytest.raises(LedgerError) as caught:
        Ledger.open(url)
    message = str(caught.value)
    assert "cannot reach the governance ledger at postgresql+psycopg2://auditor:***@127.0.0.1:1/ledger" in message
    assert "s3cret-pw" not in message and "s3cret-pw" not in repr(caught.value.details)


def test_a_url_that_is_not_a_ledger_database_is_a_ledger_error():
    with pytest.raises(LedgerError, match="not a database URL"):
        Ledger.open("not a url")
    with pytest.raises(LedgerError, match="SQLite or PostgreSQL, not 'mysql'"):
        Ledger.open("mysql://u@localhost/x")


def test_a_database_from_a_newer_release_is_refused(sqlite_url):
    ledger = Ledger.open(sqlite_url)
    with ledger.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0099_future'")
    ledger.dispose()
    with pytest.raises(LedgerError, match="at revision 0099_future"):
        Ledger.open(sqlite_url)


def test_the_ledger_in_a_child_process_is_its_own(sqlite_url):
    """The cache is per process: a forked child must not reuse the parent's pooled connections."""
    ledger = Ledger.open(sqlite_url)
    ledger.append("parent", {})
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            child = Ledger.open(sqlite_url)
            ok = child is not ledger and child.append("child", {}).seq == 2
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [e.kind for e in ledger.events()] == ["parent", "child"]
