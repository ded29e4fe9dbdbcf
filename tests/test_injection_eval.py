"""The finance eval set is what docs/safety.md says, and the eval script measures what it claims.

The figures asserted here are regression guards on data the rules were written against (the
public sets' in-sample figures); the held-out and fresh figures are reported, not asserted."""

from __future__ import annotations

import importlib.util
import json

import pytest

from governed_agents.safety import CONTEXTS, score_text
from governed_agents.safety.data import build_finance_set

from tests.fixtures import REPO

FINANCE = REPO / "governed_agents" / "safety" / "data" / "finance_injection.jsonl"


def _eval_module():
    spec = importlib.util.spec_from_file_location("eval_injection", REPO / "benchmarks" / "eval_injection.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table():
    module = _eval_module()
    return {(r["set"], r["split"]): r for r in module.evaluate(module.DEFAULT_DATA, 0.7)}


def test_the_committed_finance_set_is_the_builders_output_with_at_least_100_of_each():
    rows = [json.loads(x) for x in FINANCE.read_text(encoding="utf-8").splitlines()]
    assert rows == build_finance_set.rows()  # regenerate with python -m governed_agents.safety.data.build_finance_set
    assert sum(r["label"] == 1 for r in rows) >= 100 and sum(r["label"] == 0 for r in rows) >= 100
    assert {r["context"] for r in rows} == {"invoice_memo", "vendor_email", "bank_change_request"} <= set(CONTEXTS)
    assert len({r["id"] for r in rows}) == len(rows)
    # the split is by hand-written sentence: no group is on both sides
    sides: dict[str, set[str]] = {}
    for r in rows:
        sides.setdefault(r["group"], set()).add(r["split"])
    assert all(len(s) == 1 for s in sides.values())
    assert {r["split"] for r in rows} == {"train", "heldout", "fresh"}


def test_the_eval_script_counts_each_row_once_per_set_and_split(table):
    by = table
    finance = by[("finance", "all")]
    assert (finance["positives"], finance["negatives"]) == (180, 180)
    assert sum(by[("finance", s)]["positives"] for s in ("train", "heldout", "fresh")) == 180
    injecagent = by[("InjecAgent", "all")]
    assert (injecagent["positives"], injecagent["negatives"]) == (62 + 264, 34)
    assert (by[("AgentDojo", "all")]["positives"], by[("AgentDojo", "all")]["negatives"]) == (35, 28)
    # a recount by hand for one set
    rows = [json.loads(x) for x in FINANCE.read_text(encoding="utf-8").splitlines()]
    fresh = [r for r in rows if r["split"] == "fresh"]
    tp = sum(score_text(r["text"], context=r["context"]).score >= 0.7 for r in fresh if r["label"] == 1)
    assert by[("finance", "fresh")]["tp"] == tp


def test_public_sets_in_sample_figures_do_not_regress(table):
    by = table
    for name in ("InjecAgent", "AgentDojo"):
        row = by[(name, "all")]
        assert row["tpr"] >= 0.95 and row["fpr"] <= 0.02, (name, row)
    assert by[("finance", "all")]["fpr"] <= 0.02


def test_wilson_interval():
    low, high = _eval_module().wilson(0, 34)
    assert low == 0.0 and 0.09 < high < 0.11
