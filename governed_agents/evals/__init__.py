"""Offline eval suites and release gates (see docs/evals.md).

- ``suite``: cases per workflow (``cases/<workflow>/*.yaml``), thresholds, the sandbox fixture;
- ``runner``: ``run_suite(workflow, envelope, catalog=...)`` through the real governed path;
- ``results``: ``EvalResult``, ``record_result`` (the ``eval.run`` audit event),
  ``latest_result(ledger, workflow, envelope_digest=None)``, reports;
- ``release``: ``promote`` (the release gate for an envelope or catalog change);
- ``canary``: ``run_canary``, a candidate envelope beside the current one, suggest-only, on recent inputs.

Names are exported lazily so that importing the package stays light.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "CATEGORIES": "governed_agents.evals.suite",
    "Case": "governed_agents.evals.suite",
    "Suite": "governed_agents.evals.suite",
    "load_suite": "governed_agents.evals.suite",
    "suite_workflows": "governed_agents.evals.suite",
    "run_suite": "governed_agents.evals.runner",
    "catalog_digest": "governed_agents.evals.runner",
    "EvalResult": "governed_agents.evals.results",
    "CaseResult": "governed_agents.evals.results",
    "CategoryResult": "governed_agents.evals.results",
    "record_result": "governed_agents.evals.results",
    "latest_result": "governed_agents.evals.results",
    "write_report": "governed_agents.evals.results",
    "promote": "governed_agents.evals.release",
    "PromotionResult": "governed_agents.evals.release",
    "PromotionRefused": "governed_agents.evals.release",
    "run_canary": "governed_agents.evals.canary",
    "CanaryReport": "governed_agents.evals.canary",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'governed_agents.evals' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
