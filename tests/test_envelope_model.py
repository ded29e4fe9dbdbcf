"""The envelope model and loader: the brief's example, defaults, digests, lookup by workflow."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from governed_agents.canonical import digest
from governed_agents.envelope import (
    Envelope,
    LoadedEnvelope,
    find_envelope,
    load_envelope,
    load_envelope_text,
)
from governed_agents.errors import PolicyError

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "policies" / "invoice_reconcile.yaml"

MINIMAL = """\
version: "1"
workflow: tiny
models: {router: a, reasoning: b, fallback: c}
budgets: {max_tokens_per_task: 10, max_tool_calls: 1, hard_cost_cap_usd: 0.5}
permissions:
  allowed_tools: []
  write_actions_require_approval: false
"""


def test_the_briefs_example_loads_unchanged_and_means_what_it_says():
    loaded = load_envelope(EXAMPLE)
    env = loaded.envelope
    assert isinstance(loaded, LoadedEnvelope)
    assert loaded.version == env.version == "2026-03-01"  # YAML read a date; stored as text
    assert loaded.workflow == env.workflow == "invoice_reconcile"
    assert loaded.source == str(EXAMPLE)
    assert env.pattern == "human_in_the_loop"
    assert (env.models.router, env.models.reasoning, env.models.fallback) == ("small-fast", "frontier", "safe-medium")
    assert env.budgets.max_tokens_per_task == 18000
    assert env.budgets.max_tool_calls == 8
    assert env.budgets.hard_cost_cap_usd == Decimal("1.25")
    assert env.permissions.allowed_tools == ("erp.lookup_vendor", "erp.match_po", "erp.create_journal_entry")
    assert env.permissions.write_actions_require_approval is True
    assert env.permissions.approval_roles == ("FinanceAdmin",)
    assert env.logging.redact_pii is True
    assert env.logging.store_transcripts_days == 30
    assert env.safety.block_on_prompt_injection_score_gte == 0.7
    assert env.safety.require_citations_for == ("policy", "contract", "pricing")


def test_defaults_are_filled_in():
    env = load_envelope_text(MINIMAL, "tiny.yaml").envelope
    assert env.description is None
    assert env.pattern == "human_in_the_loop"
    assert env.budgets.workflow_daily_usd is None
    assert env.budgets.workflow_monthly_usd is None
    assert env.budgets.user_daily_usd is None
    assert env.budgets.tenant_monthly_usd is None
    assert env.budgets.downgrade_at_fraction == (0.6, 0.8, 0.95)
    assert env.permissions.approval_roles == ()
    assert env.permissions.min_approvals == 1
    assert env.permissions.approval_expiry_hours == 24
    assert env.permissions.bounds is None
    assert env.logging.redact_pii is True
    assert env.logging.store_transcripts_days == 30
    assert env.safety.block_on_prompt_injection_score_gte == 0.7
    assert env.safety.require_citations_for == ()
    assert env.parameters.price_tolerance_pct == 2.0
    assert env.parameters.amount_tolerance == Decimal("0.01")
    assert env.parameters.extra == {}


def test_approvals_default_to_required_so_roles_are_required():
    text = MINIMAL.replace("  write_actions_require_approval: false\n", "")
    with pytest.raises(PolicyError, match="approval_roles: must not be empty"):
        load_envelope_text(text, "tiny.yaml")


def test_optional_caps_bounds_and_parameters():
    text = MINIMAL.replace(
        "hard_cost_cap_usd: 0.5}",
        "hard_cost_cap_usd: 0.5, workflow_daily_usd: 50, workflow_monthly_usd: 900.5,"
        " user_daily_usd: '10.00', tenant_monthly_usd: 5000, downgrade_at_fraction: [0.5, 0.9]}",
    ) + (
        "  bounds: {max_amount_usd: 500, max_lines: 20}\n"
        "pattern: autonomous_bounded\n"
        "parameters:\n  price_tolerance_pct: 1.5\n  amount_tolerance: 0.05\n"
        "  extra: {currency_whitelist: [EUR, USD], strict: true, note: null}\n"
    )
    env = load_envelope_text(text, "tiny.yaml").envelope
    assert env.pattern == "autonomous_bounded"
    assert env.budgets.workflow_daily_usd == Decimal("50")
    assert env.budgets.workflow_monthly_usd == Decimal("900.5")
    assert env.budgets.user_daily_usd == Decimal("10.00")
    assert env.budgets.downgrade_at_fraction == (0.5, 0.9)
    assert env.permissions.bounds == {"max_amount_usd": Decimal("500"), "max_lines": Decimal("20")}
    assert env.parameters.price_tolerance_pct == 1.5
    assert env.parameters.amount_tolerance == Decimal("0.05")
    assert env.parameters.extra == {"currency_whitelist": ["EUR", "USD"], "strict": True, "note": None}


def test_envelopes_are_immutable():
    env = load_envelope(EXAMPLE).envelope
    with pytest.raises(Exception):
        env.budgets.max_tool_calls = 1000  # type: ignore[misc]
    assert isinstance(env.permissions.allowed_tools, tuple)


def test_version_may_be_a_date_or_a_string():
    assert load_envelope_text(MINIMAL.replace('version: "1"', "version: 2026-04-01"), "t.yaml").version == "2026-04-01"
    assert load_envelope_text(MINIMAL.replace('version: "1"', "version: v3-beta"), "t.yaml").version == "v3-beta"
    assert load_envelope_text(MINIMAL.replace('version: "1"', 'version: "2026-04-01"'), "t.yaml").version == "2026-04-01"


def test_digest_is_the_canonical_digest_of_the_json_dump():
    loaded = load_envelope(EXAMPLE)
    assert loaded.digest == digest(loaded.envelope.model_dump(mode="json"))
    assert loaded.digest.startswith("sha256:") and len(loaded.digest) == 7 + 64


def test_digest_ignores_comments_whitespace_key_order_and_style():
    original = load_envelope(EXAMPLE)
    reshaped = """
# the same envelope, written differently
safety: {require_citations_for: [policy, contract, pricing], block_on_prompt_injection_score_gte: 0.70}
logging:   {store_transcripts_days: 30, redact_pii: yes}
permissions:
    approval_roles: [FinanceAdmin]      # who approves
    write_actions_require_approval: true
    allowed_tools: [erp.lookup_vendor, erp.match_po, erp.create_journal_entry]
budgets: {hard_cost_cap_usd: 1.250, max_tool_calls: 8, max_tokens_per_task: 18000}
models: {fallback: safe-medium, reasoning: frontier, router: small-fast}
workflow: invoice_reconcile
version: '2026-03-01'
"""
    assert load_envelope_text(reshaped, "reshaped.yaml").digest == original.digest


def test_spelling_out_the_defaults_does_not_change_the_digest():
    explicit = EXAMPLE.read_text() + (
        "pattern: human_in_the_loop\n"
        "parameters: {price_tolerance_pct: 2.0, amount_tolerance: 0.01, extra: {}}\n"
    )
    explicit = explicit.replace(
        "  hard_cost_cap_usd: 1.25\n", "  hard_cost_cap_usd: 1.25\n  downgrade_at_fraction: [0.6, 0.8, 0.95]\n"
    ).replace("  approval_roles:", "  min_approvals: 1\n  approval_expiry_hours: 24\n  approval_roles:")
    assert load_envelope_text(explicit, "explicit.yaml").digest == load_envelope(EXAMPLE).digest


@pytest.mark.parametrize(
    "old, new",
    [
        ("max_tool_calls: 8", "max_tool_calls: 9"),
        ("hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 1.26"),
        ('    - "erp.match_po"\n', ""),
        ("write_actions_require_approval: true", "write_actions_require_approval: false"),
        ("gte: 0.7", "gte: 0.71"),
        ('version: 2026-03-01', 'version: 2026-03-02'),
        ('router: "small-fast"', 'router: "small-faster"'),
    ],
)
def test_any_change_of_content_changes_the_digest(old, new):
    text = EXAMPLE.read_text()
    assert old in text
    assert load_envelope_text(text.replace(old, new), "x.yaml").digest != load_envelope(EXAMPLE).digest


def test_text_and_bytes_and_bom_load_the_same():
    text = EXAMPLE.read_text()
    a = load_envelope_text(text, "a.yaml")
    b = load_envelope_text(text.encode(), "a.yaml")
    c = load_envelope_text(b"\xef\xbb\xbf" + text.encode(), "a.yaml")
    assert a.digest == b.digest == c.digest


def test_find_envelope_looks_in_the_policy_dir():
    loaded = find_envelope("invoice_reconcile")
    assert loaded.workflow == "invoice_reconcile"
    assert Path(loaded.source).name == "invoice_reconcile.yaml"
    assert loaded.digest == load_envelope(EXAMPLE).digest


def test_find_envelope_refuses_a_workflow_name_that_does_not_match_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(tmp_path))
    (tmp_path / "payments.yaml").write_text(EXAMPLE.read_text())
    with pytest.raises(PolicyError) as info:
        find_envelope("payments")
    message = str(info.value)
    assert f"{tmp_path / 'payments.yaml'}:2:1: workflow: 'invoice_reconcile' does not match the file name" in message


def test_find_envelope_missing_file_and_bad_names(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(tmp_path))
    with pytest.raises(PolicyError, match="no envelope for workflow 'invoice_reconcile'"):
        find_envelope("invoice_reconcile")
    for bad in ("../etc/passwd", "Invoice", "", "a/b", "a.yaml"):
        with pytest.raises(PolicyError, match="not a workflow name"):
            find_envelope(bad)


def test_load_envelope_missing_file_and_directory(tmp_path):
    with pytest.raises(PolicyError, match="no such file"):
        load_envelope(tmp_path / "nope.yaml")
    with pytest.raises(PolicyError, match="is a directory"):
        load_envelope(tmp_path)


def test_files_over_one_mebibyte_are_refused(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(EXAMPLE.read_text() + "#" + "x" * (1024 * 1024) + "\n")
    with pytest.raises(PolicyError, match="larger than 1048576 bytes"):
        load_envelope(big)
    with pytest.raises(PolicyError, match="larger than"):
        load_envelope_text("a: " + "é" * 600_000, "big.yaml")  # > 1 MiB in UTF-8, < 1 Mi characters


def test_non_utf8_is_refused():
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_envelope_text(b"version: \xff\xfe\n", "latin.yaml")


def test_policy_error_details_list_every_problem():
    text = EXAMPLE.read_text().replace("max_tool_calls: 8", "max_tool_calls: 0").replace("gte: 0.7", "gte: 2")
    with pytest.raises(PolicyError) as info:
        load_envelope_text(text, "x.yaml")
    errors = info.value.details["errors"]
    assert [(e["line"], e["path"]) for e in errors] == [
        (9, "budgets.max_tool_calls"),
        (23, "safety.block_on_prompt_injection_score_gte"),
    ]
    assert info.value.hint and "does not run" in info.value.hint
    assert len(info.value.message.splitlines()) == 2


def test_model_can_be_used_directly_but_validates_the_same():
    data = load_envelope(EXAMPLE).envelope.model_dump(mode="json")
    assert Envelope.model_validate(data).model_dump(mode="json") == data
