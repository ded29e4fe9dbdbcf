"""Fuzzing envelope YAML with hostile shapes: alias and merge-key bombs, deep nesting,
node floods, huge numbers, unicode everywhere, oversized files.

Every input loads or is a ``PolicyError`` naming the file and its problems
(``tests.test_envelope_fuzz.load_or_refuse``). No wall-clock bound: the work per
input is bounded by the loader's own limits (``MAX_BYTES``, ``MAX_DEPTH``,
``MAX_NODES``, no anchors), which the tests below show are hit before parsing
gets expensive. ``max_examples`` is explicit and reported in docs/adversarial.md.
"""

from __future__ import annotations

import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governed_agents.envelope import loader
from governed_agents.errors import PolicyError
from tests.adversarial._config import scaled
from tests.test_envelope_fuzz import VALID, load_or_refuse



def fuzz(default: int, long: int):
    return settings(max_examples=scaled(default, long), deadline=None, suppress_health_check=list(HealthCheck))


# examples per target (default run / GOVERNED_AGENTS_ADVERSARIAL_LONG=1), reported in docs/adversarial.md
EXAMPLES = {"bombs": (60, 600), "nesting": (30, 300), "floods": (6, 60), "numbers": (40, 400), "unicode": (60, 600)}


def alias_bomb(depth: int, width: int, merge: bool) -> str:
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, depth + 1):
        if merge:
            lines.append(f"a{i}: &a{i}\n  <<: *a{i - 1}\n  k{i}: [{', '.join([f'*a{i - 1}'] * width)}]")
        else:
            lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@fuzz(*EXAMPLES["bombs"])
@given(depth=st.integers(1, 12), width=st.integers(2, 12), merge=st.booleans())
def test_alias_and_merge_bombs_are_refused(depth, width, merge):
    result = load_or_refuse(alias_bomb(depth, width, merge))
    assert isinstance(result, PolicyError) and "anchors" in result.message


@fuzz(*EXAMPLES["nesting"])
@given(n=st.integers(loader.MAX_DEPTH + 1, 20_000), kind=st.sampled_from(["[", "{a: ", "- "]))
def test_deep_nesting_is_refused_at_the_depth_limit(n, kind):
    text = kind * n if kind != "[" else "[" * n + "]" * n
    result = load_or_refuse(text)
    assert isinstance(result, PolicyError)


@fuzz(*EXAMPLES["floods"])
@given(n=st.integers(loader.MAX_NODES + 1, 3 * loader.MAX_NODES))
def test_node_floods_are_refused(n):
    result = load_or_refuse("x: [" + "1," * n + "1]\n")
    assert isinstance(result, PolicyError)


def test_oversized_file_is_refused_before_parsing(monkeypatch):
    parsed = []
    monkeypatch.setattr(yaml, "parse", lambda *a, **k: parsed.append(1) or iter(()))
    result = load_or_refuse("# " + "x" * loader.MAX_BYTES + "\n")
    assert isinstance(result, PolicyError) and parsed == []


huge_numbers = st.one_of(
    st.integers(min_value=10**18, max_value=10**400).map(str),
    st.integers(min_value=-(10**400), max_value=-1).map(str),
    st.sampled_from(["1e308", "1e309", "-1e309", ".inf", "-.inf", ".nan", "0x7fffffffffffffff", "0o777777777777",
                     "1_000_000_000_000_000_000", "9" * 5000, "0.0000000000000000000001", "-0"]),
)
NUMERIC_PATHS = [("budgets", "max_tool_calls"), ("budgets", "max_tokens_per_task"), ("budgets", "hard_cost_cap_usd"),
                 ("permissions", "min_approvals"), ("permissions", "approval_expiry_hours"),
                 ("safety", "block_on_prompt_injection_score_gte")]


@fuzz(*EXAMPLES["numbers"])
@given(path=st.sampled_from(NUMERIC_PATHS), number=huge_numbers)
def test_huge_numbers_in_numeric_fields(path, number):
    data = copy.deepcopy(VALID)
    head, field = path
    data[head][field] = "__NUMBER__"
    text = yaml.safe_dump(data, sort_keys=False).replace("'__NUMBER__'", number).replace("__NUMBER__", number)
    assert number in text
    result = load_or_refuse(text)
    if not isinstance(result, PolicyError):
        value = getattr(getattr(result.envelope, head), field)
        assert value == value and value not in (float("inf"), float("-inf"))  # finite, never NaN


unicode_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@fuzz(*EXAMPLES["unicode"])
@given(key=unicode_text, value=unicode_text, where=st.sampled_from(["top", "permissions", "budgets", "workflow"]))
def test_unicode_keys_and_values(key, value, where):
    data = copy.deepcopy(VALID)
    if where == "top":
        data[key] = value
    elif where == "workflow":
        data["workflow"] = value
    else:
        data[where][key] = value
    result = load_or_refuse(yaml.safe_dump(data, allow_unicode=True))
    if not isinstance(result, PolicyError):
        assert result.envelope.workflow == data["workflow"]
