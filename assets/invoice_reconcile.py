"""invoice_reconcile as Dagster assets: extract → match → propose → request approval → post.

Every blocking check that fails stops everything downstream. Posting happens in
its own run, launched by the approval sensor once a person has decided.
The steps' logic lives in ``governed_agents.workflows.invoice_reconcile``.
"""


import warnings
from collections import Counter

import dagster as dg
from pydantic import Field

from governed_agents.dagster.metadata import (TAG_TRACE, approved_write_result, markdown_table, receipt_metadata,
                                              redacted_metadata)
from governed_agents.dagster.resources import GovernanceResource

WORKFLOW = "invoice_reconcile"
GROUP = "invoice_reconcile"
OWNERS = ["team:finance-ops"]
ERROR = dg.AssetCheckSeverity.ERROR


class BatchConfig(dg.Config):
    batch_id: str = Field(default="", description="ERP import batch to reconcile ('' = every loaded line).")
    inbox_file: str = Field(default="", description="An invoices CSV to load into the ERP first (inbox sensor).")


class ApprovalConfig(dg.Config):
    requested_by: str = Field(default="alice", description="The person on whose behalf the agent proposes.")


class PostingConfig(dg.Config):
    approval_request_id: str = Field(description="The decided approval request to carry out.")


# Invoice lines, reconcile results and proposals carry the vendors' free text (personal data):
# they pass between the steps of a run in memory and are never pickled to $DAGSTER_HOME/storage
# (logging.redact_pii; docs/safety.md). A step re-executed alone re-runs its upstream.
_IN_MEMORY = dg.InMemoryIOManager()
warnings.filterwarnings("ignore", message="Parameter `io_manager_def` of function `asset`", category=dg.BetaWarning)


def _check(name: str, asset: str, description: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name=name, asset=asset, blocking=True, description=description)


@dg.asset(
    group_name=GROUP,
    kinds={"python", "sql"},
    owners=OWNERS,
    description="Invoice lines of one import batch, read from the ERP (an inbox file is loaded first).",
    io_manager_def=_IN_MEMORY,
    check_specs=[_check("invoice_data_quality", "erp_invoices",
                        "great-expectations over the batch; a broken batch stops the workflow.")],
)
def erp_invoices(context: dg.AssetExecutionContext, config: BatchConfig, governance: GovernanceResource):
    from governed_agents.workflows import invoice_reconcile as wf

    engine = governance.erp_engine()
    envelope = governance.envelope(WORKFLOW)
    names = governance.known_names()
    batch_id = config.batch_id or None
    if config.inbox_file:
        from governed_agents.erp.csv_contract import load_invoices_csv

        report = load_invoices_csv(config.inbox_file, engine, batch_id=batch_id)
        context.log.info(f"loaded {config.inbox_file}: {report}")
    lines = wf.read_batch(engine, batch_id)
    quality = wf.quality(lines, envelope)
    invoices = len({line.invoice_id for line in lines})
    yield dg.Output(lines, metadata=redacted_metadata({
        "lines": len(lines),
        "invoices": invoices,
        "batch_id": batch_id or "(all)",
        "envelope": f"{envelope.version} {envelope.digest}",
    }, envelope, names))
    yield dg.AssetCheckResult(
        check_name="invoice_data_quality",
        passed=quality.passed,
        severity=ERROR,
        description=quality.summary(),
        metadata=redacted_metadata({
            "summary": quality.summary(),
            "statistics": dg.MetadataValue.json(quality.statistics),
            "expectations": dg.MetadataValue.md(markdown_table(
                quality.expectations, ["expectation", "column", "success", "unexpected_count"])),
        }, envelope, names),
    )


@dg.asset(
    group_name=GROUP,
    kinds={"python"},
    owners=OWNERS,
    description="One outcome per invoice: the first reconciliation rule that applies (see docs/erp.md).",
    io_manager_def=_IN_MEMORY,
    check_specs=[
        _check("spend_within_caps", "invoice_matches", "Model spend of this workflow is within every cap."),
        _check("injection_screen", "invoice_matches",
               "No text that reaches a proposed write scores at or above the envelope's injection threshold."),
    ],
)
def invoice_matches(context: dg.AssetExecutionContext, erp_invoices, governance: GovernanceResource):
    from governed_agents.workflows import invoice_reconcile as wf

    envelope = governance.envelope(WORKFLOW)
    names = governance.known_names()
    result = wf.match(erp_invoices, governance.erp_engine(), envelope,
                      po_extractor=wf.model_po_extractor(governance.ledger(), envelope, run_id=context.run_id,
                                                         known_names=names),
                      record_to=governance.ledger(), run_id=context.run_id, known_names=names)
    counts = Counter(o.reason for o in result.outcomes)
    exceptions = [{"invoice": o.invoice_id, "reason": o.reason, "details": o.details}
                  for o in result.outcomes if o.reason != "matched"]
    yield dg.Output(result, metadata=redacted_metadata({
        "invoices": len(result.outcomes),
        "matched": counts.get("matched", 0),
        "exceptions": len(exceptions),
        "by_reason": dg.MetadataValue.json(dict(sorted(counts.items()))),
        "exception_list": dg.MetadataValue.md(markdown_table(exceptions, ["invoice", "reason", "details"])),
    }, envelope, names))
    over = wf.caps_exceeded(governance.ledger(), envelope)
    yield dg.AssetCheckResult(check_name="spend_within_caps", passed=not over, severity=ERROR,
                              metadata={"exceeded": dg.MetadataValue.json(over)})
    leaks = wf.injection_leaks(result, envelope)
    suspected = [{"invoice": o.invoice_id, "details": o.details}
                 for o in result.outcomes if o.reason == "suspected_injection"]
    yield dg.AssetCheckResult(
        check_name="injection_screen", passed=not leaks, severity=ERROR,
        metadata=redacted_metadata({
            "screened_out": len(suspected),
            "screened_out_list": dg.MetadataValue.md(markdown_table(suspected, ["invoice", "details"])),
            "leaks": dg.MetadataValue.json(leaks),
        }, envelope, names),
    )


@dg.asset(
    group_name=GROUP,
    kinds={"python"},
    owners=OWNERS,
    description="A journal entry (debit GR/IR clearing, credit AP) with its before → after preview "
                "and the gate's decision, for every matched invoice. Nothing is written here.",
    io_manager_def=_IN_MEMORY,
    check_specs=[_check("policy_conformance", "journal_entry_proposals",
                        "Every proposed tool call is allowed by the envelope (none denied by the gate), "
                        "and every justification cites records the run read (safety.require_citations_for).")],
)
def journal_entry_proposals(context: dg.AssetExecutionContext, invoice_matches, governance: GovernanceResource):
    from governed_agents.workflows import invoice_reconcile as wf

    envelope = governance.envelope(WORKFLOW)
    names = governance.known_names()
    justifier = wf.model_justifier(governance.ledger(), envelope, run_id=context.run_id, known_names=names)
    proposals = wf.propose(invoice_matches, governance.executor(WORKFLOW), envelope, requested_by="agent",
                           justifier=justifier)
    rows = [{"invoice": p.invoice_id, "vendor": p.arguments.get("vendor_id"),
             "amount": f"{p.arguments.get('amount')} {p.arguments.get('currency')}",
             "changes": "; ".join(p.preview.get("changes", [])), "gate": p.outcome,
             "justification": f"({p.drafted_by}) {p.explanation}"} for p in proposals]
    yield dg.Output(proposals, metadata=redacted_metadata({
        "proposals": len(proposals),
        "preview": dg.MetadataValue.md(markdown_table(rows, ["invoice", "vendor", "amount", "changes", "gate",
                                                              "justification"])),
    }, envelope, names))
    violations = wf.conformance(proposals)
    yield dg.AssetCheckResult(check_name="policy_conformance", passed=not violations, severity=ERROR,
                              metadata=redacted_metadata({"violations": dg.MetadataValue.json(violations)},
                                                         envelope, names))


@dg.asset(
    group_name=GROUP,
    kinds={"python"},
    owners=OWNERS,
    description="One approval request per proposed entry, in one batch per run, bound to the preview's digest.",
)
def approval_requests(context: dg.AssetExecutionContext, config: ApprovalConfig, journal_entry_proposals,
                      invoice_matches, governance: GovernanceResource):
    from governed_agents.workflows import invoice_reconcile as wf

    envelope = governance.envelope(WORKFLOW)
    names = governance.known_names()
    ledger = governance.ledger()
    requests = wf.request_approvals(journal_entry_proposals, governance.executor(WORKFLOW), envelope,
                                    requested_by=config.requested_by, batch_id=context.run_id,
                                    run_id=context.run_id, known_names=names)
    summary = wf.summarise(invoice_matches, requests, batch_id=context.run_id, known_names=names)
    receipt = wf.run_receipt(ledger, envelope, run_id=context.run_id,
                             trace_id=context.run.tags.get(TAG_TRACE) or context.run_id.replace("-", ""),
                             requested_by=config.requested_by, summary=summary,
                             checks=wf.checks_of_run(context.instance, context.run_id), known_names=names)
    return dg.MaterializeResult(metadata=redacted_metadata({
        "approval_requests": len(requests),
        "batch_id": context.run_id,
        "summary": dg.MetadataValue.json(summary),
        "approve_with": f"governed-agents approvals approve --batch {context.run_id}",
        **receipt_metadata(receipt, prefix="run_receipt"),
    }, envelope, names))


@dg.asset(
    group_name=GROUP,
    kinds={"python", "sql"},
    owners=OWNERS,
    deps=[approval_requests],
    description="A decided approval request carried out: the entry written once (approved), "
                "or a receipt saying why not (rejected, expired, refused).",
)
def posted_journal_entries(context: dg.AssetExecutionContext, config: PostingConfig,
                           governance: GovernanceResource):
    from governed_agents.workflows import invoice_reconcile as wf

    envelope = governance.envelope(WORKFLOW)
    result = wf.post(config.approval_request_id, governance.executor(WORKFLOW), envelope, run_id=context.run_id,
                     known_names=governance.known_names())
    extra = {} if result.output is None else {"entry_id": getattr(result.output, "entry_id", "")}
    return approved_write_result(config.approval_request_id, result, **extra)


invoice_reconcile_propose = dg.define_asset_job(
    "invoice_reconcile_propose",
    selection=dg.AssetSelection.assets(erp_invoices, invoice_matches, journal_entry_proposals, approval_requests),
    description="Reconcile a batch and ask for approval of every proposed journal entry.",
    tags={"governed_agents/workflow": WORKFLOW},
    executor_def=dg.in_process_executor,
)

invoice_reconcile_post = dg.define_asset_job(
    "invoice_reconcile_post",
    selection=dg.AssetSelection.assets(posted_journal_entries),
    description="Carry out one decided approval request (launched by the approval sensor).",
    tags={"governed_agents/workflow": WORKFLOW, "governed_agents/erp": "demo"},
    executor_def=dg.in_process_executor,
)
