"""Which tools (and preview builders) each workflow runs with.

A workflow is an envelope in ``policies/`` plus the toolset registered here.
The executor for a workflow is built from both; commands that must rebuild a
preview (``approvals approve``) use the same executor, so an approval is
checked against exactly what the write would do now.
"""

from __future__ import annotations

from typing import Callable

from governed_agents.errors import GovernanceError


def _erp_toolset():
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.tools import erp_toolset

    return erp_toolset(erp_engine())


def _vendor_master_toolset():
    from governed_agents.workflows.vendor_bank_change import toolset

    return toolset()


def _expenses_toolset():
    from governed_agents.workflows.expense_receipt_chase import toolset

    return toolset()


def _monitor_toolset():
    from governed_agents.erp.connector import erp_engine
    from governed_agents.ledger import Ledger
    from governed_agents.monitors.tools import monitor_toolset

    return monitor_toolset(Ledger.open(), erp_engine()), {}


TOOLSETS: dict[str, Callable[[], tuple]] = {
    "invoice_reconcile": _erp_toolset,
    "vendor_bank_change": _vendor_master_toolset,
    "expense_receipt_chase": _expenses_toolset,
    # The continuous monitors (docs/monitors.md): read tools only.
    **{f"monitor_{name}": _monitor_toolset
       for name in ("duplicate_payments", "spend_anomaly", "approval_backlog", "audit_chain")},
}


def executor_for(workflow: str, ledger=None):
    """A ``GovernedExecutor`` for ``workflow`` on the configured ledger and systems."""
    from governed_agents.executor import GovernedExecutor
    from governed_agents.ledger import Ledger

    factory = TOOLSETS.get(workflow)
    if factory is None:
        raise GovernanceError(
            f"no toolset is registered for workflow {workflow!r}",
            hint=f"known workflows: {', '.join(sorted(TOOLSETS))}",
        )
    registry, previews = factory()
    return GovernedExecutor(ledger or Ledger.open(), registry, previews=previews)
