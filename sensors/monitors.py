"""Sensors and schedules that watch every governed workflow.

- ``run_failure_sensor``: a failed governed run leaves a receipt;
- one schedule per continuous monitor (``assets/monitors.py``), running unattended
  in the Dagster daemon, and one for the ledger's housekeeping sweeps.

Cron expressions are UTC (``governed_agents.monitors.DEFAULT_CRONS``);
``GOVERNED_AGENTS_MONITOR_CRON`` overrides every one of them (the end-to-end test
sets ``* * * * *``).
"""

import dagster as dg

from assets.monitors import TAG_MONITOR, housekeeping_job, monitor_jobs
from governed_agents.dagster.sensors import make_governed_run_failure_sensor
from governed_agents.monitors import cron as _cron
from governed_agents.monitors import envelope_name

run_failure_sensor = make_governed_run_failure_sensor()


def make_monitor_schedule(name: str, job) -> dg.ScheduleDefinition:
    """Runs ``job`` (one monitor, or the housekeeping sweeps) on its cron, from the daemon."""
    return dg.ScheduleDefinition(
        name=f"{envelope_name(name)}_schedule",
        job=job,
        cron_schedule=_cron(name),
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        tags={TAG_MONITOR: name},
        description=f"Runs the {name.replace('_', ' ')} {'sweeps' if name == 'housekeeping' else 'monitor'} "
                    f"unattended ({_cron(name)} UTC).",
    )


monitor_schedules = [make_monitor_schedule(name, job) for name, job in monitor_jobs.items()]
housekeeping_schedule = make_monitor_schedule("housekeeping", housekeeping_job)
