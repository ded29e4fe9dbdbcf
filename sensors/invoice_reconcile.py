"""Sensors of invoice_reconcile: approvals resume posting; inbox files start runs."""

from __future__ import annotations

import os
from pathlib import Path

from assets.invoice_reconcile import invoice_reconcile_post, invoice_reconcile_propose
from governed_agents import config
from governed_agents.dagster.sensors import make_approval_sensor, make_inbox_sensor


def inbox_folder() -> Path:
    """``GOVERNED_AGENTS_INBOX``, default ``$GOVERNED_AGENTS_HOME/inbox/invoice_reconcile``."""
    configured = os.environ.get("GOVERNED_AGENTS_INBOX")
    return Path(configured) if configured else config.home() / "inbox" / "invoice_reconcile"


# Seconds between sensor evaluations (the daemon's loop adds a little).
INTERVAL = int(os.environ.get("GOVERNED_AGENTS_SENSOR_INTERVAL", "5"))

approval_sensor = make_approval_sensor(
    invoice_reconcile_post, workflow="invoice_reconcile", asset_name="posted_journal_entries",
    minimum_interval_seconds=INTERVAL,
)

inbox_sensor = make_inbox_sensor(
    invoice_reconcile_propose, workflow="invoice_reconcile", asset_name="erp_invoices",
    folder=inbox_folder(), minimum_interval_seconds=max(INTERVAL, 2),
)
