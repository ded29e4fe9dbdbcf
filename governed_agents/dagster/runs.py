"""Running a workflow's proposal stage through Dagster from the CLI or the demo."""

from __future__ import annotations

from dataclasses import dataclass, field

from governed_agents.errors import GovernanceError

PROPOSE_JOBS = {
    "invoice_reconcile": "invoice_reconcile_propose",
    "vendor_bank_change": "vendor_bank_change_propose",
    "expense_receipt_chase": "expense_receipt_chase_run",
}


def _ops_config(workflow: str, *, batch_id: str, inbox_file: str, requested_by: str, demo_data: bool) -> dict:
    """Each proposal job's run config (its first asset's and its requester's)."""
    if workflow == "vendor_bank_change":
        return {"bank_change_proposals": {"config": {"requested_by": requested_by, "seed_demo": demo_data}}}
    if workflow == "expense_receipt_chase":
        return {"receipt_reminders": {"config": {"requested_by": requested_by, "seed_demo": demo_data}}}
    return {
        "erp_invoices": {"config": {"batch_id": batch_id, "inbox_file": inbox_file}},
        "approval_requests": {"config": {"requested_by": requested_by}},
    }


@dataclass
class ProposalRun:
    run_id: str
    success: bool
    outcomes: dict[str, str] = field(default_factory=dict)
    by_reason: dict[str, int] = field(default_factory=dict)
    approval_requests: list[str] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    receipt_id: str | None = None

    @property
    def failed_checks(self) -> list[dict]:
        return [c for c in self.checks if not c["passed"]]

    def to_dict(self) -> dict:
        return {**self.__dict__, "failed_checks": self.failed_checks}


def run_proposals(workflow: str, *, batch_id: str = "", inbox_file: str = "",
                  requested_by: str = "alice", tags: dict | None = None,
                  log_level: str = "WARNING", demo_data: bool = False) -> ProposalRun:
    """Run the proposal job in this process on the configured Dagster instance."""
    from governed_agents.dagster.instance import instance
    from governed_agents.dagster.location import definitions
    from governed_agents.ledger import Ledger
    from governed_agents.receipts.store import list_receipts

    job_name = PROPOSE_JOBS.get(workflow)
    if job_name is None:
        raise GovernanceError(f"no Dagster job runs workflow {workflow!r}",
                              hint=f"known workflows: {', '.join(sorted(PROPOSE_JOBS))}")
    job = definitions().resolve_job_def(job_name)
    run_config = {
        "ops": _ops_config(workflow, batch_id=batch_id, inbox_file=inbox_file, requested_by=requested_by,
                           demo_data=demo_data),
        # The full event log is in the instance (and the UI); the terminal gets warnings only.
        "loggers": {"console": {"config": {"log_level": log_level}}},
    }
    result = job.execute_in_process(
        run_config=run_config, instance=instance(), raise_on_error=False,
        tags={"governed_agents/requested_by": requested_by, **(tags or {})},
    )
    checks = [{"name": f"{e.asset_key.to_user_string()}:{e.check_name}", "passed": bool(e.passed),
               "details": e.description} for e in result.get_asset_check_evaluations()]
    run = ProposalRun(run_id=result.run_id, success=result.success, checks=checks)
    receipts = list_receipts(Ledger.open(), workflow=workflow, run_id=result.run_id, limit=5)
    run_receipts = [r for r in receipts if r.receipt.kind == "run"]
    if run_receipts:
        summary = run_receipts[0].receipt.extra.get("summary", {})
        run.receipt_id = run_receipts[0].receipt.receipt_id
        run.outcomes = summary.get("outcomes", {})
        run.by_reason = summary.get("by_reason", {})
        run.approval_requests = summary.get("approval_requests", [])
    if not result.success and not run.failed_checks:
        failure = next((e for e in result.all_events if e.is_failure), None)
        raise GovernanceError(f"run {result.run_id} failed: {failure.message if failure else 'unknown error'}",
                              details={"run_id": result.run_id})
    return run
