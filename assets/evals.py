"""The release gate as assets: one ``eval_results/<workflow>`` asset per workflow with a suite.

Materialising it runs the workflow's eval suite against the deployed envelope
(or a candidate given in the run config) and the model catalog, records the
``eval.run`` audit event, writes the report, and evaluates one blocking check
per category threshold. A hand-edited policy file therefore shows red here on
the next materialisation if its suite fails; ``governed-agents eval promote``
is the path that refuses such a change before it is deployed.
"""

import dagster as dg

from governed_agents.dagster.resources import GovernanceResource
from governed_agents.evals.suite import load_suite, suite_workflows


class EvalConfig(dg.Config):
    """Run config: evaluate a candidate instead of what is deployed (paths; empty = deployed)."""

    envelope: str = ""
    catalog: str = ""


def _check_name(category: str) -> str:
    return f"{category}_meets_threshold"


def build_eval_asset(workflow: str) -> dg.AssetsDefinition:
    """The ``eval_results/<workflow>`` asset with a blocking check per threshold of its suite."""
    from governed_agents.errors import GovernanceError
    from governed_agents.evals.suite import CATEGORIES

    key = dg.AssetKey(["eval_results", workflow])
    try:
        thresholds = load_suite(workflow).thresholds
    except GovernanceError:
        # A broken case file must not take the whole code location down: the asset
        # still appears, with a check per category, and its run fails with the problem.
        thresholds = dict.fromkeys(CATEGORIES, 1.0)
    specs = [dg.AssetCheckSpec(name=_check_name(category), asset=key, blocking=True,
                               description=f"The {category} cases pass at a rate of at least "
                                           f"{threshold:.0%} (governed_agents/evals/cases/{workflow}/suite.yaml).")
             for category, threshold in thresholds.items()]

    @dg.asset(
        key=key,
        group_name="evals",
        kinds={"python"},
        owners=["team:platform"],
        description=f"Offline eval suite of {workflow}: pass rate per category against its thresholds "
                    "(`governed-agents eval run`). The release gate for envelope and model-catalog changes.",
        check_specs=specs,
    )
    def _eval_results(context: dg.AssetExecutionContext, config: EvalConfig, governance: GovernanceResource):
        from governed_agents.dagster.metadata import markdown_table
        from governed_agents.evals.results import record_result, write_report
        from governed_agents.evals.runner import run_suite

        suite = load_suite(workflow)  # raises (the step fails with the file and field) if it does not load
        result = run_suite(workflow, config.envelope or None, catalog=config.catalog or None, suite=suite)
        result = record_result(governance.ledger(), result, actor="dagster", run_id=context.run_id)
        json_path, md_path = write_report(result)
        rows = [c.to_dict() for c in result.categories]
        yield dg.Output(result.summary(), metadata={
            "passed": result.passed,
            "envelope_digest": result.envelope_digest,
            "envelope_source": result.envelope_source,
            "catalog_digest": result.catalog_digest,
            "audit_seq": result.audit_seq,
            "report": dg.MetadataValue.path(str(md_path)),
            "categories": dg.MetadataValue.md(markdown_table(
                rows, ["category", "cases", "passed", "rate", "threshold", "verdict"])),
        })
        for category in thresholds:
            found = result.category(category)
            failed = [c.id for c in result.cases if c.category == category and not c.passed]
            yield dg.AssetCheckResult(
                check_name=_check_name(category), asset_key=key,
                passed=found is not None and found.verdict == "pass",
                severity=dg.AssetCheckSeverity.ERROR,
                description=(f"{found.passed}/{found.cases} passed ({found.rate:.0%}, threshold "
                             f"{found.threshold:.0%})" if found else "no cases ran"),
                metadata={"failed_cases": dg.MetadataValue.json(failed)},
            )

    return _eval_results


eval_assets = [build_eval_asset(workflow) for workflow in suite_workflows()]

eval_release_gate = dg.define_asset_job(
    "eval_release_gate", selection=dg.AssetSelection.groups("evals"),
    description="Run every workflow's eval suite against its deployed envelope and model catalog.",
    executor_def=dg.in_process_executor,
)
