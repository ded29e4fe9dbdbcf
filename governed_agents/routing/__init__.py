"""Routing and spend control: every model call, through one gateway.

- ``gateway``: ``ModelGateway.complete(task, tier, messages, tools)``, the one call
  path (reserve → call → fall back → settle → transcript + audit event);
- ``catalog``: ``policies/models.yaml``, tier aliases → litellm models with prices;
- ``offline``: the deterministic offline stand-in model (no key, no network);
- ``budget`` / ``ladder``: which budgets apply, atomic reservation, the downgrade ladder;
- ``cache``: identical deterministic calls answered at no cost;
- ``report``: ``spend_report``, ``caps_status``, ``caps_exceeded``, ``task_spend``;
- ``loop``: ``run_tool_loop``, a model proposing tool calls that the gate disposes of;
- ``extraction``: ``find_po_reference``, rules → router tier → reasoning only when needed.

Importing this package imports neither litellm nor the database layer; names
are re-exported lazily. See docs/routing.md.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "ModelGateway": "governed_agents.routing.gateway",
    "ModelResult": "governed_agents.routing.gateway",
    "ToolCall": "governed_agents.routing.gateway",
    "Attempt": "governed_agents.routing.gateway",
    "TIERS": "governed_agents.routing.gateway",
    "CONFIRM_ACTION": "governed_agents.routing.gateway",
    "BudgetExhausted": "governed_agents.routing.errors",
    "ConfirmationRequired": "governed_agents.routing.errors",
    "ConfirmationRefused": "governed_agents.routing.errors",
    "ModelCallFailed": "governed_agents.routing.errors",
    "ModelOutputInvalid": "governed_agents.routing.errors",
    "CatalogError": "governed_agents.routing.catalog",
    "LoadedCatalog": "governed_agents.routing.catalog",
    "ResolvedModel": "governed_agents.routing.catalog",
    "load_catalog": "governed_agents.routing.catalog",
    "load_catalog_text": "governed_agents.routing.catalog",
    "catalog_path": "governed_agents.routing.catalog",
    "DowngradeStep": "governed_agents.routing.ladder",
    "set_spend_cap": "governed_agents.routing.budget",
    "remove_spend_cap": "governed_agents.routing.budget",
    "list_spend_caps": "governed_agents.routing.budget",
    "expire_stale_reservations": "governed_agents.routing.budget",
    "spend_report": "governed_agents.routing.report",
    "caps_status": "governed_agents.routing.report",
    "caps_exceeded": "governed_agents.routing.report",
    "CapStatus": "governed_agents.routing.report",
    "task_spend": "governed_agents.routing.report",
    "record_task_outcome": "governed_agents.routing.report",
    "run_tool_loop": "governed_agents.routing.loop",
    "tool_schemas": "governed_agents.routing.loop",
    "LoopResult": "governed_agents.routing.loop",
    "find_po_reference": "governed_agents.routing.extraction",
    "PoExtraction": "governed_agents.routing.extraction",
    "redact": "governed_agents.routing.redact",
    "redact_text": "governed_agents.routing.redact",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
