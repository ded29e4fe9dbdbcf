"""Broken envelopes: every one is a PolicyError naming file, line, column and field."""

from __future__ import annotations

import pytest

from governed_agents.envelope import load_envelope_text
from governed_agents.errors import PolicyError

# The brief's example, pinned here so that the line numbers below stay put.
BASE = """\
version: 2026-03-01
workflow: "invoice_reconcile"
models:
  router: "small-fast"
  reasoning: "frontier"
  fallback: "safe-medium"
budgets:
  max_tokens_per_task: 18000
  max_tool_calls: 8
  hard_cost_cap_usd: 1.25
permissions:
  allowed_tools:
    - "erp.lookup_vendor"
    - "erp.match_po"
    - "erp.create_journal_entry"
  write_actions_require_approval: true
  approval_roles:
    - "FinanceAdmin"
logging:
  redact_pii: true
  store_transcripts_days: 30
safety:
  block_on_prompt_injection_score_gte: 0.7
  require_citations_for: ["policy", "contract", "pricing"]
"""

SRC = "policies/broken.yaml"

# (id, old text, new text, line, column, field path ("" for YAML-level problems), message fragment)
CASES = [
    ("unknown_top_key", BASE, BASE + "colour: blue\n", 25, 1, "colour", "unknown key"),
    ("unknown_key_suggests", "  redact_pii: true\n", "  redact_pii: true\n  redact_pi: true\n", 21, 3,
     "logging.redact_pi", "did you mean 'redact_pii'?"),
    ("wrong_type_int", "max_tool_calls: 8", "max_tool_calls: eight", 9, 3, "budgets.max_tool_calls",
     "valid integer"),
    ("zero_tokens", "max_tokens_per_task: 18000", "max_tokens_per_task: 0", 8, 3,
     "budgets.max_tokens_per_task", "greater than 0"),
    ("negative_tool_calls", "max_tool_calls: 8", "max_tool_calls: -3", 9, 3, "budgets.max_tool_calls",
     "greater than 0"),
    ("zero_cost_cap", "hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 0", 10, 3, "budgets.hard_cost_cap_usd",
     "greater than 0"),
    ("negative_daily_cap", "hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 1.25\n  workflow_daily_usd: -5", 11, 3,
     "budgets.workflow_daily_usd", "greater than 0"),
    ("bool_as_number", "max_tool_calls: 8", "max_tool_calls: true", 9, 3, "budgets.max_tool_calls",
     "boolean (true/false) is not a number"),
    ("bool_as_cap", "hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: yes", 10, 3, "budgets.hard_cost_cap_usd",
     "is not a number"),
    ("infinite_cap", "hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: .inf", 10, 3, "budgets.hard_cost_cap_usd",
     "finite number"),
    ("sub_cent_cap", "hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 0.1234567", 10, 3,
     "budgets.hard_cost_cap_usd", "decimal places"),
    ("roles_empty", '  approval_roles:\n    - "FinanceAdmin"\n', "  approval_roles: []\n", 17, 3,
     "permissions.approval_roles", "must not be empty when write_actions_require_approval is true"),
    ("roles_missing", '  approval_roles:\n    - "FinanceAdmin"\n', "", 11, 1,
     "permissions.approval_roles", "must not be empty when write_actions_require_approval is true"),
    ("blank_role", '    - "FinanceAdmin"', '    - "  "', 18, 7, "permissions.approval_roles[0]", "blank"),
    ("duplicate_role", '    - "FinanceAdmin"', '    - "FinanceAdmin"\n    - "FinanceAdmin"', 19, 7,
     "permissions.approval_roles[1]", "duplicate approval role: FinanceAdmin"),
    ("min_approvals_zero", "  write_actions_require_approval: true", "  write_actions_require_approval: true\n"
     "  min_approvals: 0", 17, 3, "permissions.min_approvals", "greater than 0"),
    ("expiry_zero", "  write_actions_require_approval: true", "  write_actions_require_approval: true\n"
     "  approval_expiry_hours: 0", 17, 3, "permissions.approval_expiry_hours", "greater than 0"),
    ("strict_bool", "write_actions_require_approval: true", 'write_actions_require_approval: "false"', 16, 3,
     "permissions.write_actions_require_approval", "valid boolean"),
    ("threshold_above_one", "gte: 0.7", "gte: 1.5", 23, 3, "safety.block_on_prompt_injection_score_gte",
     "less than or equal to 1"),
    ("threshold_below_zero", "gte: 0.7", "gte: -0.1", 23, 3, "safety.block_on_prompt_injection_score_gte",
     "greater than or equal to 0"),
    ("downgrade_outside", "  max_tool_calls: 8\n", "  max_tool_calls: 8\n  downgrade_at_fraction: [0.5, 1.2]\n",
     10, 32, "budgets.downgrade_at_fraction[1]", "less than 1"),
    ("downgrade_not_ascending", "  max_tool_calls: 8\n",
     "  max_tool_calls: 8\n  downgrade_at_fraction: [0.8, 0.6]\n", 10, 32, "budgets.downgrade_at_fraction[1]",
     "strictly ascending"),
    ("duplicate_tool", '    - "erp.match_po"\n', '    - "erp.match_po"\n    - "erp.match_po"\n', 15, 7,
     "permissions.allowed_tools[2]", "duplicate tool: erp.match_po"),
    ("bad_tool_name", '"erp.match_po"', '"ERP.MatchPO"', 14, 7, "permissions.allowed_tools[1]",
     "not a tool name"),
    ("bad_workflow_name", 'workflow: "invoice_reconcile"', 'workflow: "Invoice-Reconcile"', 2, 1, "workflow",
     "not a workflow name"),
    ("bad_pattern", BASE, BASE + "pattern: yolo\n", 25, 1, "pattern", "'suggest_only'"),
    ("version_number", "version: 2026-03-01", "version: 3", 1, 1, "version", "date (2026-03-01) or a string"),
    ("missing_section", '  router: "small-fast"\n  reasoning: "frontier"\n  fallback: "safe-medium"\n',
     "", 3, 1, "models", "must be a mapping of keys (got null)"),
    ("empty_section", '  router: "small-fast"\n  reasoning: "frontier"\n  fallback: "safe-medium"\n',
     "  {}\n", 3, 1, "models.router", "required field is missing"),
    ("missing_top_field", 'workflow: "invoice_reconcile"\n', "", 1, 1, "workflow", "required field is missing"),
    ("missing_field", "  max_tool_calls: 8\n", "", 7, 1, "budgets.max_tool_calls", "required field is missing"),
    ("section_not_mapping", "logging:\n  redact_pii: true\n  store_transcripts_days: 30\n", "logging: [1, 2]\n",
     19, 1, "logging", "(got a list)"),
    ("blank_model", 'router: "small-fast"', 'router: ""', 4, 3, "models.router", "must not be empty"),
    ("extra_parameter_not_data", BASE, BASE + "parameters:\n  extra:\n    since: 2026-01-01\n", 27, 5,
     "parameters.extra.since", "plain data"),
    ("unknown_parameter", BASE, BASE + "parameters:\n  price_tolerance: 3\n", 26, 3,
     "parameters.price_tolerance", "did you mean 'price_tolerance_pct'?"),
    ("bound_not_number", "  write_actions_require_approval: true", "  write_actions_require_approval: true\n"
     "  bounds:\n    max_amount_usd: lots", 18, 5, "permissions.bounds.max_amount_usd", "decimal"),
    # YAML-level problems: no field path, still file:line:column.
    ("duplicate_top_key", BASE, BASE + "budgets:\n  max_tool_calls: 3\n", 25, 1, "",
     "duplicate key 'budgets' (first at line 7)"),
    ("duplicate_nested_key", "  max_tool_calls: 8\n", "  max_tool_calls: 8\n  max_tool_calls: 80\n", 10, 3, "",
     "duplicate key 'max_tool_calls' (first at line 9)"),
    # An unclosed quote runs on until the next quote; the message says where the mapping began.
    ("syntax_unclosed_quote", 'fallback: "safe-medium"', 'fallback: "safe-medium', 13, 8, "",
     "YAML syntax error: expected <block end>, but found '<scalar>' (while parsing a block mapping that starts at line 4"),
    ("syntax_mapping_in_value", 'reasoning: "frontier"', "reasoning: frontier: x", 5, 22, "",
     "mapping values are not allowed here"),
    ("syntax_tab", "  max_tool_calls: 8", "\tmax_tool_calls: 8", 9, 1, "", "YAML syntax error"),
    ("anchor", '  approval_roles:\n    - "FinanceAdmin"\n', "  approval_roles: &roles\n    - FinanceAdmin\n", 17, 19,
     "", "anchors (&roles) are not allowed"),
    ("alias", '  approval_roles:\n    - "FinanceAdmin"\n', "  approval_roles: *roles\n", 17, 19, "",
     "aliases (*roles) are not allowed"),
    ("merge_key", "logging:\n", "logging:\n  <<: {redact_pii: false}\n", 20, 3, "", "merge keys (<<)"),
    ("bad_timestamp", "version: 2026-03-01", "version: 2026-13-45", 1, 10, "", "cannot read the value '2026-13-45'"),
    ("control_character", "  redact_pii: true", "  redact_pii: \x07true", 20, 15, "", "unacceptable character #x0007"),
    ("two_documents", BASE, BASE + "---\nworkflow: other\n", 25, 1, "", "expected a single document"),
    ("not_a_mapping", BASE, "- version\n- workflow\n", 1, 1, "", "must be a mapping of envelope sections, found a sequence"),
    ("scalar_document", BASE, "just some text\n", 1, 1, "", "found a scalar"),
    ("null_document", BASE, "~\n", 1, 1, "", "found a null"),
    ("too_deep", BASE, "a: " + "[" * 40 + "]" * 40 + "\n", 1, 35, "", "nesting deeper than 32 levels"),
    ("surrogate_escape", BASE, BASE + 'description: "ok \\ud800"\n', 25, 14, "",
     "unpaired surrogate (\\ud800)"),
    ("binary_tag", '    - "FinanceAdmin"', "    - !!binary QQ==", 18, 7, "", "YAML tag !!binary is not allowed"),
    ("python_tag", BASE, BASE + "x: !!python/object/apply:os.system [id]\n", 25, 4, "",
     "YAML tag !!python/object/apply:os.system is not allowed"),
    ("custom_tag", '    - "FinanceAdmin"', "    - !role FinanceAdmin", 18, 7, "", "YAML tag !role is not allowed"),
    ("huge_integer", "max_tool_calls: 8", "max_tool_calls: " + "9" * 5000, 9, 19, "",
     "cannot read the value '99999"),
    ("complex_key", BASE, BASE + "? [a, b]\n: c\n", 25, 3, "", "keys must be plain scalars"),
]


@pytest.mark.parametrize(
    "old, new, line, column, path, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_broken_envelope_names_file_line_column_and_field(old, new, line, column, path, fragment):
    assert old in BASE
    text = BASE.replace(old, new, 1)
    with pytest.raises(PolicyError) as info:
        load_envelope_text(text, SRC)
    lines = info.value.message.splitlines()
    prefix = f"{SRC}:{line}:{column}: " + (f"{path}: " if path else "")
    matching = [candidate for candidate in lines if candidate.startswith(prefix)]
    assert matching, f"no line starts with {prefix!r} in:\n{info.value.message}"
    assert any(fragment in candidate for candidate in matching), info.value.message
    # Structured details carry the same facts for --json.
    assert any(
        e["file"] == SRC and e["line"] == line and e["column"] == column and e["path"] == path
        for e in info.value.details["errors"]
    )


def test_empty_and_comment_only_files():
    for text in ("", "\n\n", "# just a comment\n"):
        with pytest.raises(PolicyError, match=r"^policies/broken.yaml: the file is empty"):
            load_envelope_text(text, SRC)


def test_all_errors_are_reported_one_per_line_in_file_order():
    text = (
        BASE.replace("max_tool_calls: 8", "max_tool_calls: 0")
        .replace('"erp.match_po"', '"Nope"')
        .replace("gte: 0.7", "gte: 7")
        + "colour: blue\n"
    )
    with pytest.raises(PolicyError) as info:
        load_envelope_text(text, SRC)
    lines = info.value.message.splitlines()
    assert [line.split(": ", 2)[:2] for line in lines] == [
        [f"{SRC}:9:3", "budgets.max_tool_calls"],
        [f"{SRC}:14:7", "permissions.allowed_tools[1]"],
        [f"{SRC}:23:3", "safety.block_on_prompt_injection_score_gte"],
        [f"{SRC}:25:1", "colour"],
    ]


def test_all_duplicate_keys_are_reported():
    text = BASE + "budgets: {}\nsafety: {}\n"
    with pytest.raises(PolicyError) as info:
        load_envelope_text(text, SRC)
    assert info.value.message.splitlines() == [
        f"{SRC}:25:1: duplicate key 'budgets' (first at line 7)",
        f"{SRC}:26:1: duplicate key 'safety' (first at line 22)",
    ]


def test_duplicate_keys_are_caught_however_they_are_quoted():
    with pytest.raises(PolicyError, match="duplicate key"):
        load_envelope_text(BASE + '"workflow": other\n', SRC)


def test_unknown_key_lists_what_is_allowed():
    with pytest.raises(PolicyError) as info:
        load_envelope_text(BASE.replace("  redact_pii: true\n", "  redact: true\n"), SRC)
    assert "allowed here: redact_pii, store_transcripts_days" in str(info.value)
