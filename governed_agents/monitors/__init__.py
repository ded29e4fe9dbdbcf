"""Continuous monitors: read-only agents that watch the systems and the ledger on a schedule.

Each monitor is a workflow of its own: an envelope ``policies/monitor_<name>.yaml``
(pattern ``continuous``, read tools only, its own budget) and read tools that run
through the same gate and executor as every other agent. A monitor never writes to
a system of record; what it finds becomes a ``monitor.finding`` audit event (and a
red asset check in Dagster), which also demotes the autonomy of the workflows the
finding names (``governed_agents.autonomy``).

- ``checks``: the pure detection logic (duplicate payments, spend drift, backlog);
- ``tools``: the read tools monitors call (ERP and ledger reads);
- ``runner``: ``run_monitor(name)`` — envelope, gate, findings, audit event;
- ``housekeeping``: the sweeps that keep the ledger tidy (stale reservations,
  expired cache entries, overdue approvals), scheduled beside the monitors.
"""

from __future__ import annotations

MONITORS: tuple[str, ...] = ("duplicate_payments", "spend_anomaly", "approval_backlog", "audit_chain")

#: Default cadence (cron, UTC) of each monitor's schedule and of the housekeeping sweeps,
#: spread over the hour so runs do not pile up. ``GOVERNED_AGENTS_MONITOR_CRON`` overrides all.
DEFAULT_CRONS: dict[str, str] = {
    "duplicate_payments": "7 * * * *",
    "spend_anomaly": "17 * * * *",
    "approval_backlog": "*/30 * * * *",
    "audit_chain": "37 * * * *",
    "housekeeping": "47 * * * *",
}


def cron(name: str) -> str:
    """The cron expression the schedule of ``name`` runs on."""
    import os

    return os.environ.get("GOVERNED_AGENTS_MONITOR_CRON") or DEFAULT_CRONS[name]


def envelope_name(monitor: str) -> str:
    """The workflow name of a monitor's envelope (``policies/monitor_<name>.yaml``)."""
    return f"monitor_{monitor}"


def __getattr__(name: str):
    if name in ("run_monitor", "MonitorResult", "Finding"):
        from governed_agents.monitors import runner

        return getattr(runner, name)
    if name == "run_housekeeping":
        from governed_agents.monitors.housekeeping import run_housekeeping

        return run_housekeeping
    raise AttributeError(name)


__all__ = ["DEFAULT_CRONS", "MONITORS", "cron", "Finding", "MonitorResult", "envelope_name", "run_housekeeping", "run_monitor"]
