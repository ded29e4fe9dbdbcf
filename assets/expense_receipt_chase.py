"""expense_receipt_chase as Dagster assets: chase within bounds → (approval past them) → send.

A chase run sends the reminders its envelope's bounds allow at once and turns
the rest into approval requests; each decided request is sent in its own run,
launched by the approval sensor. The logic lives in
``governed_agents.workflows.expense_receipt_chase``; the bounds are the gate's.
"""


import dagster as dg
from pydantic import Field

from governed_agents.dagster.metadata import TAG_TRACE, approved_write_result, receipt_metadata
from governed_agents.dagster.resources import GovernanceResource

WORKFLOW = "expense_receipt_chase"
GROUP = "expense_receipt_chase"
OWNERS = ["team:finance-ops"]
ERROR = dg.AssetCheckSeverity.ERROR


class ChaseConfig(dg.Config):
    requested_by: str = Field(default="alice", description="The person on whose behalf reminders are sent.")
    seed_demo: bool = Field(default=False, description="Add the demo employees and card transactions first "
                                                       "(idempotent).")


class SendConfig(dg.Config):
    approval_request_id: str = Field(description="The decided approval request to carry out.")


@dg.asset(
    group_name=GROUP,
    kinds={"python", "sql"},
    owners=OWNERS,
    description="One reminder per card transaction without a receipt: sent at once inside the envelope's "
                "bounds, an approval request past them.",
    check_specs=[
        dg.AssetCheckSpec(name="nothing_dropped", asset="receipt_reminders", blocking=True,
                          description="Every transaction without a receipt was reminded, is awaiting approval, "
                                      "or was reminded today already."),
        dg.AssetCheckSpec(name="bounds_respected", asset="receipt_reminders", blocking=True,
                          description="No bound of the envelope holds more autonomous reminders than its max "
                                      "(counted from the ledger's recorded writes)."),
    ],
)
def receipt_reminders(context: dg.AssetExecutionContext, config: ChaseConfig, governance: GovernanceResource):
    from governed_agents.workflows import expense_receipt_chase as wf
    from governed_agents.workflows.invoice_reconcile import checks_of_run, run_receipt

    envelope = governance.envelope(WORKFLOW)
    if config.seed_demo:
        from governed_agents.erp.expenses import seed_expenses

        seed_expenses(governance.erp_engine())
    ledger = governance.ledger()
    names = governance.known_names()
    summary = wf.chase(governance.executor(WORKFLOW), envelope, requested_by=config.requested_by,
                       run_id=context.run_id, known_names=names)
    dropped = {t: o for t, o in summary.outcomes.items()
               if o not in ("sent", "needs_approval", "awaiting_approval", "already_sent")}
    yield dg.AssetCheckResult(check_name="nothing_dropped", passed=not dropped and
                              len(summary.outcomes) == summary.missing, severity=ERROR,
                              metadata={"not_handled": dg.MetadataValue.json(dropped)})
    from governed_agents.bounds import overruns

    over = overruns(ledger, envelope)
    yield dg.AssetCheckResult(check_name="bounds_respected", passed=not over, severity=ERROR,
                              metadata={"over": dg.MetadataValue.json(over)})
    receipt = run_receipt(ledger, envelope, run_id=context.run_id,
                          trace_id=context.run.tags.get(TAG_TRACE) or context.run_id.replace("-", ""),
                          requested_by=config.requested_by,
                          summary={"outcomes": summary.outcomes, "by_reason": summary.by_outcome,
                                   "approval_requests": summary.approval_requests},
                          checks=checks_of_run(context.instance, context.run_id), known_names=names)
    yield dg.Output(summary.to_dict(), metadata={
        "missing_receipts": summary.missing,
        "by_outcome": dg.MetadataValue.json(summary.by_outcome),
        "approval_requests": len(summary.approval_requests),
        "approve_with": f"governed-agents approvals approve --batch {context.run_id}",
        **receipt_metadata(receipt, prefix="run_receipt"),
    })


@dg.asset(
    group_name=GROUP,
    kinds={"python", "sql"},
    owners=OWNERS,
    deps=[receipt_reminders],
    description="A reminder past the bounds, sent once after approval (or a receipt saying why not).",
)
def approved_reminders(context: dg.AssetExecutionContext, config: SendConfig, governance: GovernanceResource):
    from governed_agents.workflows import expense_receipt_chase as wf

    result = wf.send_approved(config.approval_request_id, governance.executor(WORKFLOW),
                              governance.envelope(WORKFLOW), run_id=context.run_id,
                              known_names=governance.known_names())
    return approved_write_result(config.approval_request_id, result)


expense_receipt_chase_run = dg.define_asset_job(
    "expense_receipt_chase_run",
    selection=dg.AssetSelection.assets(receipt_reminders),
    description="Remind employees of missing receipts, within the envelope's bounds.",
    tags={"governed_agents/workflow": WORKFLOW},
    executor_def=dg.in_process_executor,
)

expense_receipt_chase_send = dg.define_asset_job(
    "expense_receipt_chase_send",
    selection=dg.AssetSelection.assets(approved_reminders),
    description="Send one approved reminder (launched by the approval sensor).",
    tags={"governed_agents/workflow": WORKFLOW, "governed_agents/erp": "demo"},
    executor_def=dg.in_process_executor,
)
