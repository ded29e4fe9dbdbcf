"""``governed-agents policy …``: exit codes 0 / 1 / 2, text and --json output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from governed_agents.cli.main import main
from governed_agents.envelope import envelope_json_schema_text, load_envelope

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "policies" / "invoice_reconcile.yaml"
BROKEN = EXAMPLE.read_text().replace("max_tool_calls: 8", "max_tool_calls: 0").replace(
    '  approval_roles:\n    - "FinanceAdmin"\n', "  approval_roles: []\n"
)


@pytest.fixture
def broken(tmp_path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    return path


@pytest.fixture
def looser(tmp_path) -> Path:
    path = tmp_path / "looser.yaml"
    path.write_text(
        EXAMPLE.read_text()
        .replace("hard_cost_cap_usd: 1.25", "hard_cost_cap_usd: 2.00")
        .replace('    - "erp.create_journal_entry"\n', '    - "erp.create_journal_entry"\n    - "erp.post_payment"\n')
    )
    return path


def test_validate_ok(capsys):
    assert main(["policy", "validate", str(EXAMPLE)]) == 0
    digest = load_envelope(EXAMPLE).digest
    assert capsys.readouterr().out == (
        f"ok: {EXAMPLE} (workflow invoice_reconcile, version 2026-03-01, digest {digest[:15]}…)\n"
    )


def test_validate_broken_lists_every_error_and_exits_1(capsys, broken):
    assert main(["policy", "validate", str(EXAMPLE), str(broken)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"ok: {EXAMPLE} ")
    assert f"invalid: {broken} (2 problems)" in captured.err
    assert f"{broken}:9:3: budgets.max_tool_calls: Input should be greater than 0 (got 0)" in captured.err
    assert (
        f"{broken}:17:3: permissions.approval_roles: must not be empty when write_actions_require_approval is true"
        in captured.err
    )
    assert "Traceback" not in captured.err


def test_validate_json(capsys, broken):
    assert main(["policy", "validate", "--json", str(EXAMPLE), str(broken), "missing.yaml"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    ok, bad, missing = report["results"]
    assert ok == {"file": str(EXAMPLE), "ok": True, "workflow": "invoice_reconcile", "version": "2026-03-01",
                  "digest": load_envelope(EXAMPLE).digest}
    assert bad["ok"] is False
    assert [(e["line"], e["column"], e["path"]) for e in bad["errors"]] == [
        (9, 3, "budgets.max_tool_calls"),
        (17, 3, "permissions.approval_roles"),
    ]
    assert missing["ok"] is False and missing["errors"][0]["message"] == "no such file"


def test_validate_needs_a_file_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["policy", "validate"])
    assert info.value.code == 2


def test_policy_without_subcommand_prints_the_group_help(capsys):
    assert main(["policy"]) == 2
    assert "validate" in capsys.readouterr().err


def test_show_by_workflow_and_by_file(capsys):
    assert main(["policy", "show", "invoice_reconcile"]) == 0
    text = capsys.readouterr().out
    digest = load_envelope(EXAMPLE).digest
    assert f"# digest:   {digest}" in text
    assert "# version:  2026-03-01" in text
    assert "min_approvals: 1" in text and "downgrade_at_fraction:" in text  # defaults filled in
    assert main(["policy", "show", str(EXAMPLE)]) == 0
    assert f"# digest:   {digest}" in capsys.readouterr().out


def test_show_json(capsys):
    assert main(["policy", "show", "invoice_reconcile", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["ok"] is True and shown["digest"] == load_envelope(EXAMPLE).digest
    assert shown["envelope"]["permissions"]["approval_expiry_hours"] == 24
    assert shown["envelope"]["budgets"]["hard_cost_cap_usd"] == "1.25"


def test_show_unknown_workflow_and_broken_file_exit_1(capsys, broken):
    assert main(["policy", "show", "payroll"]) == 1
    assert "no envelope for workflow 'payroll'" in capsys.readouterr().err
    assert main(["policy", "show", str(broken), "--json"]) == 1
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert payload["ok"] is False and payload["error"] == "PolicyError"
    assert len(payload["details"]["errors"]) == 2
    assert f"{broken}:9:3: budgets.max_tool_calls" in captured.err


def test_diff_in_words(capsys, looser):
    assert main(["policy", "diff", "invoice_reconcile", str(looser)]) == 0
    text = capsys.readouterr().out
    assert "LOOSENS   hard_cost_cap_usd raised 1.25 → 2.00" in text
    assert "LOOSENS   tool added: erp.post_payment" in text
    assert "2 changes: 2 loosening, 0 tightening" in text


def test_diff_reverse_tightens_and_json(capsys, looser):
    assert main(["policy", "diff", str(looser), str(EXAMPLE), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(c["message"], c["direction"]) for c in report["changes"]] == [
        ("hard_cost_cap_usd lowered 2.00 → 1.25", "tightening"),
        ("tool removed: erp.post_payment", "tightening"),
    ]
    assert report["loosening"] == 0 and report["tightening"] == 2


def test_diff_fail_on_loosening(capsys, looser):
    assert main(["policy", "diff", str(EXAMPLE), str(looser), "--fail-on-loosening"]) == 1
    assert "2 change(s) loosen the envelope" in capsys.readouterr().err
    assert main(["policy", "diff", str(looser), str(EXAMPLE), "--fail-on-loosening"]) == 0
    assert main(["policy", "diff", str(EXAMPLE), str(EXAMPLE)]) == 0
    assert "no changes" in capsys.readouterr().out


def test_diff_with_a_broken_side_exits_1(capsys, broken):
    assert main(["policy", "diff", str(EXAMPLE), str(broken)]) == 1
    assert "budgets.max_tool_calls" in capsys.readouterr().err


def test_schema_to_stdout_and_file(capsys, tmp_path):
    assert main(["policy", "schema"]) == 0
    assert capsys.readouterr().out == envelope_json_schema_text()
    target = tmp_path / "schema.json"
    assert main(["policy", "schema", "--output", str(target)]) == 0
    assert target.read_text() == envelope_json_schema_text()
    assert main(["policy", "schema", "--output", str(tmp_path / "no" / "such" / "dir.json")]) == 1


def test_unknown_option_is_usage_error():
    with pytest.raises(SystemExit) as info:
        main(["policy", "show", "invoice_reconcile", "--bogus"])
    assert info.value.code == 2


def test_validate_as_a_real_subprocess(broken):
    exe = Path(sys.executable).parent / "governed-agents"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "governed_agents.cli.main"]
    result = subprocess.run(command + ["policy", "validate", str(broken)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert f"{broken}:9:3: budgets.max_tool_calls: Input should be greater than 0" in result.stderr
    assert "Traceback" not in result.stderr
    ok = subprocess.run(command + ["policy", "validate", str(EXAMPLE)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith(f"ok: {EXAMPLE} (workflow invoice_reconcile")


def test_cli_module_imports_stay_light():
    code = (
        "import sys, governed_agents.cli.policy as p; "
        "heavy = [m for m in ('pydantic', 'yaml', 'governed_agents.envelope') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == ""
