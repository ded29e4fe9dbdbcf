"""16 tasks in 16 processes against one PostgreSQL ledger, under a cap that allows 5 of them.

The runaway case the issue names (a gateway's $30 cap overshot to $99): here the
reservation is checked and taken under a per-scope lock, so the cap holds no
matter how the processes interleave. Asserted from the database.
"""

from __future__ import annotations

import multiprocessing
from decimal import Decimal

import pytest
import sqlalchemy as sa
import yaml

from governed_agents.envelope import load_envelope_text
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import spend_counters, spend_reservations
from governed_agents.testing import ScriptedModelServer, forever, text

from tests.fixtures import REPO

PROCESSES = 16
CALL_USD = Decimal("0.01")  # 100 output tokens at $0.1 / 1k; the estimate is exactly this too
CAP_USD = Decimal("0.055")  # room for 5 calls, not 6


def _envelope_text() -> str:
    data = yaml.safe_load((REPO / "policies" / "invoice_reconcile.yaml").read_text())
    data["version"] = str(data["version"])
    data["budgets"]["workflow_daily_usd"] = float(CAP_USD)
    data["budgets"]["downgrade_at_fraction"] = []  # nothing but the cap: the point is the stop
    return yaml.safe_dump(data)


def _worker(n, url, catalog, envelope_text, barrier, results):
    # A spawned child (a fresh interpreter: a forked one ran the parent's after-fork
    # hooks, e.g. kombu's after a Celery test in the same xdist worker, and hung).
    # litellm is imported before the barrier so that all sixteen reserve at once.
    try:
        from governed_agents.executor import TaskContext
        from governed_agents.routing import BudgetExhausted, ModelGateway, _litellm

        _litellm.load()

        ledger = Ledger.open(url)
        envelope = load_envelope_text(envelope_text, "concurrency.yaml")
        task = TaskContext(envelope=envelope, requested_by=f"user{n}", tenant="acme", task_id=f"task-{n:02d}")
        gateway = ModelGateway(ledger, catalog, cache=False)
        barrier.wait(timeout=600)
        try:
            result = gateway.complete(task, "router", [{"role": "user", "content": f"item {n}"}])
            results.put((n, "ok", str(result.cost_usd)))
        except BudgetExhausted as exc:
            results.put((n, exc.budget, str(exc)))
    except BaseException as exc:  # noqa: BLE001 - report, never hang the parent
        results.put((n, "crash", repr(exc)))


@pytest.mark.postgres
@pytest.mark.slow
def test_sixteen_processes_never_overspend_the_cap(pg_url):
    Ledger.open(pg_url)  # migrate before the children race for it
    with ScriptedModelServer() as server:
        # Every answer takes 50 ms: the 5 winners are still in flight while the others try to reserve.
        server.script("conc-router", forever(text("done", delay_s=0.05,
                                                  usage={"prompt_tokens": 10, "completion_tokens": 100})))
        catalog = server.catalog({
            alias: {"name": "conc-router", "input_usd_per_1k": 0, "output_usd_per_1k": 0.1}
            for alias in ("small-fast", "safe-medium", "frontier")
        }, max_output_tokens=100)
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(PROCESSES)
        results = context.Queue()
        children = [context.Process(target=_worker, args=(n, pg_url, catalog, _envelope_text(), barrier, results))
                    for n in range(PROCESSES)]
        for child in children:
            child.start()
        outcomes = [results.get(timeout=900) for _ in children]
        for child in children:
            child.join(timeout=30)
        served = len(server.requests_for("conc-router"))

    assert not [o for o in outcomes if o[1] == "crash"], outcomes
    winners = [o for o in outcomes if o[1] == "ok"]
    refused = [o for o in outcomes if o[1] != "ok"]
    assert len(winners) == 5 and served == 5
    assert {o[1] for o in refused} == {"workflow_daily"} and len(refused) == 11
    assert all("workflow daily budget of workflow invoice_reconcile" in o[2] for o in refused)

    ledger = Ledger.open(pg_url)
    with ledger.engine.connect() as c:
        statuses = [r[0] for r in c.execute(sa.select(spend_reservations.c.status))]
        spent = c.execute(sa.select(sa.func.sum(spend_reservations.c.actual_usd))
                          .where(spend_reservations.c.status == "settled")).scalar()
        day = c.execute(sa.select(spend_counters).where(spend_counters.c.scope == "workflow",
                                                        spend_counters.c.period == "day")).mappings().one()
    assert statuses == ["settled"] * 5  # refusals leave no row; nothing is left reserved
    assert spent == CALL_USD * 5 <= CAP_USD
    assert (day["settled_usd_e8"], day["reserved_usd_e8"], day["calls"]) == (5_000_000, 0, 5)
    assert ledger.verify().ok
