"""Sensor factories: approvals resume gated writes, inbox files start runs,
failed governed runs leave a receipt.

Sensors read the ledger and yield run requests; the only thing they write is
the failure sensor's receipt, which is its whole purpose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import dagster as dg

from governed_agents.dagster.metadata import (
    TAG_APPROVAL,
    TAG_ENVELOPE,
    TAG_ERP,
    TAG_TRACE,
    TAG_WORKFLOW,
)

# Requests decided this long before the cursor are looked at again: a decision
# committed late (clock skew, a long transaction) is not missed; the run key
# keeps a request from launching twice.
_CURSOR_OVERLAP = dt.timedelta(minutes=2)


def make_approval_sensor(job, *, workflow: str, asset_name: str, minimum_interval_seconds: int = 5,
                         erp: str = "demo") -> dg.SensorDefinition:
    """Fires when an approval request of ``workflow`` is decided (approved, rejected
    or past expiry): one run of ``job`` per request, ``run_key`` = the request id,
    so the same decision seen on several ticks launches one run. Launches nothing
    while the kill switch is on for the workflow."""

    @dg.sensor(
        name=f"{workflow}_approval_sensor",
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Resumes gated writes of {workflow} once a person has decided the approval request.",
    )
    def _sensor(context: dg.SensorEvaluationContext):
        from governed_agents import kill_switch
        from governed_agents.approvals.service import decided_since
        from governed_agents.ledger import Ledger

        ledger = Ledger.open()
        if kill_switch.state(ledger, workflow).engaged:
            return dg.SkipReason(f"kill switch is on for {workflow}: no gated run is launched")
        since = dt.datetime.fromisoformat(context.cursor) - _CURSOR_OVERLAP if context.cursor else None
        requests, newest = decided_since(ledger, workflow=workflow, since=since)
        runs = []
        for request in requests:
            runs.append(dg.RunRequest(
                run_key=request.id,
                run_config={"ops": {asset_name: {"config": {"approval_request_id": request.id}}}},
                tags={
                    TAG_WORKFLOW: workflow,
                    TAG_APPROVAL: request.id,
                    TAG_TRACE: request.trace_id or "",
                    TAG_ENVELOPE: request.envelope_digest,
                    TAG_ERP: erp,
                },
            ))
        cursor = newest.isoformat() if newest else context.cursor
        if not runs:
            return dg.SensorResult(skip_reason="no newly decided approval requests", cursor=cursor)
        return dg.SensorResult(run_requests=runs, cursor=cursor)

    return _sensor


def make_inbox_sensor(job, *, workflow: str, asset_name: str, folder: Path,
                      minimum_interval_seconds: int = 10) -> dg.SensorDefinition:
    """Fires for each invoices CSV dropped into ``folder``: one run of ``job`` per
    distinct file content (``run_key`` = its sha256), so a file starts one run even
    across daemon restarts, and a renamed copy of it starts none."""

    @dg.sensor(
        name=f"{workflow}_inbox_sensor",
        job=job,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Starts a {workflow} run for each invoices CSV dropped into {folder}.",
    )
    def _sensor(context: dg.SensorEvaluationContext):
        seen = json.loads(context.cursor) if context.cursor else {}
        if not folder.is_dir():
            return dg.SkipReason(f"inbox {folder} does not exist")
        runs = []
        for path in sorted(folder.glob("*.csv")):
            stat = path.stat()
            stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
            if seen.get(path.name, {}).get("stamp") == stamp:
                continue  # unchanged since we hashed it
            digest = _sha256(path)
            seen[path.name] = {"stamp": stamp, "sha256": digest}
            runs.append(dg.RunRequest(
                run_key=f"inbox:{digest}",
                run_config={"ops": {asset_name: {"config": {"inbox_file": str(path),
                                                            "batch_id": f"inbox-{digest[:16]}"}}}},
                tags={TAG_WORKFLOW: workflow, "governed_agents/inbox_file": path.name},
            ))
        return dg.SensorResult(run_requests=runs, cursor=json.dumps(seen, sort_keys=True))

    return _sensor


def _master_data_names():
    """The ERP's person names for redacting a failure's text, or None when they cannot be read."""
    try:
        from governed_agents.erp.connector import erp_engine
        from governed_agents.erp.people import known_names

        return known_names(erp_engine())
    except Exception:  # the failure may be the ERP itself: the receipt must still be written
        return None


def make_governed_run_failure_sensor() -> dg.SensorDefinition:
    """Fires when a governed run (tagged with a workflow) fails: leaves a run
    receipt and a ``run.failed`` audit event, so a failure is as visible to an
    auditor as a success."""

    @dg.run_failure_sensor(
        name="governed_run_failure_sensor",
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=5,
        description="Leaves a receipt and an audit event for every failed governed run.",
    )
    def _sensor(context: dg.RunFailureSensorContext):
        from governed_agents.envelope import find_envelope
        from governed_agents.ledger import Ledger
        from governed_agents.workflows.invoice_reconcile import run_receipt

        run = context.dagster_run
        workflow = run.tags.get(TAG_WORKFLOW)
        if not workflow:
            return dg.SkipReason(f"run {run.run_id} is not a governed run")
        message = context.failure_event.message if context.failure_event else "run failed"
        errors = []
        for step in context.get_step_failure_events():
            error = step.step_failure_data.error if step.step_failure_data else None
            while error is not None and error.cause is not None:
                error = error.cause  # Dagster wraps the step's own exception
            if error is not None:
                errors.append((step.step_key, error.cls_name or "Error", error.message.strip()))
        names = _master_data_names()
        if names is None:
            # An error text may quote a person the run read (a vendor contact in a memo); with the
            # master data unreadable it could not be redacted by name, so only its shape is kept.
            notes = "run failed: " + " | ".join(f"{key}: {cls}" for key, cls, _ in errors) + \
                " (error text withheld: the ERP's person names could not be read to redact it)"
        else:
            notes = f"run failed: {message}" + "".join(f" | {key}: {text}" for key, _, text in errors)
        signed = run_receipt(
            Ledger.open(), find_envelope(workflow), run_id=run.run_id,
            trace_id=run.tags.get(TAG_TRACE) or run.run_id.replace("-", ""),
            requested_by=run.tags.get("governed_agents/requested_by", "dagster"),
            summary={"status": "failed", "job": run.job_name, "approval_id": run.tags.get(TAG_APPROVAL)},
            checks=[], notes=notes[:2000], kind="run", known_names=names or (),
        )
        context.log.info(f"failure receipt {signed.receipt.receipt_id} for run {run.run_id}")

    return _sensor


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
