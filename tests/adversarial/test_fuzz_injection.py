"""Fuzzing the injection scorer: no exception, a score in [0, 1], and bounded work per text.

Bounded work is shown without a clock: the scorer scans at most
``MAX_SCAN_CHARS`` characters of any text (head and tail halves of a longer
one), which the test checks by recording what reaches the scanning step,
however long, deep or odd the input is.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governed_agents.safety import injection
from governed_agents.safety.injection import CONTEXTS, score_text
from tests.adversarial._config import scaled

FUZZ = settings(max_examples=scaled(200, 2000), deadline=None, suppress_health_check=[HealthCheck.too_slow])

pieces = st.sampled_from(["ignore", "previous", "instructions", "SYSTEM:", "[INST]", "</s>", "\u200b", "\u202e",
                          "ｉｇｎｏｒｅ", "іgnore", "send", "to", "attacker@evil.example", "IBAN DE89370400440532013000",
                          "erp.update_vendor_bank(", "(((((", "\\", "$(", "{{", "%s", "\x00", "\n", " " * 50])
texts = st.one_of(
    st.text(max_size=2000),
    st.lists(pieces, max_size=400).map(" ".join),
    st.tuples(st.lists(pieces, max_size=40).map(" ".join), st.integers(1, 3000)).map(lambda t: t[0] * t[1]),
)


@FUZZ
@given(text=texts, context=st.sampled_from(CONTEXTS))
def test_scorer_never_raises_and_scans_a_bounded_amount(text, context):
    scanned: list[int] = []
    original = injection._scan

    def recording(part, *args, **kwargs):
        scanned.append(len(part))
        return original(part, *args, **kwargs)

    injection._scan = recording
    try:
        result = score_text(text, context=context)
    finally:
        injection._scan = original
    assert 0.0 <= result.score <= 1.0
    assert sum(scanned) <= injection.MAX_SCAN_CHARS, (len(text), scanned)
    for s in result.signals:
        assert 0 <= s.start <= s.end <= len(text) and 0 < s.weight <= 1


def test_non_text_input_is_a_clear_error():
    import pytest

    for bad in (None, b"bytes", 3, ["list"]):
        with pytest.raises(TypeError, match="text must be a str"):
            score_text(bad)
    with pytest.raises(ValueError, match="context must be one of"):
        score_text("hi", context="nope")
