"""vendor_bank_change as Dagster assets: assess and propose → (two approvers) → apply.

Proposals run on demand (``governed-agents run vendor_bank_change`` or the UI);
applying runs in its own run per decided request, launched by the approval
sensor. The steps' logic lives in ``governed_agents.workflows.vendor_bank_change``.
"""


import dagster as dg
from pydantic import Field

from governed_agents.dagster.metadata import (SETTLED_OUTCOMES, TAG_TRACE, approved_write_result, markdown_table,
                                              receipt_metadata)
from governed_agents.dagster.resources import GovernanceResource

WORKFLOW = "vendor_bank_change"
GROUP = "vendor_bank_change"
OWNERS = ["team:treasury"]
ERROR = dg.AssetCheckSeverity.ERROR


class ProposeConfig(dg.Config):
    requested_by: str = Field(default="alice", description="The person who entered the requests.")
    seed_demo: bool = Field(default=False, description="Add the demo vendors and requests first (idempotent).")


class ApplyConfig(dg.Config):
    approval_request_id: str = Field(description="The decided approval request to carry out.")


@dg.asset(
    group_name=GROUP,
    kinds={"python", "sql"},
    owners=OWNERS,
    description="Every pending bank-account change request, checked for red flags against the vendor master "
                "and earlier requests; blocked ones stop here, the others wait for two approvers "
                "(masked-IBAN diff preview).",
    check_specs=[dg.AssetCheckSpec(
        name="every_request_accounted", asset="bank_change_proposals", blocking=True,
        description="Each pending request is either awaiting dual approval or blocked with an audit event; "
                    "none was denied by the gate or dropped.")],
)
def bank_change_proposals(context: dg.AssetExecutionContext, config: ProposeConfig, governance: GovernanceResource):
    from governed_agents.workflows import vendor_bank_change as wf
    from governed_agents.workflows.invoice_reconcile import checks_of_run, run_receipt

    engine = governance.erp_engine()
    envelope = governance.envelope(WORKFLOW)
    if config.seed_demo:
        from governed_agents.erp.vendor_master import seed_vendor_master

        seed_vendor_master(engine)
    names = governance.known_names()
    proposals = wf.propose(engine, governance.executor(WORKFLOW), envelope, requested_by=config.requested_by,
                           run_id=context.run_id, batch_id=context.run_id, known_names=names)
    rows = [{"request": p.request_id, "vendor": p.vendor_id, "red_flags": ", ".join(p.red_flags) or "none",
             "outcome": p.outcome, "approval_request": p.approval_request_id or ""} for p in proposals]
    bad = [r for r in rows if r["outcome"] not in ("needs_approval", "blocked", "already_proposed",
                                                   "already_applied")]
    summary = {"outcomes": {p.request_id: p.outcome for p in proposals},
               "by_reason": wf_counts(proposals),
               "approval_requests": [p.approval_request_id for p in proposals if p.outcome == "needs_approval"]}
    yield dg.AssetCheckResult(check_name="every_request_accounted", passed=not bad, severity=ERROR,
                              metadata={"not_accounted": dg.MetadataValue.json(bad)})
    receipt = run_receipt(governance.ledger(), envelope, run_id=context.run_id,
                          trace_id=context.run.tags.get(TAG_TRACE) or context.run_id.replace("-", ""),
                          requested_by=config.requested_by, summary=summary,
                          checks=checks_of_run(context.instance, context.run_id), known_names=names)
    yield dg.Output([p.to_dict() for p in proposals], metadata={
        "requests": len(proposals),
        "by_outcome": dg.MetadataValue.json(summary["by_reason"]),
        "proposals": dg.MetadataValue.md(markdown_table(rows, ["request", "vendor", "red_flags", "outcome",
                                                               "approval_request"])),
        "approve_with": "governed-agents approvals approve REQUEST_ID (two distinct FinanceAdmins)",
        **receipt_metadata(receipt, prefix="run_receipt"),
    })


def wf_counts(proposals) -> dict[str, int]:
    from collections import Counter

    return dict(sorted(Counter(p.outcome for p in proposals).items()))


@dg.asset(
    group_name=GROUP,
    kinds={"python", "sql"},
    owners=OWNERS,
    deps=[bank_change_proposals],
    description="A decided bank-change request carried out: applied once after two approvals, or a receipt "
                "saying why not (rejected, expired, refused).",
)
def applied_bank_changes(context: dg.AssetExecutionContext, config: ApplyConfig, governance: GovernanceResource):
    from governed_agents.workflows import vendor_bank_change as wf

    result = wf.apply(config.approval_request_id, governance.executor(WORKFLOW), governance.envelope(WORKFLOW),
                      run_id=context.run_id, known_names=governance.known_names())
    # Dual control: after the first of two approvals the request is still waiting (not a failure).
    return approved_write_result(config.approval_request_id, result,
                                 settled=SETTLED_OUTCOMES | {"awaiting_approval"})


vendor_bank_change_propose = dg.define_asset_job(
    "vendor_bank_change_propose",
    selection=dg.AssetSelection.assets(bank_change_proposals),
    description="Check pending bank-account change requests and ask for dual approval.",
    tags={"governed_agents/workflow": WORKFLOW},
    executor_def=dg.in_process_executor,
)

vendor_bank_change_apply = dg.define_asset_job(
    "vendor_bank_change_apply",
    selection=dg.AssetSelection.assets(applied_bank_changes),
    description="Carry out one decided bank-change request (launched by the approval sensor).",
    tags={"governed_agents/workflow": WORKFLOW, "governed_agents/erp": "demo"},
    executor_def=dg.in_process_executor,
)
