"""Sensors of expense_receipt_chase: a decided reminder past the bounds is sent (or receipted as refused)."""

from __future__ import annotations

from assets.expense_receipt_chase import expense_receipt_chase_send
from governed_agents.dagster.sensors import make_approval_sensor
from sensors.invoice_reconcile import INTERVAL

approval_sensor = make_approval_sensor(
    expense_receipt_chase_send, workflow="expense_receipt_chase", asset_name="approved_reminders",
    minimum_interval_seconds=INTERVAL,
)
