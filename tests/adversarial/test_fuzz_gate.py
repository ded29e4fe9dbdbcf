"""Fuzzing the gate at its effectful edge: whatever a model proposes as a write,
``GovernedExecutor.call`` decides, audits, and never writes without an approval.

(``tests/test_gate_fuzz.py`` fuzzes the pure ``decide``; this drives the executor
with a real ledger and ERP.) Each example: the call returns ``denied`` (with a
``write_refused`` receipt) or ``needs_approval``, never raises, the ERP has no
entries, and the audit chain verifies at the end.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.adversarial._config import scaled
from tests.test_gate_fuzz import json_values

FUZZ = settings(max_examples=scaled(120, 1200), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

hostile = st.one_of(
    json_values,
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from(["NaN", "Infinity", "-0", "1e999", "0.001", "9" * 400, "", " ", "\u202eEUR", "ＥＵＲ", "eur",
                     "1234.567", "1,234.50", "\x00", "V001\x00", "V001 ", "' OR 1=1 --", "../../etc/passwd"]),
    st.text(max_size=600),
)
fields = st.sampled_from(["invoice_id", "vendor_id", "currency", "amount", "memo", "extra", "__class__"])


@FUZZ
@given(overrides=st.dictionaries(fields, hostile, max_size=5), drop=st.lists(fields, max_size=2))
def test_hostile_write_proposals_are_decided_never_executed(overrides, drop, monkeypatch):
    from governed_agents.envelope import load_envelope_text
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.schema import journal_entries
    from governed_agents.erp.tools import erp_toolset
    from governed_agents.executor import GovernedExecutor, TaskContext
    from governed_agents.ledger import Ledger
    from tests.adversarial._pipeline import seed_erp
    from tests.fixtures import envelope_text

    global _STATE
    if _STATE is None:
        folder = Path(tempfile.mkdtemp(prefix="ga-gate-fuzz-"))
        erp = erp_engine(f"sqlite:///{folder / 'erp.sqlite3'}")
        seed_erp(erp)
        registry, previews = erp_toolset(erp)
        ledger = Ledger.open(f"sqlite:///{folder / 'ledger.sqlite3'}")
        _STATE = (ledger, erp, GovernedExecutor(ledger, registry, previews=previews),
                  load_envelope_text(envelope_text(max_tool_calls=10**6), "fuzz.yaml"))
    ledger, erp, ex, envelope = _STATE
    args = {"invoice_id": "INV-F", "vendor_id": "V001", "currency": "EUR", "amount": "10.00", "memo": ""}
    args.update(overrides)
    for name in drop:
        args.pop(name, None)
    task = TaskContext(envelope=envelope, requested_by="alice", agent="agent.fuzz", tenant="acme")
    result = ex.call(task, "erp.create_journal_entry", args)
    assert result.outcome in ("denied", "needs_approval"), result.outcome
    if result.outcome == "denied":
        assert result.decision.reasons and result.receipt.receipt.kind == "write_refused"
    with erp.connect() as c:
        assert c.execute(select(func.count()).select_from(journal_entries)).scalar_one() == 0


_STATE = None


def test_the_fuzzed_ledger_verifies():
    """Runs after the fuzz test (same module, file order): every example's events chain."""
    if _STATE is not None:
        assert _STATE[0].verify().ok
