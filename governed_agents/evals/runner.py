"""Run a workflow's eval suite against an envelope and a model catalog.

``run_suite`` builds a sandbox (temporary ledger and ERP seeded from the
suite's fixture), the workflow's real toolset plus the decoy tools, and one
``GovernedExecutor``; each case then goes through the workflow's driver or the
executor, and its observed outcome is compared with the expected one. A case
whose expected outcome is not ``allowed`` also fails if the ERP changed (for
``tool_calls:`` cases, during the last call: the judged one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from governed_agents.canonical import digest
from governed_agents.evals.results import CaseResult, CategoryResult, EvalResult
from governed_agents.evals.suite import Case, Suite, load_suite
from governed_agents.timeutil import utcnow


def catalog_digest(catalog) -> str:
    """The digest of a ``LoadedCatalog``'s content (same content, same digest)."""
    return digest(catalog.catalog.model_dump(mode="json"))


def resolve_catalog(catalog: Any = None):
    from governed_agents.routing.catalog import LoadedCatalog, load_catalog

    if isinstance(catalog, LoadedCatalog):
        return catalog
    return load_catalog(Path(catalog) if catalog is not None else None)


def resolve_envelope(workflow: str, envelope: Any = None):
    """A ``LoadedEnvelope``: the one given, the file at a path, or the deployed one; must govern ``workflow``."""
    from governed_agents.envelope import LoadedEnvelope, find_envelope, load_envelope
    from governed_agents.errors import UsageError

    if envelope is None:
        return find_envelope(workflow)
    loaded = envelope if isinstance(envelope, LoadedEnvelope) else load_envelope(envelope)
    if loaded.workflow != workflow:
        raise UsageError(f"{loaded.source}: the envelope governs workflow {loaded.workflow!r}, not {workflow!r}")
    return loaded


def judge(case: Case, observed: dict, wrote: bool) -> tuple[bool, str]:
    exp = case.expect
    why = []
    if observed.get("outcome") != exp.outcome:
        why.append(f"expected {exp.outcome}, observed {observed.get('outcome')}")
    if exp.reason is not None and exp.reason not in observed.get("reasons", []):
        why.append(f"expected reason {exp.reason}, observed {', '.join(observed.get('reasons', [])) or 'none'}")
    if exp.model_used is not None and bool(observed.get("model_used")) != exp.model_used:
        why.append(f"expected model_used={exp.model_used}")
    if wrote and exp.outcome != "allowed":
        why.append("the ERP changed although the expected outcome writes nothing")
    return not why, "; ".join(why)


def run_suite(workflow: str, envelope: Any = None, *, catalog: Any = None, suite: Suite | None = None,
              only: set[str] | None = None) -> EvalResult:
    """Run ``workflow``'s suite against ``envelope`` (default: the deployed one) and ``catalog``.

    Records nothing: pass the result to ``record_result`` (the CLI, the asset
    and ``promote`` do).
    """
    from governed_agents.evals.drivers import Context, driver_for
    from governed_agents.evals.sandbox import Sandbox, register_decoys
    from governed_agents.executor import GovernedExecutor

    suite = suite or load_suite(workflow)  # first: an unknown workflow is a usage error
    loaded = resolve_envelope(workflow, envelope)
    cat = resolve_catalog(catalog)
    driver = driver_for(workflow)
    started = utcnow()
    results: list[CaseResult] = []
    with Sandbox() as sandbox:
        driver.seed(sandbox, suite.config.fixture)
        registry, previews = driver.toolset(sandbox)
        register_decoys(registry, sandbox.erp)
        ctx = Context(sandbox, loaded, cat, GovernedExecutor(sandbox.ledger, registry, previews=previews))
        try:
            _run_cases(suite, driver, ctx, sandbox, only, results)
        finally:
            ctx.close()
    thresholds = suite.thresholds
    categories = []
    for category in suite.categories():
        mine = [r for r in results if r.category == category]
        if not mine and only is not None:
            continue
        categories.append(CategoryResult(category, len(mine), sum(r.passed for r in mine), thresholds.get(category)))
    return EvalResult(
        workflow=workflow, envelope_digest=loaded.digest, envelope_version=loaded.version,
        envelope_source=str(loaded.source), catalog_digest=catalog_digest(cat), suite_digest=suite.digest,
        categories=tuple(categories), cases=tuple(results), started_at=started, finished_at=utcnow(),
    )


def _run_cases(suite, driver, ctx, sandbox, only, results) -> None:
    from governed_agents.evals.drivers import run_agent, run_tool_calls

    for case in suite.cases:
        if only is not None and case.id not in only:
            continue
        before = sandbox.erp_state()
        try:
            if case.tool_calls is not None:
                observed = run_tool_calls(ctx, case.tool_calls)
            elif case.agent is not None:
                observed = run_agent(ctx, case)
            else:
                observed = driver.run_input(ctx, case)
        except Exception as exc:  # noqa: BLE001 - a crashing case is a failed case, reported, not a crash
            observed = {"outcome": "error", "reasons": [type(exc).__name__], "messages": [str(exc)[:500]]}
        # A driver that knows which step is judged says whether that step wrote.
        wrote = observed.get("wrote", sandbox.erp_state() != before)
        observed["wrote"] = wrote
        passed, why = judge(case, observed, wrote)
        results.append(CaseResult(case.id, case.category, case.description,
                                  case.expect.model_dump(exclude_none=True), observed, passed, why))
