"""The governance resource: how assets reach the ledger, the ERP, envelopes and the gate."""

from __future__ import annotations


import dagster as dg


class GovernanceResource(dg.ConfigurableResource):
    """Ledger, ERP, envelopes and executors for governed assets.

    Empty fields fall back to the environment (``GOVERNED_AGENTS_DB_URL``,
    ``GOVERNED_AGENTS_ERP_URL``, policies in ``GOVERNED_AGENTS_POLICY_DIR``), so
    one code location serves the embedded default and production alike.
    """

    ledger_url: str = ""
    erp_url: str = ""

    def setup_for_execution(self, context) -> None:
        # JSON log lines (trace id, workflow, run id, envelope digest on each) when
        # GOVERNED_AGENTS_LOG_FORMAT=json; nothing otherwise.
        from governed_agents.observability.logging import configure_from_env

        configure_from_env()

    def ledger(self):
        from governed_agents.ledger import Ledger

        return Ledger.open(self.ledger_url or None)

    def erp_engine(self):
        from governed_agents.erp.connector import erp_engine

        return erp_engine(self.erp_url or None)

    def known_names(self):
        """The ERP's person names (employees, vendor contacts), read once per step and passed to
        every redaction the step makes (``erp.people``); nothing is kept between runs."""
        from governed_agents.erp.people import known_names

        return known_names(self.erp_engine())

    def envelope(self, workflow: str):
        """The workflow's envelope; a policy that does not load stops the step (fail closed)."""
        from governed_agents.envelope import find_envelope

        return find_envelope(workflow)

    def executor(self, workflow: str):
        from governed_agents.erp.tools import erp_toolset
        from governed_agents.executor import GovernedExecutor
        from governed_agents.workflows import TOOLSETS

        if workflow == "invoice_reconcile" and self.erp_url:
            registry, previews = erp_toolset(self.erp_engine())
        else:
            registry, previews = TOOLSETS[workflow]()
        return GovernedExecutor(self.ledger(), registry, previews=previews)
