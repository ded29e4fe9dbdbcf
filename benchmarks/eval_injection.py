"""Measure the injection scorer: TPR and FPR per set, per split, at a threshold.

    python benchmarks/eval_injection.py [--data DIR] [--threshold 0.7] [--json]

Sets (label 1 = injection):

- InjecAgent: ``injecagent_attacks`` (the bare attacker instructions) and ``injecagent_embedded``
  (the same instructions inside realistic tool responses) against ``injecagent_benign`` (tool
  responses with a benign filler, scored as ``tool_output``; the user's own instructions, scored
  as ``user``).
- AgentDojo: ``agentdojo_injections`` (goals) against ``agentdojo_benign_vectors`` (the default
  content of the injection slots), both scored as ``tool_output``.
- finance: ``governed_agents/safety/data/finance_injection.jsonl`` (written for this project), each
  row scored in its own context (invoice_memo, vendor_email, bank_change_request), and
  ``benchmarks/data/finance_fresh2.jsonl`` and ``finance_fresh3.jsonl`` (other authors' finance
  rows, splits ``fresh2`` and ``fresh3``).
- finance (writers): ``benchmarks/data/finance_writers/`` — 780 rows by three more authors who
  never saw the scorer (invoice memos, vendor e-mails, bank-change letters), split by carrier:
  ``train`` (the rules were later tuned on it) and ``heldout``.
- finance (blind): ``benchmarks/data/finance_blind_a.jsonl`` … ``finance_blind_h.jsonl`` — eight
  more authors' sets, each scored once with the rules frozen (docs/safety.md says when and which
  were seen while tuning later).
- deepset/prompt-injections: reported separately, scored as ``user`` (what it is: chat prompts)
  and as ``tool_output`` (the same text placed where data belongs).

Splits. The rules were written while looking at data, so figures are given per split:

- public sets: ``sha256(key) % 2`` — 0 is ``train``, 1 is ``heldout``. The key is the attacker
  instruction for InjecAgent positives (so an instruction and its embedded variants fall on the
  same side) and the row id otherwise.
- finance: the ``split`` field of each row. ``train`` / ``dev``: by the hand-written sentence a row
  rests on *and* by its carrier (the memo, email or bank letter the sentence is put in), so no dev
  row shares either with a train row. ``fresh`` (the first set's fresh rows) and ``fresh2``
  (another author's) were written after earlier versions of the rules were frozen.

See docs/safety.md for how each split was (and was not) looked at while the rules were written.
FPR intervals are 95 % Wilson intervals: with 30-odd benign texts, one false positive is 3 %.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governed_agents.safety.injection import DEFAULT_THRESHOLD, score_text  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("GOVERNED_AGENTS_INJECTION_EVAL", REPO.parent / "shared" / "injection_eval"))
FINANCE = REPO / "governed_agents" / "safety" / "data" / "finance_injection.jsonl"
FINANCE_FRESH2 = REPO / "benchmarks" / "data" / "finance_fresh2.jsonl"
FINANCE_FRESH3 = REPO / "benchmarks" / "data" / "finance_fresh3.jsonl"
WRITERS = REPO / "benchmarks" / "data" / "finance_writers"
BLIND = tuple(REPO / "benchmarks" / "data" / f"finance_blind_{x}.jsonl" for x in "abcdefgh")
SPLIT_ORDER = ("train", "heldout", "dev", "fresh", "fresh2", "fresh3", "test", "blind_a", "blind_b", "blind_c", "blind_d", "blind_e", "blind_f", "blind_g", "blind_h")


def public_split(row: dict) -> str:
    key = row["id"]
    if row.get("source") == "InjecAgent" and row.get("label") == 1:
        key = row.get("attacker_instruction") or row["text"]
    return "train" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 == 0 else "heldout"


def writer_split(row: dict) -> str:
    """The writers' rows by carrier (a letter and its benign twin fall on the same side)."""
    return "train" if int(hashlib.sha256(row["carrier"].encode()).hexdigest(), 16) % 2 == 0 else "heldout"


def _read(path: Path) -> list[dict]:
    if not path.exists():
        raise SystemExit(f"{path}: missing (pass --data DIR with the public injection eval sets)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load(data: Path) -> dict[str, list[tuple[dict, str, str]]]:
    """Set name -> [(row, context, split)]."""
    sets: dict[str, list[tuple[dict, str, str]]] = {"InjecAgent": [], "AgentDojo": [], "finance": [],
                                                     "finance (writers)": [], "finance (blind)": [],
                                                     "deepset (as user prompt)": [],
                                                     "deepset (as tool output)": []}
    for name in ("injecagent_attacks", "injecagent_embedded", "injecagent_benign"):
        for row in _read(data / f"{name}.jsonl"):
            context = "user" if row.get("kind") == "user_instruction" else "tool_output"
            sets["InjecAgent"].append((row, context, public_split(row)))
    for name in ("agentdojo_injections", "agentdojo_benign_vectors"):
        for row in _read(data / f"{name}.jsonl"):
            sets["AgentDojo"].append((row, "tool_output", public_split(row)))
    for row in _read(FINANCE) + _read(FINANCE_FRESH2) + _read(FINANCE_FRESH3):
        sets["finance"].append((row, row["context"], row["split"]))
    for path in sorted(WRITERS.glob("*.jsonl")):
        for row in _read(path):
            sets["finance (writers)"].append((row, row["context"], writer_split(row)))
    for path in BLIND:
        if path.exists():
            for row in _read(path):
                sets["finance (blind)"].append((row, row["context"], path.stem.removeprefix("finance_")))
    if not sets["finance (blind)"]:
        del sets["finance (blind)"]
    for row in _read(data / "labeled_injections.jsonl"):
        sets["deepset (as user prompt)"].append((row, "user", row["split"]))
        sets["deepset (as tool output)"].append((row, "tool_output", row["split"]))
    return sets


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 0.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def measure(items: list[tuple[dict, str, str]], threshold: float) -> dict:
    tp = fp = pos = neg = 0
    for row, context, _ in items:
        blocked = score_text(row["text"], context=context).score >= threshold
        if row["label"] == 1:
            pos += 1
            tp += blocked
        else:
            neg += 1
            fp += blocked
    low, high = wilson(fp, neg)
    return {"positives": pos, "negatives": neg, "tp": tp, "fp": fp,
            "tpr": round(tp / pos, 3) if pos else None, "fpr": round(fp / neg, 3) if neg else None,
            "fpr_95ci": [round(low, 3), round(high, 3)] if neg else None}


def evaluate(data: Path, threshold: float) -> list[dict]:
    table = []
    for name, items in load(data).items():
        splits = sorted({s for _, _, s in items}, key=lambda s: SPLIT_ORDER.index(s) if s in SPLIT_ORDER else 9)
        for split in splits:
            table.append({"set": name, "split": split,
                          **measure([i for i in items if i[2] == split], threshold)})
        table.append({"set": name, "split": "all", **measure(items, threshold)})
    return table


def _fmt(value, count, total) -> str:
    return "–" if value is None else f"{value:.3f} ({count}/{total})"


def markdown(table: list[dict], threshold: float) -> str:
    lines = [f"threshold {threshold}", "",
             "| set | split | TPR | FPR | FPR 95 % CI |", "|---|---|---:|---:|---:|"]
    for r in table:
        ci = "–" if r["fpr_95ci"] is None else f"{r['fpr_95ci'][0]:.3f}–{r['fpr_95ci'][1]:.3f}"
        split = f"**{r['split']}**" if r["split"] == "all" else r["split"]
        lines.append(f"| {r['set']} | {split} | {_fmt(r['tpr'], r['tp'], r['positives'])} | "
                     f"{_fmt(r['fpr'], r['fp'], r['negatives'])} | {ci} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"public eval sets (default {DEFAULT_DATA})")
    parser.add_argument("--threshold", type=float, action="append",
                        help=f"block at or above (repeatable; default {DEFAULT_THRESHOLD})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown tables")
    args = parser.parse_args(argv)
    thresholds = args.threshold or [DEFAULT_THRESHOLD]
    results = {str(t): evaluate(args.data, t) for t in thresholds}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print("\n\n".join(markdown(results[str(t)], t) for t in thresholds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
