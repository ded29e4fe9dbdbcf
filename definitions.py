"""The governed-agents code location: every workflow's assets, jobs and sensors.

Resources are chosen per deployment by ``GOVERNED_AGENTS_DEPLOYMENT``:
``local`` (default; the ledger and ERP from the environment, SQLite in the home)
or ``prod`` (explicit URLs from ``GOVERNED_AGENTS_DB_URL`` / ``GOVERNED_AGENTS_ERP_URL``).
"""

from __future__ import annotations

import os

import dagster as dg

from assets import evals, invoice_reconcile, spend
from assets import expense_receipt_chase, vendor_bank_change
from assets import metrics as metric_assets
from assets import monitors as monitor_assets
from governed_agents.dagster.instance import dagster_home
from governed_agents.dagster.resources import GovernanceResource
from sensors import expense_receipt_chase as expense_receipt_chase_sensors
from sensors import invoice_reconcile as invoice_reconcile_sensors
from sensors import monitors
from sensors import retention
from sensors import vendor_bank_change as vendor_bank_change_sensors

_RESOURCES = {
    "local": lambda: {"governance": GovernanceResource()},
    "prod": lambda: {"governance": GovernanceResource(
        ledger_url=dg.EnvVar("GOVERNED_AGENTS_DB_URL"), erp_url=dg.EnvVar("GOVERNED_AGENTS_ERP_URL"))},
}


def _io_manager():
    # The invoice_reconcile assets whose values carry vendors' free text keep them in memory
    # (io_manager_def on the asset; docs/safety.md); the default below serves the others.
    return dg.FilesystemIOManager(base_dir=str(dagster_home() / "storage"))


deployment = os.environ.get("GOVERNED_AGENTS_DEPLOYMENT", "local")


def _scaleout_jobs() -> list:
    """The Celery scale-out job (governed_agents/dagster/scaleout.py), only where a deployment
    asks for it with GOVERNED_AGENTS_SCALEOUT=celery: importing dagster-celery costs every
    step process about 0.4 s."""
    if os.environ.get("GOVERNED_AGENTS_SCALEOUT") != "celery":
        return []
    from governed_agents.dagster.scaleout import invoice_reconcile_sharded

    return [invoice_reconcile_sharded]


defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([invoice_reconcile, spend, monitor_assets, metric_assets]), *evals.eval_assets,
            *dg.load_assets_from_modules([vendor_bank_change, expense_receipt_chase])],
    jobs=[invoice_reconcile.invoice_reconcile_propose, invoice_reconcile.invoice_reconcile_post,
          spend.spend_report_job, retention.transcript_retention_job, evals.eval_release_gate,
          *monitor_assets.monitor_jobs.values(), monitor_assets.housekeeping_job,
          metric_assets.operational_metrics_job,
          vendor_bank_change.vendor_bank_change_propose, vendor_bank_change.vendor_bank_change_apply,
          expense_receipt_chase.expense_receipt_chase_run, expense_receipt_chase.expense_receipt_chase_send,
          *_scaleout_jobs()],
    schedules=[retention.transcript_retention, *monitors.monitor_schedules, monitors.housekeeping_schedule],
    sensors=[
        invoice_reconcile_sensors.approval_sensor,
        invoice_reconcile_sensors.inbox_sensor,
        vendor_bank_change_sensors.approval_sensor,
        expense_receipt_chase_sensors.approval_sensor,
        monitors.run_failure_sensor,
    ],
    resources={**_RESOURCES[deployment](), "io_manager": _io_manager()},
    # Steps of one run share a process, so in-memory values pass between them (jobs that name
    # their own executor, e.g. the Celery scale-out, keep it).
    executor=dg.in_process_executor,
)
