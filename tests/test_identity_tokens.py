"""Scoped tokens: issuing rules and every refusal code, including algorithm attacks."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import shutil
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governed_agents.errors import TokenError
from governed_agents.identity import keys
from governed_agents.identity.principals import Directory, Principal
from governed_agents.identity.tokens import (
    MAX_TTL,
    REFUSAL_CODES,
    inspect_token,
    issue_token,
    token_from_env_or_arg,
    verify_token,
)

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
WF = "invoice_reconcile"


def _token(principal="bob", actions=("approval.approve",), workflows=(WF,), **kw):
    kw.setdefault("now", NOW)
    return issue_token(principal, actions=list(actions), workflows=list(workflows), **kw)


def _code(exc_info) -> str:
    return exc_info.value.code


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _assemble(header: dict, claims: dict, sign) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


# --- issuing -----------------------------------------------------------------


def test_issue_and_verify_roundtrip():
    token = _token(ttl=dt.timedelta(minutes=30))
    claims = verify_token(token, action="approval.approve", workflow=WF, now=NOW + dt.timedelta(minutes=29))
    assert claims.principal.id == "bob" and claims.principal.tenant == "acme"
    assert claims.actions == ("approval.approve",)
    assert claims.workflows == (WF,)
    assert claims.environment == "test"
    assert claims.expires_at == NOW + dt.timedelta(minutes=30)
    assert claims.issued_at == NOW
    raw = _claims(token)
    assert raw["iss"] == "governed-agents" and raw["aud"] == "governed-agents:test"
    assert raw["sub"] == "bob" and raw["tenant"] == "acme" and raw["env"] == "test"
    assert raw["act"] == ["approval.approve"] and raw["wf"] == [WF]
    assert raw["nbf"] == raw["iat"] and raw["exp"] - raw["iat"] == 1800
    assert raw["jti"] == claims.token_id and len(raw["jti"]) == 36
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"] == keys.key_id(keys.public_key())


def test_default_ttl_is_15_minutes_and_jti_unique():
    a, b = _token(), _token()
    assert _claims(a)["exp"] - _claims(a)["iat"] == 900
    assert _claims(a)["jti"] != _claims(b)["jti"]


def test_wildcard_workflow():
    token = _token(workflows=["*"])
    assert verify_token(token, action="approval.approve", workflow="anything", now=NOW).workflows == ("*",)


def test_workflow_none_means_not_workflow_scoped():
    token = _token(principal="dana", actions=["audit.read"], workflows=[])
    assert verify_token(token, action="audit.read", workflow=None, now=NOW).principal.id == "dana"


@pytest.mark.parametrize(
    "kwargs, code",
    [
        (dict(principal="mallory"), "principal_unknown"),
        (dict(actions=["approval.approve", "ledger.drop"]), "action_unknown"),
        (dict(principal="alice", actions=["approval.approve"]), "principal_lacks_role"),
        (dict(principal="agent.invoice", actions=["tool.call", "approval.approve"]), "principal_lacks_role"),
        (dict(principal="dana", actions=["killswitch.set"]), "principal_lacks_role"),
        (dict(actions=[]), "scope_invalid"),
        (dict(ttl=MAX_TTL + dt.timedelta(seconds=1)), "ttl_invalid"),
        (dict(ttl=dt.timedelta(0)), "ttl_invalid"),
    ],
)
def test_issue_refusals(kwargs, code):
    with pytest.raises(TokenError) as info:
        _token(**kwargs)
    assert _code(info) == code
    assert info.value.details["code"] == code


def test_max_ttl_allowed():
    token = _token(ttl=MAX_TTL)
    assert _claims(token)["exp"] - _claims(token)["iat"] == 12 * 3600


def test_lacks_role_message_says_what_is_needed():
    with pytest.raises(TokenError, match="alice .*Requester.* may not perform approval.approve.*FinanceAdmin"):
        _token(principal="alice")


# --- verification refusals --------------------------------------------------


def test_token_missing():
    for value in (None, "", "   "):
        with pytest.raises(TokenError) as info:
            verify_token(value, action="approval.approve", workflow=WF)
        assert _code(info) == "token_missing"
        assert "governed-agents token issue" in info.value.hint


@pytest.mark.parametrize("value", ["abc", "a.b", "a.b.c", "!!!.???.***", "eyJhbGciOiJFZERTQSJ9.e30"])
def test_token_malformed(value):
    with pytest.raises(TokenError) as info:
        verify_token(value, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_malformed"


def test_token_malformed_when_signed_claims_missing_or_mistyped():
    private = keys.signing_key()
    header = {"kid": keys.key_id(private)}
    good = _claims(_token())
    missing = {k: v for k, v in good.items() if k != "wf"}
    token = jwt.encode(missing, private, algorithm="EdDSA", headers=header)
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_malformed" and "'wf'" in str(info.value)
    token = jwt.encode({**good, "act": "approval.approve"}, private, algorithm="EdDSA", headers=header)
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_malformed"


def test_forged_other_key():
    other = Ed25519PrivateKey.generate()
    claims = _claims(_token())
    for headers in ({"kid": keys.key_id(other)}, {"kid": keys.key_id(keys.public_key())}, {}):
        token = jwt.encode(claims, other, algorithm="EdDSA", headers=headers)
        with pytest.raises(TokenError) as info:
            verify_token(token, action="approval.approve", workflow=WF, now=NOW)
        assert _code(info) == "token_forged", headers


def test_forged_tampered_payload():
    token = _token(principal="dana", actions=["approval.read"])
    header, _, signature = token.split(".")
    claims = _claims(token)
    claims["act"] = ["approval.read", "approval.approve"]
    claims["sub"] = "bob"
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(TokenError) as info:
        verify_token(forged, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_forged"


def test_forged_bad_signature_bytes():
    token = _token()
    head, body, sig = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[0] ^= 1
    with pytest.raises(TokenError) as info:
        verify_token(f"{head}.{body}.{_b64(bytes(raw))}", action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_forged"
    with pytest.raises(TokenError) as info:
        verify_token(f"{head}.{body}.", action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_forged"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_forged_alg_none(alg):
    claims = _claims(_token())
    token = _assemble({"alg": alg, "typ": "JWT"}, claims, lambda _: b"")
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_forged"
    assert "only EdDSA" in str(info.value)


@pytest.mark.parametrize("secret_form", ["pem", "raw", "pem_stripped"])
def test_forged_alg_switched_to_hs256_with_public_key_as_secret(secret_form):
    public = keys.public_key()
    secret = {
        "pem": keys.public_key_pem(public).encode(),
        "raw": public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        "pem_stripped": keys.public_key_pem(public).strip().encode(),
    }[secret_form]
    claims = _claims(_token())
    token = _assemble(
        {"alg": "HS256", "typ": "JWT", "kid": keys.key_id(public)},
        claims,
        lambda data: hmac.new(secret, data, hashlib.sha256).digest(),
    )
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_forged"
    assert "'HS256'" in str(info.value)


def test_forged_other_asymmetric_alg():
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_claims(_token()), key, algorithm="ES256")
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_forged"


def test_token_expired_and_leeway():
    token = _token(ttl=dt.timedelta(minutes=15))
    at_expiry = NOW + dt.timedelta(minutes=15)
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=at_expiry)
    assert _code(info) == "token_expired"
    assert "expired at 2026-03-02T09:15:00Z" in str(info.value)
    verify_token(token, action="approval.approve", workflow=WF, now=at_expiry, leeway=5)
    verify_token(token, action="approval.approve", workflow=WF, now=at_expiry - dt.timedelta(seconds=1))


def test_token_not_yet_valid():
    token = _token()
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW - dt.timedelta(seconds=1))
    assert _code(info) == "token_not_yet_valid"
    verify_token(token, action="approval.approve", workflow=WF, now=NOW - dt.timedelta(seconds=1), leeway=2)


def test_token_wrong_environment(monkeypatch):
    token = _token(environment="prod")
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_wrong_environment"
    assert "'prod'" in str(info.value) and "'test'" in str(info.value)
    verify_token(token, action="approval.approve", workflow=WF, now=NOW, environment="prod")
    monkeypatch.setenv("GOVERNED_AGENTS_ENV", "prod")
    verify_token(token, action="approval.approve", workflow=WF, now=NOW)


def test_token_wrong_environment_when_aud_and_env_disagree():
    private = keys.signing_key()
    claims = {**_claims(_token()), "aud": "governed-agents:prod"}
    token = jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": keys.key_id(private)})
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_wrong_environment"


def test_token_wrong_workflow():
    token = _token(workflows=["vendor_onboarding"])
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_wrong_workflow"
    assert "--workflow invoice_reconcile" in info.value.hint


def test_token_wrong_action():
    token = _token(actions=["approval.read"])
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_wrong_action"


def _policy_copy(tmp_path, monkeypatch) -> Path:
    repo_policies = Path(__file__).resolve().parent.parent / "policies"
    policy_dir = tmp_path / "policies"
    shutil.copytree(repo_policies, policy_dir)
    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(policy_dir))
    return policy_dir / "principals.yaml"


def test_role_removed_after_issue_takes_effect_at_once(tmp_path, monkeypatch):
    principals = _policy_copy(tmp_path, monkeypatch)
    token = _token()
    verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    text = principals.read_text()
    assert "name: Bob Controller\n    roles: [FinanceAdmin]" in text
    principals.write_text(text.replace("name: Bob Controller\n    roles: [FinanceAdmin]", "name: Bob Controller\n    roles: [Auditor]"))
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "principal_lacks_role"
    assert "Auditor" in str(info.value) and "FinanceAdmin" in str(info.value)


def test_principal_removed_after_issue(tmp_path, monkeypatch):
    principals = _policy_copy(tmp_path, monkeypatch)
    token = _token()
    text = principals.read_text()
    block = "  - id: bob\n    name: Bob Controller\n    roles: [FinanceAdmin]\n    tenant: acme\n"
    assert block in text
    principals.write_text(text.replace(block, ""))
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "principal_unknown"


def test_explicit_directory_is_used():
    directory = Directory([Principal(id="bob", name="Bob", roles=frozenset({"Auditor"}))])
    token = _token(principal="bob", actions=["audit.read"], directory=directory)
    claims = verify_token(token, action="audit.read", workflow=None, now=NOW, directory=directory)
    assert claims.principal.name == "Bob"
    with pytest.raises(TokenError) as info:
        verify_token(token, action="audit.read", workflow=None, now=NOW, directory=Directory([]))
    assert _code(info) == "principal_unknown"


def test_refusal_codes_are_stable_and_documented():
    # Keep this list and tokens.REFUSAL_CODES (and docs/identity.md) in step.
    assert set(REFUSAL_CODES) == {
        "token_missing", "token_malformed", "token_forged", "token_expired", "token_not_yet_valid",
        "token_wrong_environment", "token_wrong_workflow", "token_wrong_action",
        "principal_unknown", "principal_lacks_role",
    }  # fmt: skip
    docs = Path(__file__).resolve().parent.parent / "docs" / "identity.md"
    text = docs.read_text()
    for code in REFUSAL_CODES:
        assert f"`{code}`" in text, code


def test_inspect_does_not_check_scope():
    token = _token(actions=["approval.read"])
    assert inspect_token(token, now=NOW).actions == ("approval.read",)


def test_token_from_env_or_arg(monkeypatch):
    assert token_from_env_or_arg(" abc ") == "abc"
    monkeypatch.setenv("GOVERNED_AGENTS_TOKEN", "from-env")
    assert token_from_env_or_arg(None) == "from-env"
    assert token_from_env_or_arg("arg") == "arg"
    monkeypatch.delenv("GOVERNED_AGENTS_TOKEN")
    with pytest.raises(TokenError) as info:
        token_from_env_or_arg(None, action="approval.approve")
    assert _code(info) == "token_missing"
    assert "governed-agents token issue --principal <id> --action approval.approve" in info.value.hint


def test_token_from_one_installation_is_forged_in_another(tmp_path, monkeypatch):
    token = _token()
    monkeypatch.setenv("GOVERNED_AGENTS_HOME", str(tmp_path / "other-home"))
    with pytest.raises(TokenError) as info:
        verify_token(token, action="approval.approve", workflow=WF, now=NOW)
    assert _code(info) == "token_forged"
