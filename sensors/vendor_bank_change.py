"""Sensors of vendor_bank_change: a decided request (two approvals, a rejection or expiry) is applied."""

from __future__ import annotations

from assets.vendor_bank_change import vendor_bank_change_apply
from governed_agents.dagster.sensors import make_approval_sensor
from sensors.invoice_reconcile import INTERVAL

approval_sensor = make_approval_sensor(
    vendor_bank_change_apply, workflow="vendor_bank_change", asset_name="applied_bank_changes",
    minimum_interval_seconds=INTERVAL,
)
