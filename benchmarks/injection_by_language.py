"""The injection scorer on the blind finance sets, split by the language a row is written in.

    python benchmarks/injection_by_language.py [--threshold 0.7] [--sets blind_e,blind_f] [--before REV]

The blind sets carry no language field, so each row gets one from its words: the language whose
commonest function words ("the", "und", "les", "het", "och", …) it uses most, read from the
injected sentence for an injection and from the whole text for a benign row (whose carrier may be
in another language than its key sentence: a benign row in a Dutch letter counts as Dutch). A
guess, not an annotation: short texts and mixed letters can land in the wrong column, so read the
split as "English against the rest" first. ``--before REV`` scores a second version of the rules
(loaded as ``compare_injection_rules.py`` does) beside the working tree's.

A set scored here is seen like any other: run it on a set after it has been scored once.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

from compare_injection_rules import load_rules, rates  # noqa: E402
from eval_injection import BLIND  # noqa: E402

from governed_agents.safety import injection as current  # noqa: E402

# The commonest function words of each language the finance sets use (no shared spellings
# within a list's top entries that would tip a sentence: "de" is left out, it is Dutch,
# Spanish, Portuguese, French and Polish alike).
STOPWORDS = {
    "en": "the and of to is are for this that with you your we our please be will on by have not it as from".split(),
    "de": "der die das und ist nicht mit für wir sie ihre unsere bitte werden auf den dem zu von auch".split(),
    "fr": "le la les et est des pour nous vous votre nos avec une dans pas sur merci ce sont au".split(),
    "es": "el los las y es por para nosotros su sus con una del que no favor este esta se al".split(),
    "it": "il lo gli e è per noi vostro vostra con una del della che non sono questo questa al".split(),
    "nl": "het een en is van voor wij u uw onze met niet zijn dat deze bij ook worden graag".split(),
    "pt": "o os as e é para nós seu sua com uma do da que não favor este esta ao pelo".split(),
    "pl": "i w na z że jest nie do się prosimy proszę oraz dla po przez od nasz wasz".split(),
    "sv": "och är att för vi ni er vår med inte på av det den som till från".split(),
}
_WORD = re.compile(r"[^\W\d_]+")


def language(text: str) -> str:
    words = [w.lower() for w in _WORD.findall(text)]
    best, hits = "en", 0
    for lang, stop in STOPWORDS.items():
        found = sum(w in stop for w in words)
        if found > hits:
            best, hits = lang, found
    return best


def load(names: list[str]) -> list[dict]:
    rows = []
    for path in BLIND:
        name = path.stem.removeprefix("finance_")
        if name in names and path.exists():
            rows += [dict(json.loads(x), set=name) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return rows


def language_keys(row: dict) -> tuple[str, ...]:
    """The row's language, "not English" when it is not, and "all"."""
    lang = language(row["injection"] if row["label"] == 1 and row.get("injection") else row["text"])
    return (lang, "all") if lang == "en" else (lang, "not English", "all")


def _cell(hit: int, n: int) -> str:
    return f"{hit}/{n} = {hit / n:.3f}" if n else "–"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=float, default=0.7, help="block at or above (default 0.7)")
    parser.add_argument("--sets", default="blind_e,blind_f",
                        help="comma-separated blind sets, e.g. blind_g,blind_h (default blind_e,blind_f)")
    parser.add_argument("--before", help="a git revision of the rules to score beside the working tree's")
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    rows = load(names)
    if not rows:
        parser.error(f"no rows: none of {names} is among {[p.stem.removeprefix('finance_') for p in BLIND]}")
    versions = [("working tree", current)]
    if args.before:
        versions.insert(0, (args.before, load_rules(args.before)))
    tables = [(label, rates(module, rows, args.threshold, language_keys)) for label, module in versions]
    keys = sorted(tables[-1][1], key=lambda k: (k == "all", k == "not English", k != "en", k))
    head = " | ".join(f"{label} TPR | {label} FPR" for label, _ in tables)
    print(f"sets {', '.join(names)}, threshold {args.threshold}\n")
    print(f"| language | injections | benign | {head} |")
    print("|---|---:|---:|" + "---:|---:|" * len(tables))
    for key in keys:
        tp, pos, fp, neg = tables[-1][1][key]
        cells = " | ".join(f"{_cell(t[key][0], t[key][1])} | {_cell(t[key][2], t[key][3])}" for _, t in tables)
        print(f"| {key} | {pos} | {neg} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
