"""``governed-agents audit verify|list``: output, --json, exit codes, in-process and as a real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from governed_agents.cli.main import main
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import audit_events

REPO = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "governed-agents")


def _seeded(url: str, monkeypatch) -> Ledger:
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", url)
    ledger = Ledger.open(url)
    for i in range(12):
        ledger.append(
            "gate.decision" if i % 3 else "approval.requested",
            {"i": i},
            actor="agent:reconciler",
            trace_id=f"trace-{i % 2}",
        )
    return ledger


@pytest.fixture
def ledger(sqlite_url, monkeypatch):
    """The CLI does not depend on the database; one test below runs it on both."""
    return _seeded(sqlite_url, monkeypatch)


def _tamper(ledger: Ledger, sql: str) -> None:
    with ledger.engine.begin() as conn:
        if ledger.dialect == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")
        conn.exec_driver_sql(sql)


def test_verify_ok(ledger, capsys):
    assert main(["audit", "verify"]) == 0
    head = ledger.head()[1]
    assert capsys.readouterr().out == f"audit chain OK: 12 events, head {head[:12]}\n"

    assert main(["audit", "verify", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "ok": True,
        "events_checked": 12,
        "head_seq": 12,
        "head_hash": head,
        "first_bad_seq": None,
        "problem": None,
    }


def test_verify_names_an_edited_event(ledger, capsys):
    _tamper(ledger, "UPDATE audit_events SET payload = '{\"i\":999}' WHERE seq = 5")
    assert main(["audit", "verify"]) == 1
    captured = capsys.readouterr()
    assert "audit chain BROKEN: event 5: hash does not match its content (edited?)" in captured.err
    assert captured.out == ""

    assert main(["audit", "verify", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["error"] == "AuditChainBroken"
    assert report["details"]["first_bad_seq"] == 5
    assert report["details"]["problem"] == "event 5: hash does not match its content (edited?)"


def test_verify_on_both_databases(db_url, monkeypatch, capsys):
    ledger = _seeded(db_url, monkeypatch)
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("audit chain OK: 12 events, head ")
    _tamper(ledger, "DELETE FROM audit_events WHERE seq = 3")
    assert main(["audit", "verify", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["details"]["first_bad_seq"] == 3
    assert report["message"] == "audit chain BROKEN: event 3 missing: chain jumps from 2 to 4 (deleted?)"


def test_verify_names_a_deleted_event_and_a_deleted_tail(ledger, capsys):
    _tamper(ledger, "DELETE FROM audit_events WHERE seq = 7")
    assert main(["audit", "verify"]) == 1
    assert "event 7 missing: chain jumps from 6 to 8 (deleted?)" in capsys.readouterr().err
    _tamper(ledger, "DELETE FROM audit_events WHERE seq >= 8")  # now 1..6 remain: a deleted tail
    assert main(["audit", "verify"]) == 1
    assert "chain head says 12 events but the last is 6 (tail deleted?)" in capsys.readouterr().err


def test_verify_names_a_deleted_tail(ledger, capsys):
    _tamper(ledger, "DELETE FROM audit_events WHERE seq = 12")
    assert main(["audit", "verify"]) == 1
    assert "chain head says 12 events but the last is 11 (tail deleted?)" in capsys.readouterr().err


def test_verify_reports_progress_on_long_chains(ledger, capsys, monkeypatch):
    import governed_agents.cli.audit as audit_cli
    from governed_agents.ledger import audit as audit_module

    real = audit_module.verify_chain

    def every_five(rows, head, *, progress=None, progress_every=100_000):
        return real(rows, head, progress=progress, progress_every=5)

    monkeypatch.setattr("governed_agents.ledger.db.verify_chain", every_five)
    monkeypatch.setattr(audit_cli, "_PROGRESS_MIN_EVENTS", 10)
    assert main(["audit", "verify"]) == 0
    err = capsys.readouterr().err
    assert "verified 5 of 12 events" in err and "verified 10 of 12 events" in err

    monkeypatch.setattr(audit_cli, "_PROGRESS_MIN_EVENTS", 1000)  # short chain, not a terminal: quiet
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().err == ""


def test_list_filters_pages_and_prints_json(ledger, capsys):
    assert main(["audit", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 12 and lines[0].split()[0] == "1" and "approval.requested" in lines[0]

    assert main(["audit", "list", "--trace", "trace-1", "--kind", "gate.decision", "--json"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert [e["seq"] for e in events] == [2, 6, 8, 12]
    assert events[0]["payload"] == {"i": 1} and events[0]["ts"].endswith("Z")

    assert main(["audit", "list", "--limit", "5", "--after", "5"]) == 0
    captured = capsys.readouterr()
    assert [line.split()[0] for line in captured.out.splitlines()] == ["6", "7", "8", "9", "10"]
    assert "next page: --after 10" in captured.err

    assert main(["audit", "list", "--kind", "nothing.like.this"]) == 0
    assert capsys.readouterr().out == "no audit events match\n"


def test_bad_usage_exits_2(ledger, capsys):
    assert main(["audit"]) == 2
    with pytest.raises(SystemExit) as caught:
        main(["audit", "list", "--limit", "0"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["audit", "verify", "--bogus"])
    assert caught.value.code == 2


def test_an_unreachable_ledger_exits_1_with_a_clear_message(monkeypatch, capsys):
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", "postgresql+psycopg2://auditor:hunter2@127.0.0.1:1/ledger")
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "cannot reach the governance ledger at postgresql+psycopg2://auditor:***@127.0.0.1:1/ledger" in err
    assert "hunter2" not in err and "Traceback" not in err


def test_the_installed_command_exits_0_then_1_after_tampering(tmp_path):
    """As a user runs it: the console script, a real process, the default SQLite ledger in the home."""
    env = {**os.environ, "GOVERNED_AGENTS_HOME": str(tmp_path / "home")}
    env.pop("GOVERNED_AGENTS_DB_URL", None)
    seed = "from governed_agents.ledger import Ledger\nfor i in range(5): Ledger.open().append('k', {'i': i})\n"
    subprocess.run([sys.executable, "-c", seed], env=env, cwd=REPO, check=True)

    ok = subprocess.run([CLI, "audit", "verify"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("audit chain OK: 5 events, head ")

    db = tmp_path / "home" / "ledger.sqlite3"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        conn.execute(audit_events.update().where(audit_events.c.seq == 3).values(kind="forged"))
    engine.dispose()

    bad = subprocess.run([CLI, "audit", "verify"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert "event 3: hash does not match its content (edited?)" in bad.stderr
    assert "Traceback" not in bad.stderr

    listed = subprocess.run(
        [CLI, "audit", "list", "--json"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert listed.returncode == 0 and len(json.loads(listed.stdout)["events"]) == 5
