"""``diff_envelopes``: what changed, in words, with its risk direction; and the committed JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from governed_agents.envelope import diff_envelopes, envelope_json_schema_text, load_envelope, load_envelope_text

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "policies" / "invoice_reconcile.yaml"
BASE = EXAMPLE.read_text()


def changed(*replacements: tuple[str, str], append: str = "") -> list[tuple[str, str | None]]:
    text = BASE
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    new_env = load_envelope_text(text + append, "new.yaml")
    return [(c.message, c.direction) for c in diff_envelopes(load_envelope(EXAMPLE), new_env)]


def test_identical_envelopes_have_no_changes():
    assert diff_envelopes(load_envelope(EXAMPLE), load_envelope(EXAMPLE)) == []
    reformatted = BASE.replace('"', "").replace("# ", "")
    assert diff_envelopes(load_envelope(EXAMPLE), load_envelope_text(reformatted, "x.yaml")) == []


@pytest.mark.parametrize(
    "replacements, append, expected",
    [
        ([('    - "erp.create_journal_entry"\n', '    - "erp.create_journal_entry"\n    - "erp.post_payment"\n')],
         "", [("tool added: erp.post_payment", "loosening")]),
        ([('    - "erp.match_po"\n', "")], "", [("tool removed: erp.match_po", "tightening")]),
        ([("hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 2.00")], "",
         [("hard_cost_cap_usd raised 1.25 → 2.00", "loosening")]),
        ([("hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 0.5")], "",
         [("hard_cost_cap_usd lowered 1.25 → 0.50", "tightening")]),
        ([("max_tool_calls: 8", "max_tool_calls: 20")], "", [("max_tool_calls raised 8 → 20", "loosening")]),
        ([("max_tokens_per_task: 18000", "max_tokens_per_task: 9000")], "",
         [("max_tokens_per_task lowered 18000 → 9000", "tightening")]),
        ([("write_actions_require_approval: true", "write_actions_require_approval: false")], "",
         [("write actions no longer require approval", "loosening")]),
        ([('    - "FinanceAdmin"\n', '    - "FinanceAdmin"\n    - "Controller"\n')], "",
         [("approval role added: Controller", "loosening")]),
        ([('    - "FinanceAdmin"\n', '    - "Controller"\n')], "",
         [("approval role added: Controller", "loosening"), ("approval role removed: FinanceAdmin", "tightening")]),
        ([("gte: 0.7", "gte: 0.9")], "", [("prompt-injection threshold loosened 0.7 → 0.9", "loosening")]),
        ([("gte: 0.7", "gte: 0.5")], "", [("prompt-injection threshold tightened 0.7 → 0.5", "tightening")]),
        ([('["policy", "contract", "pricing"]', '["policy", "pricing", "tax"]')], "",
         [("citations now required for: tax", "tightening"), ("citations no longer required for: contract", "loosening")]),
        ([("redact_pii: true", "redact_pii: false")], "", [("PII redaction turned off", "loosening")]),
        ([("store_transcripts_days: 30", "store_transcripts_days: 90")], "",
         [("transcript retention changed 30 → 90 days", None)]),
        ([('router: "small-fast"', 'router: "tiny"')], "", [("model tier router changed small-fast → tiny", None)]),
        ([("version: 2026-03-01", "version: 2026-04-01")], "", [("version 2026-03-01 → 2026-04-01", None)]),
        ([], "pattern: autonomous_bounded\n",
         [("pattern changed human_in_the_loop → autonomous_bounded (more autonomy)", "loosening")]),
        ([], "pattern: read_only\n",
         [("pattern changed human_in_the_loop → read_only (less autonomy)", "tightening")]),
        ([("hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 1.25\n  workflow_daily_usd: 50")], "",
         [("workflow_daily_usd cap set: 50.00", "tightening")]),
        ([("  approval_roles:", "  min_approvals: 2\n  approval_roles:")], "",
         [("min_approvals raised 1 → 2", "tightening")]),
        ([("  approval_roles:", "  approval_expiry_hours: 72\n  approval_roles:")], "",
         [("approval_expiry_hours raised 24.0 → 72.0", "loosening")]),
        ([("  approval_roles:", "  bounds: {max_amount_usd: 500}\n  approval_roles:")], "",
         [("bound added: max_amount_usd = 500", "tightening")]),
        ([], "parameters: {price_tolerance_pct: 5}\n", [("price_tolerance_pct raised 2.0 → 5.0", "loosening")]),
        ([], "parameters: {extra: {region: eu}}\n", [("parameter added: region = eu", None)]),
        ([], "description: Reconciles invoices\n", [("description changed", None)]),
        ([("erp.match_po", "erp.match_po")], "", []),
    ],
)
def test_changes_in_words_with_direction(replacements, append, expected):
    assert changed(*replacements, append=append) == expected


FLIP = {"loosening": "tightening", "tightening": "loosening", None: None}


@pytest.mark.parametrize(
    "replacements, append",
    [
        ([("write_actions_require_approval: true", "write_actions_require_approval: false")], ""),
        ([("redact_pii: true", "redact_pii: false")], ""),
        ([("hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 1.25\n  workflow_daily_usd: 50")], ""),
        ([("  approval_roles:", "  bounds: {max_amount_usd: 500}\n  approval_roles:")], ""),
        ([('workflow: "invoice_reconcile"', "workflow: other")], ""),
        ([], "pattern: continuous\n"),
        ([("max_tool_calls: 8", "max_tool_calls: 20")], ""),
    ],
)
def test_reversing_a_change_reverses_its_direction(replacements, append):
    text = BASE
    for old, new in replacements:
        text = text.replace(old, new)
    a, b = load_envelope(EXAMPLE), load_envelope_text(text + append, "b.yaml")
    forward, backward = diff_envelopes(a, b), diff_envelopes(b, a)
    assert forward and len(forward) == len(backward)
    assert [FLIP[c.direction] for c in forward] == [c.direction for c in backward]


def test_changed_caps_and_bounds_and_renames_in_words():
    a = load_envelope_text(
        BASE.replace("hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 1.25\n  tenant_monthly_usd: 100")
        .replace("  approval_roles:", "  bounds: {max_amount_usd: 500}\n  approval_roles:"), "a.yaml")
    b = load_envelope_text(
        BASE.replace("hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 1.25\n  tenant_monthly_usd: 80.5")
        .replace("  approval_roles:", "  bounds: {max_amount_usd: 750}\n  approval_roles:")
        .replace('workflow: "invoice_reconcile"', "workflow: invoices"), "b.yaml")
    assert [(c.message, c.direction) for c in diff_envelopes(a, b)] == [
        ("workflow renamed invoice_reconcile → invoices", None),
        ("tenant_monthly_usd lowered 100.00 → 80.50", "tightening"),
        ("bound max_amount_usd raised 500 → 750", "loosening"),
    ]


def test_the_briefs_review_example():
    messages = changed(
        ('    - "erp.create_journal_entry"\n', '    - "erp.create_journal_entry"\n    - "erp.post_payment"\n'),
        ("hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 2.00"),
        ("write_actions_require_approval: true", "write_actions_require_approval: false"),
        ('  approval_roles:\n    - "FinanceAdmin"\n', "  approval_roles: []\n"),
        ("gte: 0.7", "gte: 0.9"),
    )
    assert messages == [
        ("hard_cost_cap_usd raised 1.25 → 2.00", "loosening"),
        ("tool added: erp.post_payment", "loosening"),
        ("write actions no longer require approval", "loosening"),
        ("approval role removed: FinanceAdmin", "tightening"),
        ("prompt-injection threshold loosened 0.7 → 0.9", "loosening"),
    ]


def test_removing_a_cap_and_a_bound_loosens():
    with_caps = load_envelope_text(
        BASE.replace("hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 1.25\n  user_daily_usd: 10")
        .replace("  approval_roles:", "  bounds: {max_lines: 5}\n  approval_roles:"),
        "a.yaml",
    )
    changes = diff_envelopes(with_caps, load_envelope(EXAMPLE))
    assert [(c.message, c.direction) for c in changes] == [
        ("user_daily_usd cap removed (was 10.00)", "loosening"),
        ("bound removed: max_lines (was 5)", "loosening"),
    ]
    assert changes[0].to_json() == {
        "path": "budgets.user_daily_usd", "message": "user_daily_usd cap removed (was 10.00)",
        "direction": "loosening", "old": "10", "new": None,
    }
    assert str(changes[0]) == "[loosening] user_daily_usd cap removed (was 10.00)"


def test_every_difference_in_content_is_reported():
    """Whatever changes, the digest changes iff the diff is non-empty."""
    variants = [
        BASE + "parameters: {extra: {nested: {a: 1}}}\n",
        BASE + "parameters: {extra: {nested: {a: 2}}}\n",
        BASE + "parameters: {extra: {nested: 5}}\n",
        BASE + "parameters: {amount_tolerance: 0.02}\n",
        BASE.replace("hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 1.25\n  downgrade_at_fraction: [0.5]"),
        BASE.replace('    - "erp.match_po"\n    - "erp.create_journal_entry"\n',
                     '    - "erp.create_journal_entry"\n    - "erp.match_po"\n'),
    ]
    loaded = [load_envelope(EXAMPLE)] + [load_envelope_text(v, f"v{i}.yaml") for i, v in enumerate(variants)]
    for a in loaded:
        for b in loaded:
            assert bool(diff_envelopes(a, b)) == (a.digest != b.digest), (a.source, b.source)


def test_committed_json_schema_is_up_to_date():
    committed = (REPO / "policies" / "envelope.schema.json").read_text(encoding="utf-8")
    assert committed == envelope_json_schema_text(), (
        "policies/envelope.schema.json is stale: run `governed-agents policy schema --output policies/envelope.schema.json`"
    )
    schema = json.loads(committed)
    assert schema["title"] == "Envelope" and schema["additionalProperties"] is False
    assert set(schema["required"]) == {"version", "workflow", "models", "budgets", "permissions"}
