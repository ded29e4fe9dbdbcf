"""The brief's operational metrics as an asset (the figures of `governed-agents metrics`)."""

import dagster as dg

from governed_agents.dagster.metadata import markdown_table
from governed_agents.dagster.resources import GovernanceResource


@dg.asset(
    group_name="metrics",
    kinds={"python"},
    owners=["team:platform"],
    description="Per workflow, from the ledger: cost per completed task, time to correct, approval latency "
                "(p50/p90) and blast radius per approval and per autonomous step (docs/autonomy.md).",
)
def operational_metrics(context, governance: GovernanceResource):
    from governed_agents.metrics import operational_metrics as compute

    report = compute(governance.ledger())
    rows = [{
        "workflow": w["workflow"],
        "cost_per_task_usd": w["cost_per_completed_task"]["cost_per_completed_task_usd"] or "-",
        "completed_tasks": w["cost_per_completed_task"]["completed_tasks"],
        "correct_p50_s": w["time_to_correct"]["p50_seconds"],
        "approval_p50_s": w["approval_latency"]["p50_seconds"],
        "approval_p90_s": w["approval_latency"]["p90_seconds"],
        "records_per_approval": w["blast_radius"]["per_approval"]["max_records"],
        "records_per_step": w["blast_radius"]["per_autonomous_step"]["max_records"],
    } for w in report["workflows"]]
    return dg.MaterializeResult(metadata={
        "workflows": len(rows),
        "metrics": dg.MetadataValue.md(markdown_table(rows, list(rows[0]) if rows else ["workflow"])),
        "report": dg.MetadataValue.json(report["workflows"]),
    })


operational_metrics_job = dg.define_asset_job(
    "operational_metrics_job", selection=dg.AssetSelection.assets(operational_metrics),
    description="Recompute the operational metrics from the ledger.", executor_def=dg.in_process_executor,
)
