"""The principals directory: loading, validation messages, lookups."""

from __future__ import annotations

import textwrap

import pytest

from governed_agents.errors import PolicyError
from governed_agents.identity.principals import Directory, Principal, load_principals
from governed_agents.identity.roles import ACTIONS, ROLE_ACTIONS, actions_for_roles, roles_allowing


def _write(tmp_path, text: str):
    path = tmp_path / "principals.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_repo_principals_load_from_policy_dir():
    directory = load_principals()
    bob = directory.get("bob")
    assert bob == Principal(id="bob", name="Bob Controller", roles=frozenset({"FinanceAdmin"}), tenant="acme")
    assert directory.get("agent.invoice").roles == frozenset({"Agent"})
    assert directory.get("nobody") is None
    assert "dana" in directory and len(directory) == 6
    assert directory.source.name == "principals.yaml"


def test_role_table_is_the_documented_one():
    assert ROLE_ACTIONS["FinanceAdmin"] == {"approval.read", "approval.approve", "approval.reject", "receipt.read"}
    assert ROLE_ACTIONS["Auditor"] == {"approval.read", "receipt.read", "audit.read"}
    assert ROLE_ACTIONS["Admin"] == {"killswitch.set", "autonomy.set", "policy.promote", "policy.read", "receipt.read",
                                     "audit.read", "approval.read"}
    assert ROLE_ACTIONS["Requester"] == {"approval.read", "approval.request", "receipt.read"}
    assert ROLE_ACTIONS["Agent"] == {"approval.request", "tool.call"}
    assert "tool.call" in ACTIONS
    assert actions_for_roles(["Agent", "Unknown"]) == {"approval.request", "tool.call"}
    assert roles_allowing("receipt.read") == ["Admin", "Auditor", "FinanceAdmin", "Requester"]


def test_principal_may_uses_current_roles():
    p = Principal(id="x", name="X", roles=frozenset({"Auditor", "Requester"}))
    assert p.may("audit.read") and p.may("approval.request")
    assert not p.may("approval.approve")


def test_unknown_role_names_file_line_and_field(tmp_path):
    path = _write(
        tmp_path,
        """\
        principals:
          - id: a
            name: A
            roles: [Auditor]
          - id: b
            name: B
            roles: [FinanceAdmn]
        """,
    )
    with pytest.raises(PolicyError) as info:
        load_principals(path)
    message = str(info.value)
    assert str(path) in message
    assert "line 5" in message
    assert "principals[1].roles" in message
    assert "unknown role 'FinanceAdmn'" in message


def test_missing_field_and_unknown_key_are_reported(tmp_path):
    path = _write(
        tmp_path,
        """\
        principals:
          - id: a
            roles: [Auditor]
          - id: b
            name: B
            role: [Auditor]
        """,
    )
    with pytest.raises(PolicyError) as info:
        load_principals(path)
    message = str(info.value)
    assert "principals[0].name: Field required" in message
    assert "principals[1].role: Extra inputs are not permitted" in message


def test_duplicate_ids_refused(tmp_path):
    path = _write(
        tmp_path,
        """\
        principals:
          - {id: a, name: A, roles: [Auditor]}
          - {id: b, name: B, roles: [Auditor]}
          - {id: a, name: A2, roles: [Admin]}
        """,
    )
    with pytest.raises(PolicyError, match=r"principals\[2\]\.id: duplicate principal id 'a'.*principals\[0\], line 2"):
        load_principals(path)


def test_duplicate_ids_refused_in_code():
    p = Principal(id="a", name="A")
    with pytest.raises(PolicyError, match="duplicate principal id 'a'"):
        Directory([p, p])


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(PolicyError, match="principals file not found") as info:
        load_principals(tmp_path / "nope.yaml")
    assert "GOVERNED_AGENTS_POLICY_DIR" in str(info.value)
    path = _write(tmp_path, "principals: [\n  - id: a\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_principals(path)
    path = _write(tmp_path, "- just a list\n")
    with pytest.raises(PolicyError, match="expected a mapping"):
        load_principals(path)


def test_empty_file_is_an_empty_directory(tmp_path):
    assert len(load_principals(_write(tmp_path, ""))) == 0


def test_bad_principal_id_refused(tmp_path):
    path = _write(tmp_path, "principals:\n  - {id: 'has space', name: X}\n")
    with pytest.raises(PolicyError, match=r"principals\[0\]\.id"):
        load_principals(path)


def test_reparsed_only_when_content_changes_even_at_same_size(tmp_path):
    path = _write(tmp_path, "principals:\n  - {id: a, name: A, roles: [Auditor]}\n")
    first = load_principals(path)
    assert load_principals(path) is first  # unchanged: the parsed directory is reused
    # Same length, same mtime granularity: still noticed, because the content is compared.
    path.write_text("principals:\n  - {id: a, name: A, roles: [Agent  ]}\n")
    second = load_principals(path)
    assert second is not first
    assert second.get("a").roles == frozenset({"Agent"})
