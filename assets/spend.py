"""Model spend as an asset: the spend report's figures, and a check that turns red
when any cap of any governed workflow is exceeded."""

import dagster as dg

from governed_agents.dagster.metadata import markdown_table
from governed_agents.dagster.resources import GovernanceResource


@dg.asset(
    group_name="spend",
    kinds={"python"},
    owners=["team:platform"],
    description="Model spend by workflow, user, tenant and model, and cost per completed task "
                "(the figures of `governed-agents spend report`).",
    check_specs=[dg.AssetCheckSpec(
        name="within_caps", asset="model_spend", blocking=True,
        description="No workflow, user or tenant cap (envelope or admin) is exceeded in its current period.")],
)
def model_spend(context: dg.AssetExecutionContext, governance: GovernanceResource):
    from governed_agents.routing import caps_status, spend_report
    from governed_agents.workflows import TOOLSETS

    ledger = governance.ledger()
    report = spend_report(ledger)
    totals = report["totals"]
    statuses = [s for workflow in sorted(TOOLSETS) for s in caps_status(ledger, governance.envelope(workflow))]
    caps = [{"budget": s.budget, "name": s.name, "period": s.period, "cap_usd": s.cap_usd,
             "spent_usd": s.spent_usd, "used": f"{s.fraction:.0%}", "exceeded": s.exceeded} for s in statuses]
    yield dg.Output(report, metadata={
        "cost_usd": float(totals["cost_usd"]),
        "model_calls": totals["model_calls"],
        "cache_hits": totals["cache_hits"],
        "cost_per_completed_task_usd": (float(totals["cost_per_completed_task_usd"])
                                        if totals["cost_per_completed_task_usd"] is not None else None),
        "offline_model_used": report["offline_model_used"],
        "by_workflow": dg.MetadataValue.json(report["by_workflow"]),
        "by_model": dg.MetadataValue.json(report["by_model"]),
        "caps": dg.MetadataValue.md(markdown_table(
            caps, ["budget", "name", "period", "cap_usd", "spent_usd", "used", "exceeded"])),
    })
    exceeded = [c for c in caps if c["exceeded"]]
    yield dg.AssetCheckResult(
        check_name="within_caps", passed=not exceeded, severity=dg.AssetCheckSeverity.ERROR,
        description=(f"{len(exceeded)} cap(s) exceeded" if exceeded else f"{len(caps)} cap(s) within limits"),
        metadata={"exceeded": dg.MetadataValue.json([{k: str(v) for k, v in c.items()} for c in exceeded])},
    )


spend_report_job = dg.define_asset_job(
    "spend_report", selection=dg.AssetSelection.assets(model_spend),
    description="Refresh the model-spend figures and check every cap.", executor_def=dg.in_process_executor,
)
