"""The retention schedule: registered in the code location, its job purges, and the real daemon runs it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from governed_agents.dagster.resources import GovernanceResource
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import transcripts
from tests.test_retention import catalog, envelope, server, write_transcripts  # noqa: F401 (fixtures)


def _ids(ledger) -> set[str]:
    with ledger.engine.connect() as c:
        return {r[0] for r in c.execute(sa.select(transcripts.c.id))}


def test_the_code_location_registers_the_schedule_running_by_default():
    import dagster as dg

    import definitions

    schedule = definitions.defs.get_repository_def().get_schedule_def("transcript_retention")
    assert schedule.job_name == "transcript_retention_job"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.execution_timezone == "UTC"


def test_the_job_purges_past_retention(db_url, server, catalog):  # noqa: F811
    from sensors.retention import transcript_retention_job

    ledger = Ledger.open(db_url)
    old = write_transcripts(ledger, server, catalog, envelope(), days_ago=60, n=2, tag="job")
    fresh = write_transcripts(ledger, server, catalog, envelope(), days_ago=3, n=1, tag="job")
    result = transcript_retention_job.execute_in_process(
        resources={"governance": GovernanceResource(ledger_url=db_url)})
    assert result.success
    assert result.output_for_node("purge_transcripts") == {"deleted": 2, "workflows": ["invoice_reconcile"]}
    assert _ids(ledger) == set(fresh) and not set(old) & _ids(ledger)
    (event,) = ledger.events(kind="transcripts.purged")
    assert event.actor == "dagster.retention" and event.payload["count"] == 2
    assert ledger.verify().ok


@pytest.mark.slow
def test_the_daemon_runs_the_schedule(tmp_path, monkeypatch, server, catalog):  # noqa: F811
    from dagster import DagsterRunStatus, RunsFilter

    from governed_agents.dagster.daemon import running_daemon
    from governed_agents.dagster.instance import dagster_home, instance

    home = tmp_path / "home"
    monkeypatch.setenv("GOVERNED_AGENTS_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.delenv("GOVERNED_AGENTS_DB_URL", raising=False)
    monkeypatch.setenv("GOVERNED_AGENTS_RETENTION_CRON", "* * * * *")  # every minute, for the test
    dagster_home()
    ledger = Ledger.open()  # the home's ledger, which the daemon's runs use too
    old = write_transcripts(ledger, server, catalog, envelope(), days_ago=31, n=2, tag="daemon")
    fresh = write_transcripts(ledger, server, catalog, envelope(), days_ago=0.5, n=1, tag="daemon")
    dagster = instance()

    with running_daemon() as daemon:
        import time

        deadline = time.monotonic() + 180  # the first tick is at the next minute boundary
        runs = []
        while time.monotonic() < deadline:
            runs = [r for r in dagster.get_runs(filters=RunsFilter(tags={"dagster/schedule_name": "transcript_retention"}))
                    if r.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE)]
            if runs or daemon.poll() is not None:
                break
            time.sleep(1)
    assert runs, f"no run of the transcript_retention schedule; daemon log: {dagster_home() / 'daemon.log'}"
    assert runs[-1].status == DagsterRunStatus.SUCCESS
    assert _ids(ledger) == set(fresh) and not set(old) & _ids(ledger)
    events = ledger.events(kind="transcripts.purged")
    assert events and events[0].payload["count"] == 2 and events[0].actor == "dagster.retention"
    assert events[0].payload["retention_days"] == 30
    assert ledger.verify().ok
