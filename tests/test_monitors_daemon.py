"""Each monitor run unattended by the real dagster-daemon on a short schedule.

``GOVERNED_AGENTS_MONITOR_CRON="* * * * *"`` makes every monitor schedule (and the
housekeeping schedule) tick once a minute; the daemon launches the runs, and the
asset checks and audit events they leave are read back: seeded bad data turns
every check red with a ``monitor.finding`` event, clean data leaves them green
with ``monitor.passed``. The ledger is PostgreSQL; the ERP is unchanged either way.
"""

from __future__ import annotations

import dagster as dg
import pytest

from governed_agents.dagster.daemon import running_daemon, wait_for_runs
from governed_agents.dagster.instance import instance as dagster_instance
from governed_agents.erp.connector import erp_engine
from governed_agents.ledger import Ledger
from governed_agents.monitors import MONITORS, envelope_name

from tests.test_monitors import erp_counts, seed_erp, seed_ledger

pytestmark = pytest.mark.slow

SCHEDULES = [f"{envelope_name(n)}_schedule" for n in (*MONITORS, "housekeeping")]


@pytest.fixture
def env(tmp_path, monkeypatch, pg_url):
    home = tmp_path / "home"
    monkeypatch.setenv("GOVERNED_AGENTS_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv("GOVERNED_AGENTS_MONITOR_CRON", "* * * * *")
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", pg_url)
    monkeypatch.setenv("GOVERNED_AGENTS_ERP_URL", f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    from governed_agents.dagster.instance import dagster_home

    dagster_home()
    return {"ledger": Ledger.open(pg_url), "erp": erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite3'}")}


def _run_schedules_once() -> dict:
    instance = dagster_instance()
    with running_daemon() as daemon:
        # A generous bound: under a loaded machine five runs (three at a time) queue for minutes.
        runs = wait_for_runs(instance, "dagster/schedule_name", SCHEDULES, timeout=600, process=daemon)
    assert {name: r.status for name, r in runs.items()} == {name: dg.DagsterRunStatus.SUCCESS for name in SCHEDULES}
    checks = {}
    for name in MONITORS:
        run = runs[f"{envelope_name(name)}_schedule"]
        evaluations = [e.dagster_event.event_specific_data for e in
                       instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)]
        assert len(evaluations) == 1, name
        checks[name] = evaluations[0]
    return checks


def test_daemon_runs_every_monitor_and_bad_data_turns_each_check_red(env):
    seed_erp(env["erp"], bad=True)
    seed_ledger(env["ledger"], bad=True)
    before = erp_counts(env["erp"])

    checks = _run_schedules_once()

    assert {name: c.passed for name, c in checks.items()} == {name: False for name in MONITORS}
    assert checks["duplicate_payments"].description == "2 duplicate payment(s)"
    assert checks["approval_backlog"].description == "1 approval request(s) pending past the SLA"
    assert checks["audit_chain"].description == "1 audit chain problem(s)"
    findings = env["ledger"].events(kind="monitor.finding")
    assert {e.payload["monitor"] for e in findings} == set(MONITORS)
    assert erp_counts(env["erp"]) == before


def test_daemon_runs_every_monitor_and_clean_data_leaves_each_check_green(env):
    seed_erp(env["erp"], bad=False)
    seed_ledger(env["ledger"], bad=False)

    checks = _run_schedules_once()

    assert {name: c.passed for name, c in checks.items()} == {name: True for name in MONITORS}
    assert not env["ledger"].events(kind="monitor.finding")
    assert {e.payload["monitor"] for e in env["ledger"].events(kind="monitor.passed")} == set(MONITORS)
    assert env["ledger"].verify().ok
