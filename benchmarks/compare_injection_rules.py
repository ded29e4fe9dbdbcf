"""Two versions of the injection rules side by side on the held-out finance sets, in one run.

    python benchmarks/compare_injection_rules.py [--before REV] [--threshold 0.7] [--passes 5]

``--before`` is a git revision whose ``governed_agents/safety/injection.py`` is loaded beside the
working tree's (default ``990dc3c``: the rules before they were rewritten by kind of request). Sets:
the writers' held-out half (``eval_injection.writer_split``) and the blind sets
``benchmarks/data/finance_blind_*.jsonl``, per context. Cost: both
versions alternated over every text, median of ``--passes`` passes, microseconds per text.

Used to score each blind set once with the rules frozen (2026-12-05: a and b, c and d, e and f, g and h); the
figures are in docs/safety.md. A set scored once is seen: running it again measures nothing new.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

from eval_injection import BLIND, WRITERS, writer_split  # noqa: E402

from governed_agents.safety import injection as current  # noqa: E402

CONTEXTS = ("invoice_memo", "vendor_email", "bank_change_request")


def load_rules(rev: str):
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:governed_agents/safety/injection.py"],
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "injection_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("injection_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["injection_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def sets() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for path in sorted(WRITERS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if writer_split(row) == "heldout":
                out.setdefault("writers heldout", []).append(row)
    for path in BLIND:
        if not path.exists():
            continue
        out[path.stem.removeprefix("finance_")] = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()
                                                   if x.strip()]
    return out


def rates(module, rows: list[dict], threshold: float, keys=None) -> dict[str, list[int]]:
    """[tp, positives, fp, negatives] per key of ``keys(row)`` (default: the row's context, and "all")."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # tp, pos, fp, neg
    for r in rows:
        blocked = module.score_text(r["text"], context=r["context"]).score >= threshold
        for key in (keys(r) if keys else (r["context"], "all")):
            c = counts[key]
            if r["label"] == 1:
                c[0] += blocked
                c[1] += 1
            else:
                c[2] += blocked
                c[3] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default="990dc3c", help="git revision of the rules to compare with")
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args(argv)
    before = load_rules(args.before)
    data = sets()
    print(f"| set | context | TPR {args.before} → working tree | FPR {args.before} → working tree |")
    print("|---|---|---:|---:|")
    for name, rows in data.items():
        b, a = rates(before, rows, args.threshold), rates(current, rows, args.threshold)
        for ctx in (*CONTEXTS, "all"):
            (btp, bpos, bfp, bneg), (atp, apos, afp, aneg) = b[ctx], a[ctx]
            print(f"| {name} | {ctx} | {btp}/{bpos} = {btp / bpos:.3f} → {atp}/{apos} = {atp / apos:.3f} | "
                  f"{bfp}/{bneg} = {bfp / bneg:.3f} → {afp}/{aneg} = {afp / aneg:.3f} |")
    texts = [(r["text"], r["context"]) for rows in data.values() for r in rows]
    times: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(args.passes):
        for label, module in (("before", before), ("after", current)):
            started = time.perf_counter()
            for text, context in texts:
                module.score_text(text, context=context)
            times[label].append((time.perf_counter() - started) / len(texts) * 1e6)
    median = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    print(f"\ncost per text (median of {args.passes} passes over {len(texts)} texts): {args.before} "
          f"{median['before']:.0f} µs, working tree {median['after']:.0f} µs, ratio {median['after'] / median['before']:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
