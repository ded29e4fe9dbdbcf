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
FRESH2 = REPO / "benchmarks" / "data" / "finance_fresh2.jsonl"
FRESH3 = REPO / "benchmarks" / "data" / "finance_fresh3.jsonl"
WRITERS = REPO / "benchmarks" / "data" / "finance_writers"


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
    # the split is by hand-written sentence and by carrier: neither is on both sides
    for key in ("group", "carrier"):
        sides: dict[str, set[str]] = {}
        for r in rows:
            if r.get(key) not in (None, "none"):
                sides.setdefault(r[key], set()).add(r["split"])
        assert sides and all(len(s) == 1 for s in sides.values()), key
    assert {r["split"] for r in rows} == {"train", "dev", "fresh"}


def test_every_development_carrier_holds_benign_and_injected_rows():
    # A scorer cannot tell injections by their carrier: each memo, email and bank letter of the
    # train and dev splits appears with nothing in it, with a benign sentence and with an injection.
    rows = [r for r in build_finance_set.rows() if r["split"] in ("train", "dev")]
    labels: dict[str, set[int]] = {}
    for r in rows:
        labels.setdefault(r["carrier"], set()).add(r["label"])
    carriers = {c: ls for c, ls in labels.items() if c != "none"}
    assert len(carriers) >= 40
    assert all(ls == {0, 1} for ls in carriers.values()), [c for c, ls in carriers.items() if ls != {0, 1}]
    empty = {r["carrier"] for r in rows if r["group"].startswith("carrier-")}
    assert empty == set(carriers)
    for split in ("train", "dev"):
        side = [r for r in rows if r["split"] == split]
        assert sum(r["label"] == 1 for r in side) >= 250 and sum(r["label"] == 0 for r in side) >= 250


def test_the_eval_script_counts_each_row_once_per_set_and_split(table):
    by = table
    finance = by[("finance", "all")]
    rows = [json.loads(x) for x in FINANCE.read_text(encoding="utf-8").splitlines()]
    fresh2 = [json.loads(x) for x in FRESH2.read_text(encoding="utf-8").splitlines() if x.strip()]
    fresh3 = [json.loads(x) for x in FRESH3.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert {r["split"] for r in fresh2} == {"fresh2"} and {r["split"] for r in fresh3} == {"fresh3"}
    every = rows + fresh2 + fresh3
    positives = sum(r["label"] == 1 for r in every)
    assert (finance["positives"], finance["negatives"]) == (positives, len(every) - positives)
    assert sum(by[("finance", s)]["positives"] for s in ("train", "dev", "fresh", "fresh2", "fresh3")) == positives
    assert (by[("finance", "fresh")]["positives"], by[("finance", "fresh")]["negatives"]) == (60, 40)
    injecagent = by[("InjecAgent", "all")]
    assert (injecagent["positives"], injecagent["negatives"]) == (62 + 264, 34)
    assert (by[("AgentDojo", "all")]["positives"], by[("AgentDojo", "all")]["negatives"]) == (35, 28)
    # the writers' rows: 130 injections and 130 benign per context, split by carrier (twins together)
    writers = [json.loads(x) for p in sorted(WRITERS.glob("*.jsonl")) for x in p.read_text(encoding="utf-8").splitlines()]
    assert len(writers) == 780 and sum(r["label"] for r in writers) == 390
    assert (by[("finance (writers)", "all")]["positives"], by[("finance (writers)", "all")]["negatives"]) == (390, 390)
    assert by[("finance (writers)", "train")]["positives"] + by[("finance (writers)", "heldout")]["positives"] == 390
    sides: dict[str, set[str]] = {}
    module = _eval_module()
    for r in writers:
        sides.setdefault(r["carrier"], set()).add(module.writer_split(r))
        assert r["label"] == 0 or r["injection"] in r["text"]
    assert all(len(s) == 1 for s in sides.values())
    # a recount by hand for one set
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


def test_the_language_split_names_each_sets_language_and_counts_every_row(capsys):
    spec = importlib.util.spec_from_file_location("injection_by_language",
                                                  REPO / "benchmarks" / "injection_by_language.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert [module.language(t) for t in (
        "Please pay the invoice and send us the remittance advice for this order.",
        "Bitte überweisen Sie den Betrag und senden Sie uns die Rechnung für den Auftrag.",
        "Merci de régler la facture et de nous envoyer les justificatifs avec votre paiement.",
        "Graag betalen voor het einde van de maand en het bedrag op onze rekening zetten.",
        "Prosimy o zapłatę faktury i przesłanie potwierdzenia na nasz adres.",
        "Vi ber er betala fakturan och skicka en kopia till vår ekonomiavdelning.",
    )] == ["en", "de", "fr", "nl", "pl", "sv"]
    assert module.main(["--sets", "blind_a"]) == 0
    lines = capsys.readouterr().out.splitlines()
    total = next(line for line in lines if line.startswith("| all |"))
    assert "| 60 | 60 |" in total
    with pytest.raises(SystemExit):
        module.main(["--sets", "nope"])
