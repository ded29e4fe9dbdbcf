"""Continuous monitors as assets: one asset per monitor, with a check that turns red on a finding.

Each asset runs one read-only monitor agent (``governed_agents.monitors``) and
materialises what it found; its ``no_findings`` check is green when the monitor
found nothing and red when it found something *or could not run* (an unreachable
ledger, a refused read, an envelope that is not read-only): a monitor that cannot
look is never reported as a monitor that saw nothing. Schedules in
``sensors/monitors.py`` run them unattended. ``ledger_housekeeping`` runs the
ledger's sweeps on a schedule of its own.
"""

import dagster as dg

from governed_agents.dagster.metadata import markdown_table
from governed_agents.dagster.resources import GovernanceResource
from governed_agents.monitors import MONITORS, envelope_name

GROUP = "monitors"
OWNERS = ["team:platform"]
TAG_MONITOR = "governed_agents/monitor"

_DESCRIPTIONS = {
    "duplicate_payments": "Posted journal entries paying the same vendor the same amount for the same "
                          "(or nearly the same) invoice number.",
    "spend_anomaly": "Workflows whose model cost per completed task rose above its baseline.",
    "approval_backlog": "Approval requests pending longer than the SLA in the monitor's envelope.",
    "audit_chain": "The hash-chained audit log, verified on a schedule (`governed-agents audit verify`).",
}


def _columns(findings: list[dict]) -> list[str]:
    keys: list[str] = []
    for f in findings:
        keys += [k for k in f if k not in keys]
    return keys


def _monitor_asset(name: str) -> dg.AssetsDefinition:
    asset_name = envelope_name(name)

    @dg.asset(
        name=asset_name,
        group_name=GROUP,
        kinds={"python"},
        owners=OWNERS,
        description=_DESCRIPTIONS[name] + " A read-only monitor agent under policies/" + asset_name + ".yaml.",
        check_specs=[dg.AssetCheckSpec(
            name="no_findings", asset=asset_name,
            description="Green when the monitor ran and found nothing; red on a finding or when it could not run.")],
    )
    def _asset(context, governance: GovernanceResource):
        from governed_agents.monitors import run_monitor

        try:
            result = run_monitor(name, ledger=governance.ledger(), erp_engine=governance.erp_engine(),
                                 envelope=governance.envelope(asset_name))
        except Exception as exc:  # noqa: BLE001 - whatever stopped it, the check says so (red)
            message = f"{type(exc).__name__}: {exc}"
            context.log.error(f"monitor {name} could not run: {message}")
            yield dg.Output({"monitor": name, "ok": False, "error": message},
                            metadata={"status": "could not run", "error": message[:2000]})
            yield dg.AssetCheckResult(check_name="no_findings", passed=False,
                                      severity=dg.AssetCheckSeverity.ERROR,
                                      description=f"monitor could not run: {message}"[:1000],
                                      metadata={"error": message[:2000]})
            return
        shown = result.findings[:50]
        yield dg.Output(result.to_dict(), metadata={
            "status": "ok" if result.ok else "findings",
            "summary": result.summary,
            "finding_count": len(result.findings),
            "checked": dg.MetadataValue.json(result.checked),
            "subject_workflows": dg.MetadataValue.json(result.subject_workflows),
            "audit_seq": result.audit_seq,
            "trace_id": result.trace_id,
            "findings": dg.MetadataValue.md(markdown_table(shown, _columns(shown)) if shown else "none"),
        })
        yield dg.AssetCheckResult(check_name="no_findings", passed=result.ok,
                                  severity=dg.AssetCheckSeverity.ERROR, description=result.summary,
                                  metadata={"finding_count": len(result.findings),
                                            "audit_seq": result.audit_seq or 0})

    return _asset


monitor_assets = {name: _monitor_asset(name) for name in MONITORS}

monitor_jobs = {
    name: dg.define_asset_job(
        f"{envelope_name(name)}_job", selection=dg.AssetSelection.assets(asset),
        description=f"Run the {name} monitor once.", tags={TAG_MONITOR: name},
        executor_def=dg.in_process_executor,
    )
    for name, asset in monitor_assets.items()
}


@dg.asset(group_name=GROUP, kinds={"python"}, owners=OWNERS,
          description="The ledger's sweeps: stale spend reservations closed, expired model-cache entries "
                      "purged, overdue approval requests marked expired.")
def ledger_housekeeping(context, governance: GovernanceResource):
    from governed_agents.monitors import run_housekeeping

    done = run_housekeeping(governance.ledger())
    context.log.info(f"housekeeping: {done}")
    return dg.MaterializeResult(metadata={k: v for k, v in done.items() if isinstance(v, int)})


housekeeping_job = dg.define_asset_job(
    "ledger_housekeeping_job", selection=dg.AssetSelection.assets(ledger_housekeeping),
    description="Run the ledger's sweeps once.", tags={TAG_MONITOR: "housekeeping"},
    executor_def=dg.in_process_executor,
)

# Module-level names for load_assets_from_modules.
monitor_duplicate_payments = monitor_assets["duplicate_payments"]
monitor_spend_anomaly = monitor_assets["spend_anomaly"]
monitor_approval_backlog = monitor_assets["approval_backlog"]
monitor_audit_chain = monitor_assets["audit_chain"]
