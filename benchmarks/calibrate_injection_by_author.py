"""Experiment: a learned combiner over the rule signals, validated leave-one-author-out.

    python benchmarks/calibrate_injection_by_author.py [--C 1.0] [--features signals|all_rules] [--json]

What it measures. ``score_text`` combines its signals with hand-set weights as a noisy-OR,
``1 - prod(1 - w)`` over the strongest signal of each kind, and blocks at 0.7. This script asks
whether a *learned* combination of exactly the same rule outputs generalises better to authors
it was not fitted on. Nothing about the text is learned beyond what the rules already see: the
features are fixed rule outputs, only their combination is fitted.

Rows and authors (``source``): the three writers of ``benchmarks/data/finance_writers/`` (one
author per file), ``finance_fresh2``, ``finance_fresh3``, ``finance_blind_a`` .. ``finance_blind_f``
(one author each) and the development set ``governed_agents/safety/data/finance_injection.jsonl``.
The rules (round 3, 3df5f50) were tuned on the development set, the writers, blind a/b and
fresh2/3, with blind c/d as validation; blind e and f are the only authors they never saw, so
figures are pooled over all *new* authors (every source but the development set) and over e+f
alone (``UNSEEN``).

Features per text (``--features``):
  signals    what ``score_text`` returns: per-kind max weight, presence of each winning rule
             name, context one-hot, number of kinds, the heuristic score, a length bucket, and
             pairwise products of kind presence.
  all_rules  (default) the same, but rule-name features come from *every* rule that fires (the
             scorer drops a weaker rule once its kind has a stronger one; a re-scan of the frozen
             rule list with the scorer's own skip conditions recovers them). Checked: the per-kind
             maxima equal the scorer's signals on every row.

Models: (a) the heuristic noisy-OR; (b) L2 logistic regression (balanced classes, ``--C``);
(c) a small gradient-boosted tree model (depth 3, 60 trees) on the
compact features only (per-kind weights, context, length bucket, number of kinds, heuristic score); (d) max(heuristic, logistic).
Protocol: each author held out in turn, the model fitted on all the others (dev set included);
held-out scores are pooled. Two kinds of operating point:
  oracle     the threshold giving FPR 2 % / 5 % on the pooled held-out benign rows themselves
             (optimistic for every scorer alike; comparable to the earlier learned-head table);
  deployable the threshold fixed *before* seeing the held-out author: for the heuristic 0.7, for
             the learned models the threshold giving FPR 2 % on the training authors' own
             inner leave-one-author-out scores (nested).
A paired bootstrap over the unseen authors' rows gives a 90 % interval for the learned-minus-heuristic TPR at
the oracle FPR-2 % point.

Needs numpy and scikit-learn only (peers the project does not install); runs in well under two
minutes on 2 cores. Tried, not adopted: docs/safety.md, "learned weights over the rule signals" (figures
there were taken with the rules of fb008b6, before round 3 tuned on blind a/b).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governed_agents.safety import injection as inj  # noqa: E402

FINANCE_CONTEXTS = ("invoice_memo", "vendor_email", "bank_change_request")
BENCH = REPO / "benchmarks" / "data"
WRITERS = {"invoice_memo.jsonl": "writer-memos", "vendor_email.jsonl": "writer-emails",
           "bank_change.jsonl": "writer-bank-letters"}
SINGLE = ("finance_fresh2", "finance_fresh3", "finance_blind_a", "finance_blind_b", "finance_blind_c", "finance_blind_d",
          "finance_blind_e", "finance_blind_f")
DEV = "development-set"
# The authors the committed rules were never tuned on nor validated with (round 3: e and f).
UNSEEN = ("finance_blind_e", "finance_blind_f")
HEURISTIC_THRESHOLD = inj.DEFAULT_THRESHOLD
LENGTH_BUCKETS = (200, 400, 800, 1600)


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_rows() -> list[dict]:
    rows = []
    for name, source in WRITERS.items():
        rows += [dict(r, source=source) for r in _read(BENCH / "finance_writers" / name)]
    for stem in SINGLE:
        rows += [dict(r, source=stem) for r in _read(BENCH / f"{stem}.jsonl")]
    rows += [dict(r, source=DEV) for r in _read(REPO / "governed_agents" / "safety" / "data" / "finance_injection.jsonl")]
    bad = [r["id"] for r in rows if r["context"] not in FINANCE_CONTEXTS]
    if bad:
        raise ValueError(f"rows outside the finance contexts: {bad[:5]}")
    return rows


def all_firings(text: str, context: str) -> dict[str, float]:
    """Every rule that fires on ``text`` (``kind:name`` -> its weight): the scorer's own
    ``_rule_matches`` without its "a stronger rule of the same kind already fired" short cut."""
    out: dict[str, float] = {}
    if inj._unscanned(text):
        return out
    profile = inj.PROFILES[context]
    head, _h, tail, _t = inj._window(text)
    for part in (head, tail):
        if not part:
            continue
        norm, _origin = inj._normalise(part)
        for name, kind, w, _match in inj._rule_matches(norm, profile):
            key = f"{kind}:{name}"
            out[key] = max(out.get(key, 0.0), round(w, 3))
    return out


def featurise(rows: list[dict], mode: str):
    kinds = sorted({k for _n, k, *_ in inj._RULES})
    names = sorted({f"{k}:{n}" for n, k, *_ in inj._RULES})
    kidx = {k: i for i, k in enumerate(kinds)}
    nidx = {n: i for i, n in enumerate(names)}
    pairs = list(itertools.combinations(range(len(kinds)), 2))
    h = np.zeros(len(rows))
    K = np.zeros((len(rows), len(kinds)))
    N = np.zeros((len(rows), len(names)))
    mismatches = 0
    for i, r in enumerate(rows):
        s = inj.score_text(r["text"], context=r["context"])
        h[i] = s.score
        for sig in s.signals:
            K[i, kidx[sig.kind]] = sig.weight
            if mode == "signals":
                N[i, nidx[f"{sig.kind}:{sig.name}"]] = 1.0
        if mode == "all_rules":
            fired = all_firings(r["text"], r["context"])
            kmax: dict[str, float] = {}
            for key, w in fired.items():
                N[i, nidx[key]] = w
                kind = key.split(":", 1)[0]
                kmax[kind] = max(kmax.get(kind, 0.0), w)
            if {k: v for k, v in kmax.items()} != {sig.kind: sig.weight for sig in s.signals}:
                mismatches += 1
    P = (K > 0).astype(float)
    ctx = np.array([[r["context"] == c for c in FINANCE_CONTEXTS] for r in rows], dtype=float)
    length = np.array([len(r["text"]) for r in rows])
    lb = np.stack([length < LENGTH_BUCKETS[0]] + [(length >= a) & (length < b) for a, b in
                  zip(LENGTH_BUCKETS, LENGTH_BUCKETS[1:] + (10**9,))], axis=1).astype(float)
    nk = P.sum(1, keepdims=True)
    inter = np.stack([P[:, a] * P[:, b] for a, b in pairs], axis=1)
    ctx_kind = np.hstack([P * ctx[:, [j]] for j in range(ctx.shape[1])])  # kind x context
    X = np.hstack([K, N, ctx, lb, nk / 5.0, (nk >= 2), (nk >= 3), h[:, None], inter, ctx_kind])
    compact = np.hstack([K, ctx, lb, nk, h[:, None]])  # for the trees: they find interactions themselves
    keep = (X != 0).any(axis=0)  # columns no row ever sets carry nothing
    return X[:, keep], compact[:, (compact != 0).any(axis=0)], h, mismatches


def lr_model(C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", solver="liblinear", max_iter=5000)


def gbm_model():
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_depth=3, max_iter=60, learning_rate=0.15, min_samples_leaf=20,
                                          l2_regularization=1.0, class_weight="balanced", early_stopping=False,
                                          random_state=0)


def _threshold_at(neg_scores: np.ndarray, fpr: float) -> float:
    """Smallest threshold whose false-positive rate on ``neg_scores`` is at most ``fpr``."""
    neg = np.sort(neg_scores)[::-1]
    k = int(math.floor(fpr * len(neg)))  # allowed false positives
    return float(neg[k]) + 1e-9 if k < len(neg) else -np.inf


def _rates(score, y, t):
    return float((score[y == 1] >= t).mean()), float((score[y == 0] >= t).mean())


def loao(X, y, src, make, inner: bool):
    """Held-out scores and, if ``inner``, per-author deployable thresholds (FPR 2 % on nested scores)."""
    out = np.zeros(len(y))
    thr: dict[str, float] = {}
    for a in sorted(set(src)):
        tr, te = src != a, src == a
        out[te] = make().fit(X[tr], y[tr]).predict_proba(X[te])[:, 1]
        if inner:
            nested = np.zeros(tr.sum())
            Xt, yt, st = X[tr], y[tr], src[tr]
            for b in sorted(set(st)):
                m = st == b
                nested[m] = make().fit(Xt[~m], yt[~m]).predict_proba(Xt[m])[:, 1]
            thr[a] = _threshold_at(nested[yt == 0], 0.02)
    return out, thr


def main(argv: list[str] | None = None) -> int:
    from sklearn.metrics import roc_auc_score

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--C", type=float, default=1.0, help="inverse L2 strength of the logistic combiner (default 1)")
    ap.add_argument("--features", choices=("signals", "all_rules"), default="all_rules",
                    help="rule-name features from the returned signals only, or from every firing rule (default)")
    ap.add_argument("--no-gbm", action="store_true", help="skip the gradient-boosted model")
    ap.add_argument("--boot", type=int, default=2000, help="bootstrap resamples for the unseen authors' interval (default 2000)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)

    rows = load_rows()
    X, Xc, h, mismatches = featurise(rows, args.features)
    y = np.array([int(r["label"]) for r in rows])
    src = np.array([r["source"] for r in rows])
    scorers: dict[str, np.ndarray] = {"heuristic": h}
    deploy: dict[str, dict[str, float]] = {"heuristic": {a: HEURISTIC_THRESHOLD for a in set(src)}}
    lr, deploy["logistic"] = loao(X, y, src, lambda: lr_model(args.C), inner=True)
    scorers["logistic"] = lr
    if not args.no_gbm:
        scorers["gbm"], deploy["gbm"] = loao(Xc, y, src, gbm_model, inner=True)
    scorers["max(heur,logistic)"] = np.maximum(h, lr)

    pools = {"new authors": src != DEV, "unseen authors (blind e+f)": np.isin(src, UNSEEN)}
    out: dict = {"features": args.features, "C": args.C, "n_features": int(X.shape[1]), "n_features_trees": int(Xc.shape[1]),
                 "kind_mismatches_all_rules_vs_scorer": mismatches, "pooled": {}, "per_author": {}}
    for pname, m in pools.items():
        res = {"injections": int((m & (y == 1)).sum()), "benign": int((m & (y == 0)).sum())}
        for name, s in scorers.items():
            r = {"auc": float(roc_auc_score(y[m], s[m]))}
            for f in (0.02, 0.05):
                t = _threshold_at(s[m & (y == 0)], f)
                r[f"oracle_fpr{f}"] = _rates(s[m], y[m], t)
            if name in deploy:
                dt = np.array([deploy[name][a] for a in src])
                hit = s >= dt
                r["deployable"] = (float(hit[m & (y == 1)].mean()), float(hit[m & (y == 0)].mean()))
            if name == "heuristic":
                r["at0.7"] = _rates(s[m], y[m], HEURISTIC_THRESHOLD)
            res[name] = r
        out["pooled"][pname] = res
    for a in sorted(set(src)):
        m = src == a
        res = {"injections": int((m & (y == 1)).sum()), "benign": int((m & (y == 0)).sum())}
        for name, s in scorers.items():
            r = {"auc": float(roc_auc_score(y[m], s[m])),
                 "oracle_fpr0.02": _rates(s[m], y[m], _threshold_at(s[m & (y == 0)], 0.02))}
            if name in deploy:
                r["deployable"] = _rates(s[m], y[m], deploy[name][a])
            res[name] = r
        out["per_author"][a] = res

    # paired bootstrap on the unseen authors: learned minus heuristic TPR at oracle FPR 2 %
    rng = np.random.default_rng(0)
    m = np.isin(src, UNSEEN)
    pos, neg = np.where(m & (y == 1))[0], np.where(m & (y == 0))[0]
    boot = {}
    for name in [n for n in scorers if n != "heuristic"]:
        d = []
        for _ in range(args.boot):
            p, n = rng.choice(pos, len(pos)), rng.choice(neg, len(neg))
            def tpr(s):
                return float((s[p] >= _threshold_at(s[n], 0.02)).mean())
            d.append(tpr(scorers[name]) - tpr(h))
        boot[name] = (float(np.mean(d)), float(np.quantile(d, 0.05)), float(np.quantile(d, 0.95)))
    out["bootstrap_cd_tpr_gain_at_fpr0.02"] = boot

    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"features={args.features} ({X.shape[1]} columns; trees: {Xc.shape[1]}), logistic C={args.C}; "
          f"all-rules kind maxima != scorer signals on {mismatches} rows")
    print("Out-of-author scores (each author held out in turn, fitted on all others incl. the dev set).")
    for pname, res in out["pooled"].items():
        print(f"\n== pooled: {pname} ({res['injections']} injections, {res['benign']} benign)")
        print(f"{'scorer':20s} {'AUC':>6s}  {'TPR@FPR2% (FPR)':>16s}  {'TPR@FPR5% (FPR)':>16s}  {'deployable TPR / FPR':>21s}")
        for name in scorers:
            r = res[name]
            dep = r.get("at0.7", r.get("deployable"))
            dep_s = f"{dep[0]:.3f} / {dep[1]:.3f}" if dep else "-"
            print(f"{name:20s} {r['auc']:6.3f}  {r['oracle_fpr0.02'][0]:6.3f} ({r['oracle_fpr0.02'][1]:.3f})  "
                  f"{r['oracle_fpr0.05'][0]:6.3f} ({r['oracle_fpr0.05'][1]:.3f})  {dep_s:>21s}")
    print("\n(deployable: heuristic at 0.7; learned at the FPR-2 % threshold of nested LOAO on the training authors)")
    print("\n== per author (held out): AUC | oracle TPR@FPR<=2% | deployable TPR/FPR")
    names = list(scorers)
    print(f"{'author':22s} {'inj':>4s} {'ben':>4s}  " + "  ".join(f"{n[:18]:>30s}" for n in names))
    for a, res in out["per_author"].items():
        cells = []
        for n in names:
            r = res[n]
            dep = r.get("deployable")
            cells.append(f"{r['auc']:.3f} | {r['oracle_fpr0.02'][0]:.3f} | " + (f"{dep[0]:.2f}/{dep[1]:.2f}" if dep else "    -    "))
        print(f"{a:22s} {res['injections']:4d} {res['benign']:4d}  " + "  ".join(f"{c:>30s}" for c in cells))
    print("\nunseen authors (e+f) paired bootstrap, TPR gain over heuristic at oracle FPR 2 % (mean [5 %, 95 %]):")
    for name, (mu, lo, hi) in boot.items():
        print(f"  {name:20s} {mu:+.3f} [{lo:+.3f}, {hi:+.3f}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
