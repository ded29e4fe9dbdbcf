"""governed-agents: the control plane that decides when a back-office agent may act.

The core (envelope, gate, ledger, identity, approvals, receipts) is usable without
Dagster; the orchestration layer lives in ``governed_agents.dagster``.
Importing this package imports nothing heavy.
"""

__version__ = "0.1.0"
