"""Fuzzing the envelope loader: any input loads or is a PolicyError, quickly; nothing else escapes."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from governed_agents.envelope import LoadedEnvelope, load_envelope_text
from governed_agents.errors import PolicyError

EXAMPLE = (Path(__file__).resolve().parent.parent / "policies" / "invoice_reconcile.yaml").read_text()
VALID = yaml.safe_load(EXAMPLE)
VALID["version"] = str(VALID["version"])

# No deadline: a wall-clock bound fails on a loaded machine and proves nothing on a
# fast one. The work per input is bounded by the loader's limits (MAX_BYTES,
# MAX_DEPTH, MAX_NODES, no anchors); tests/adversarial/test_fuzz_envelope.py shows
# each limit is hit.
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_or_refuse(text: str | bytes) -> LoadedEnvelope | PolicyError:
    try:
        return load_envelope_text(text, "fuzz.yaml")
    except PolicyError as exc:
        assert exc.message.startswith("fuzz.yaml"), exc.message
        assert exc.details["errors"], "every refusal lists its problems"
        return exc


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)


@FUZZ
@given(st.text(max_size=400))
@example(ALIAS_BOMB)
@example("a: !!python/object/apply:os.system [echo hi]\n")
@example("a: !!binary AAAA\n")
@example("? !!set {a, b}\n: 1\n")
@example("\ufeff\u202eversion: 1\n")
@example("{" * 5000)
@example("- " * 3000)
@example("a: 1e99999\nb: 0x_\nc: !!float nan\n")
@example("%YAML 1.1\n--- !!map\nversion: x\n")
def test_random_text_loads_or_is_refused(text):
    load_or_refuse(text)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_load_or_are_refused(data):
    load_or_refuse(data)


def test_alias_bomb_is_refused_at_its_first_anchor():
    result = load_or_refuse(ALIAS_BOMB)
    assert isinstance(result, PolicyError) and "anchors (&a) are not allowed" in result.message
    assert result.details["errors"][0]["line"] == 1  # refused at the first anchor, before any expansion


yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=True),
    st.text(max_size=30),
    st.dates(),
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=15), children, max_size=5)
    ),
    max_leaves=20,
)


@FUZZ
@given(yaml_values)
def test_random_structures_load_or_are_refused(value):
    load_or_refuse(yaml.safe_dump(value, allow_unicode=True))


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _paths(sub, prefix + (key,))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _paths(sub, prefix + (index,))


VALID_PATHS = [p for p in _paths(VALID) if p]


@FUZZ
@given(path=st.sampled_from(VALID_PATHS), replacement=yaml_values)
def test_one_field_of_the_valid_envelope_replaced_by_anything(path, replacement):
    import copy

    data = copy.deepcopy(VALID)
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = replacement
    result = load_or_refuse(yaml.safe_dump(data, allow_unicode=True))
    if isinstance(result, PolicyError):
        dotted = ".".join(str(p) for p in path[:2] if isinstance(p, str))
        # The refusal names the field that was replaced (or a YAML-level problem in it).
        assert any(dotted.split(".")[0] in (e["path"] or "") or not e["path"] for e in result.details["errors"])


@FUZZ
@given(
    tokens=st.integers(min_value=-(10**30), max_value=10**30),
    cap=st.one_of(st.decimals(allow_nan=True, allow_infinity=True).map(str), st.floats().map(repr)),
    threshold=st.floats(),
    tool=st.text(min_size=1, max_size=40),
    role=st.text(max_size=20),
)
def test_huge_numbers_and_unicode_in_known_fields(tokens, cap, threshold, tool, role):
    text = (
        EXAMPLE.replace("max_tokens_per_task: 18000", f"max_tokens_per_task: {tokens}")
        .replace("hard_cost_cap_usd: 1.25", f"hard_cost_cap_usd: {yaml.safe_dump(cap).splitlines()[0]}")
        .replace("gte: 0.7", f"gte: {yaml.safe_dump(threshold).splitlines()[0]}")
        .replace('"erp.match_po"', yaml.safe_dump(tool, allow_unicode=True, width=1000).splitlines()[0])
        .replace('"FinanceAdmin"', yaml.safe_dump(role, allow_unicode=True, width=1000).splitlines()[0])
    )
    result = load_or_refuse(text)
    if isinstance(result, LoadedEnvelope):
        env = result.envelope
        assert 0 < env.budgets.max_tokens_per_task
        assert env.budgets.hard_cost_cap_usd > 0 and env.budgets.hard_cost_cap_usd.is_finite()
        assert 0 <= env.safety.block_on_prompt_injection_score_gte <= 1
        assert result.digest.startswith("sha256:")


def test_a_large_but_legal_file_loads():
    # ~900 KiB of comments and a long description: under the 1 MiB limit.
    text = EXAMPLE + "description: '" + ("x" * 400_000) + "'\n" + ("# padding\n" * 50_000)
    loaded = load_envelope_text(text, "big.yaml")
    assert len(loaded.envelope.description) == 400_000


def test_a_file_with_too_many_nodes_is_refused_at_the_limit():
    text = "a: [" + "1," * 400_000 + "]\n"  # under 1 MiB, but 400k nodes
    result = load_or_refuse(text)
    assert isinstance(result, PolicyError) and "more than 20000 YAML nodes" in result.message


def test_thousands_of_errors_are_listed_in_details_and_capped_in_the_message():
    text = EXAMPLE + "parameters:\n  extra:\n" + "".join(f"    k{i}: 2026-01-01\n" for i in range(500))
    result = load_or_refuse(text)
    assert isinstance(result, PolicyError)
    assert len(result.details["errors"]) == 500
    lines = result.message.splitlines()
    assert len(lines) == 51 and lines[-1] == "fuzz.yaml: … and 450 more problems"


@FUZZ
@given(st.lists(st.integers(min_value=0, max_value=0x10FFFF), max_size=12), st.sampled_from(["description", "version"]))
@example([0xD800], "description")
@example([0xDFFF, 0x41], "version")
@example([0x0, 0x7, 0x85, 0x2028, 0xFEFF, 0x10FFFF], "description")
def test_escaped_code_points_in_double_quoted_strings(code_points, field):
    # YAML escapes can produce what raw text cannot: control characters, lone surrogates.
    escaped = "".join(f"\\U{c:08x}" for c in code_points)
    text = EXAMPLE.replace("version: 2026-03-01\n", "") + f'{field}: "{escaped}"\n'
    if field == "description":
        text += "version: v1\n"
    result = load_or_refuse(text)
    if isinstance(result, LoadedEnvelope):
        result.digest.encode("ascii")
