"""Our gate's full decision against two peer policy engines, same process, same run.

    .venv/bin/python -m benchmarks.run_all --only peers        # as part of the suite
    .venv/bin/python benchmarks/bench_peers.py [--quick]      # prints the rows

Needs the optional extra ``bench`` (``pip install -e '.[bench]'``): the Agent
Governance Toolkit (``agent-governance-toolkit-core``, its YAML engine
``agent_os.policies.PolicyEvaluator``) and Cedar (``cedarpy``).

The same three-rule allowlist-and-approval policy in each engine:

1. reads (``erp.lookup_vendor``) are allowed;
2. ``erp.create_journal_entry`` needs an approval (not attached here);
3. anything else (``erp.post_payment``) is denied.

Ours is ``governed_agents.gate.decide`` on the reference envelope
(policies/invoice_reconcile.yaml): registration, the allowlist, the typed
input schema (pydantic), budgets, the kill switch and the approval
requirement, which is more work per decision than either peer does (neither
validates the arguments). The toolkit evaluates a ``PolicyDocument`` built in
memory (3 rules, default deny). Cedar runs twice: ``cedarpy.is_authorized``
with the policy text and entities passed as strings on every call (the way
its README shows it), and with pre-parsed ``PolicySet``/``Entities`` handles
(its fastest documented use). Each decision is timed on its own with
``time.perf_counter_ns``; the engines alternate within each repeat (ours,
toolkit, cedar, cedar-parsed), so all see the same load. Figures: the median
over repeats of each repeat's p50 / p99, with the min–max over repeats.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.run_all import Row, percentile  # noqa: E402

READS = ["erp.lookup_vendor"]
APPROVAL = "erp.create_journal_entry"

CEDAR_POLICY = """
permit(principal, action == Action::"erp.lookup_vendor", resource);
permit(principal, action == Action::"erp.create_journal_entry", resource) when { context.approved == true };
forbid(principal, action, resource) unless {
  action == Action::"erp.lookup_vendor" || action == Action::"erp.create_journal_entry"
};
"""
CEDAR_ENTITIES = '[{"uid": {"type": "Agent", "id": "agent.invoice"}, "attrs": {}, "parents": []},' \
                 ' {"uid": {"type": "Workflow", "id": "invoice_reconcile"}, "attrs": {}, "parents": []}]'

# case -> (our scenario in bench_gate, tool, expected: allowed?)
CASES = {
    "allow (read)": ("allow", "erp.lookup_vendor", True),
    "needs approval (write)": ("needs_approval", "erp.create_journal_entry", False),
    "deny (not allowed)": ("deny-not-allowed", "erp.post_payment", False),
}


def _missing(package: str, exc: Exception) -> RuntimeError:
    return RuntimeError(f"bench_peers needs {package} (the 'bench' extra: pip install -e '.[bench]'): {exc}")


def _toolkit():
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from agent_os.policies import PolicyEvaluator
            from agent_os.policies.schema import (
                PolicyAction, PolicyCondition, PolicyDefaults, PolicyDocument, PolicyOperator, PolicyRule)
    except ImportError as exc:
        raise _missing("agent-governance-toolkit-core", exc) from exc
    doc = PolicyDocument(
        name="invoice_reconcile",
        rules=[
            PolicyRule(name="reads-allowed", priority=30, action=PolicyAction.ALLOW,
                       condition=PolicyCondition(field="tool_name", operator=PolicyOperator.IN, value=READS)),
            PolicyRule(name="journal-entry-needs-approval", priority=20, action=PolicyAction.BLOCK,
                       message="needs approval",
                       condition=PolicyCondition(field="tool_name", operator=PolicyOperator.EQ, value=APPROVAL)),
            PolicyRule(name="deny-not-allowlisted", priority=10, action=PolicyAction.DENY,
                       condition=PolicyCondition(field="tool_name", operator=PolicyOperator.NOT_IN,
                                                 value=READS + [APPROVAL])),
        ],
        defaults=PolicyDefaults(action=PolicyAction.DENY),
    )
    evaluator = PolicyEvaluator(policies=[doc])

    def decide(tool: str) -> bool:
        return evaluator.evaluate({"tool_name": tool, "agent_id": "agent.invoice",
                                   "workflow": "invoice_reconcile"}).allowed

    return decide


def _cedar(parsed: bool):
    try:
        import cedarpy
    except ImportError as exc:
        raise _missing("cedarpy", exc) from exc
    policies, entities = CEDAR_POLICY, CEDAR_ENTITIES
    if parsed:
        policies = cedarpy.PolicySet.from_str(CEDAR_POLICY) if hasattr(cedarpy, "PolicySet") else CEDAR_POLICY
        entities = cedarpy.Entities.from_json_str(CEDAR_ENTITIES) if hasattr(cedarpy, "Entities") else CEDAR_ENTITIES

    def decide(tool: str) -> bool:
        request = {"principal": 'Agent::"agent.invoice"', "action": f'Action::"{tool}"',
                   "resource": 'Workflow::"invoice_reconcile"', "context": {"approved": False}}
        return cedarpy.is_authorized(request, policies, entities).allowed

    return decide


def _time(fn, arg, n: int) -> tuple[float, float]:
    clock = time.perf_counter_ns
    samples = [0] * n
    gc.disable()
    try:
        for i in range(n):
            a = clock()
            fn(arg)
            samples[i] = clock() - a
    finally:
        gc.enable()
    return percentile(samples, 50) / 1000, percentile(samples, 99) / 1000


def run(quick: bool) -> list[Row]:
    from benchmarks.bench_gate import _setup
    from governed_agents.gate import decide

    envelope, registry, scenarios, state = _setup()
    requests = {case: scenarios[scen][0] for case, (scen, _, _) in CASES.items()}

    def ours(case: str) -> bool:
        return decide(envelope, registry, requests[case], state).outcome == "allow"

    engines = {"ours": (ours, "case"), "toolkit": (_toolkit(), "tool"),
               "cedar": (_cedar(parsed=False), "tool"), "cedar-parsed": (_cedar(parsed=True), "tool")}
    names = {"toolkit": "AGT PolicyEvaluator.evaluate", "cedar": "cedarpy.is_authorized (strings)",
             "cedar-parsed": "cedarpy.is_authorized (parsed handles)"}

    # Every engine must reach the same verdict on every case, or the comparison means nothing.
    for case, (_, tool, allowed) in CASES.items():
        for engine, (fn, kind) in engines.items():
            got = fn(case if kind == "case" else tool)
            if got != allowed:
                raise RuntimeError(f"{engine} decided allowed={got} for {case}; expected {allowed}")

    n, repeats, warmup = (2_000, 3, 500) if quick else (10_000, 5, 2_000)
    p50: dict[tuple[str, str], list[float]] = {}
    p99: dict[tuple[str, str], list[float]] = {}
    for case, (_, tool, _) in CASES.items():
        for engine, (fn, kind) in engines.items():
            arg = case if kind == "case" else tool
            for _ in range(warmup):
                fn(arg)
        for _ in range(repeats):
            for engine, (fn, kind) in engines.items():  # alternated within each repeat
                a, b = _time(fn, case if kind == "case" else tool, n)
                p50.setdefault((case, engine), []).append(a)
                p99.setdefault((case, engine), []).append(b)

    rows: list[Row] = []

    def spread(values: list[float]) -> str:
        return f"{min(values):.2f}–{max(values):.2f}"

    for case in CASES:
        for peer in ("toolkit", "cedar", "cedar-parsed"):
            for label, table in (("p50", p50), ("p99", p99)):
                mine, theirs = table[(case, "ours")], table[(case, peer)]
                m, t = statistics.median(mine), statistics.median(theirs)
                rows.append(Row(
                    benchmark="peers", case=f"{label} decision, {case}", ours=m, baseline=t, unit="µs",
                    ratio=m / t, spread=f"ours {spread(mine)}; peer {spread(theirs)} (min–max over repeats)",
                    n=repeats, baseline_name=names[peer],
                    target="ours p50 ≤ 0.5× the peer (2× faster)" if label == "p50" else "",
                    note=f"{n:,} timed decisions per repeat; ours includes schema validation, budgets, kill switch",
                ))
    return rows


if __name__ == "__main__":
    import dataclasses

    for row in run(quick="--quick" in sys.argv):
        print(dataclasses.asdict(row))
