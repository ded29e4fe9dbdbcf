"""The governed-agents code location: every workflow's assets, jobs and sensors.

Resources are chosen per deployment by ``GOVERNED_AGENTS_DEPLOYMENT``:
``local`` (default; the ledger and ERP from the environment, SQLite in the home)
or ``prod`` (explicit URLs from ``GOVERNED_AGENTS_DB_URL`` / ``GOVERNED_AGENTS_ERP_URL``).
"""

from __future__ import annotations

import os

import dagster as dg

from assets import evals, invoice_reconcile, spend
from assets import metrics as metric_assets
from assets import monitors as monitor_assets
from governed_agents.dagster.resources import GovernanceResource
from sensors import invoice_reconcile as invoice_reconcile_sensors
from sensors import monitors
from sensors import retention

_RESOURCES = {
    "local": lambda: {"governance": GovernanceResource()},
    "prod": lambda: {"governance": GovernanceResource(
        ledger_url=dg.EnvVar("GOVERNED_AGENTS_DB_URL"), erp_url=dg.EnvVar("GOVERNED_AGENTS_ERP_URL"))},
}


def _io_manager():
    # Values pass between the steps of one run in memory and never reach disk: invoice lines
    # and reconcile results carry the vendors' free text (personal data), which must not land
    # in $DAGSTER_HOME/storage (logging.redact_pii; docs/safety.md). Every job therefore runs
    # its steps in one process (executor below); a step re-executed alone re-runs its upstream.
    return dg.InMemoryIOManager()


deployment = os.environ.get("GOVERNED_AGENTS_DEPLOYMENT", "local")

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([invoice_reconcile, spend, monitor_assets, metric_assets]), *evals.eval_assets],
    jobs=[invoice_reconcile.invoice_reconcile_propose, invoice_reconcile.invoice_reconcile_post,
          spend.spend_report_job, retention.transcript_retention_job, evals.eval_release_gate,
          *monitor_assets.monitor_jobs.values(), monitor_assets.housekeeping_job,
          metric_assets.operational_metrics_job],
    schedules=[retention.transcript_retention, *monitors.monitor_schedules, monitors.housekeeping_schedule],
    sensors=[
        invoice_reconcile_sensors.approval_sensor,
        invoice_reconcile_sensors.inbox_sensor,
        monitors.run_failure_sensor,
    ],
    resources={**_RESOURCES[deployment](), "io_manager": _io_manager()},
    executor=dg.in_process_executor,
)
