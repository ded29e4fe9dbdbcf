"""Receipt model, signing and offline verification, including exhaustive one-byte tampering."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from governed_agents.canonical import canonical_bytes
from governed_agents.errors import ReceiptInvalid
from governed_agents.identity import keys
from governed_agents.receipts.examples import example_receipt
from governed_agents.receipts.model import Receipt
from governed_agents.receipts.signing import (
    DOMAIN,
    SignedReceipt,
    export_bytes,
    sign_receipt,
    signing_input,
    verify_receipt_bytes,
    verify_signed,
)


@pytest.fixture(scope="module")
def private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def exported(private_key) -> bytes:
    # Non-ASCII text so that multi-byte UTF-8 sequences are tampered with too.
    receipt = example_receipt(notes="Zahlung geprüft — ok ✓", extra={"score": 0.25, "list": [1, None, True]})
    return export_bytes(sign_receipt(receipt, private_key))


# --- model ---------------------------------------------------------------------------


def test_model_is_frozen_and_strict():
    receipt = example_receipt()
    with pytest.raises(ValidationError):
        receipt.kind = "run"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="surprise"):
        example_receipt(surprise=1)
    with pytest.raises(ValidationError):
        example_receipt(kind="write_maybe")
    with pytest.raises(ValidationError):
        example_receipt(cost_usd="NaN")
    for kind in ("write_executed", "write_refused", "write_rejected", "write_expired", "run"):
        assert example_receipt(kind=kind).kind == kind


def test_model_normalises_to_utc_and_decimal_strings():
    berlin = dt.timezone(dt.timedelta(hours=1))
    receipt = example_receipt(
        started_at=dt.datetime(2026, 3, 2, 10, 0, tzinfo=berlin),
        finished_at=dt.datetime(2026, 3, 2, 9, 5),  # naive: taken as UTC
        cost_usd=Decimal("0.0100"),
    )
    data = receipt.to_json_dict()
    assert data["started_at"] == "2026-03-02T09:00:00Z"
    assert data["finished_at"] == "2026-03-02T09:05:00Z"
    assert data["cost_usd"] == "0.0100"
    assert data["audit_anchor"] == {"seq": 17, "hash": "a" * 64}
    assert data["tool_calls"][1]["outcome"] == "deny"


def test_json_roundtrip_is_a_fixed_point():
    receipt = example_receipt(extra={"nested": {"a": [1.5, "x", None]}}, cost_usd=Decimal("1E+2"))
    again = Receipt.model_validate_json(receipt.canonical_bytes())
    assert again == receipt
    assert again.canonical_bytes() == receipt.canonical_bytes()
    assert again.digest() == receipt.digest()


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(
    state=st.dictionaries(st.text(max_size=10), _json_values, max_size=5),
    changes=st.lists(st.text(), max_size=3),
    cost=st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=0, max_value=10**6),
)
def test_sign_verify_roundtrip_for_arbitrary_content(state, changes, cost):
    key = _module_key()
    receipt = example_receipt(state_before=state, state_after=state, changes=changes, cost_usd=cost, extra={"x": state})
    data = export_bytes(sign_receipt(receipt, key))
    assert verify_receipt_bytes(data, key.public_key()) == receipt


_KEY: list[Ed25519PrivateKey] = []


def _module_key() -> Ed25519PrivateKey:
    if not _KEY:
        _KEY.append(Ed25519PrivateKey.generate())
    return _KEY[0]


# --- signing format --------------------------------------------------------------


def test_signature_format_and_domain(private_key):
    receipt = example_receipt()
    signed = sign_receipt(receipt, private_key)
    assert signed.alg == "Ed25519"
    assert signed.key_id == keys.key_id(private_key.public_key())
    assert len(signed.signature) == 128 and signed.signature == signed.signature.lower()
    expected_input = DOMAIN + canonical_bytes(
        {"receipt": receipt.to_json_dict(), "alg": "Ed25519", "key_id": signed.key_id}
    )
    assert signing_input(receipt, alg="Ed25519", key_id=signed.key_id) == expected_input
    assert expected_input.startswith(b"governed-agents receipt v1\n{")
    private_key.public_key().verify(bytes.fromhex(signed.signature), expected_input)


def test_export_is_canonical_json_plus_newline(private_key, exported):
    assert exported.endswith(b"}\n") and exported.count(b"\n") == 1
    parsed = json.loads(exported)
    assert list(parsed) == ["alg", "key_id", "receipt", "signature"]
    assert canonical_bytes(parsed) + b"\n" == exported
    receipt = verify_receipt_bytes(exported, private_key.public_key())
    assert receipt.notes == "Zahlung geprüft — ok ✓"


def test_verify_signed_object(private_key):
    signed = sign_receipt(example_receipt(), private_key)
    assert verify_signed(signed, private_key.public_key()) == signed.receipt


def test_receipt_signature_is_not_a_token_signature(private_key):
    """Domain separation: the same key's receipt signature is over a prefixed input."""
    receipt = example_receipt()
    signed = sign_receipt(receipt, private_key)
    bare = canonical_bytes({"receipt": receipt.to_json_dict(), "alg": "Ed25519", "key_id": signed.key_id})
    with pytest.raises(Exception):
        private_key.public_key().verify(bytes.fromhex(signed.signature), bare)


# --- tampering -------------------------------------------------------------------


def _variants(data: bytes):
    """Every one-byte substitution we try at every position (each differs from the original byte)."""
    for i, original in enumerate(data):
        seen = set()
        for new in (original ^ 0x01, original ^ 0x20, ord("0"), 0xFF):
            if new != original and new not in seen:
                seen.add(new)
                yield i, original, data[:i] + bytes([new]) + data[i + 1 :]


def test_every_one_byte_substitution_fails(private_key, exported):
    public = private_key.public_key()
    verify_receipt_bytes(exported, public)  # the original verifies
    accepted = []
    tried = 0
    for i, original, tampered in _variants(exported):
        tried += 1
        try:
            verify_receipt_bytes(tampered, public)
        except ReceiptInvalid:
            continue
        accepted.append((i, chr(original), tampered[i : i + 1]))
    assert tried >= 3 * len(exported)
    assert accepted == []


def test_every_one_byte_deletion_fails(private_key, exported):
    public = private_key.public_key()
    for i in range(len(exported)):
        with pytest.raises(ReceiptInvalid):
            verify_receipt_bytes(exported[:i] + exported[i + 1 :], public)


def test_truncated_file_fails(private_key, exported):
    public = private_key.public_key()
    for length in range(len(exported)):
        with pytest.raises(ReceiptInvalid):
            verify_receipt_bytes(exported[:length], public)


def test_whitespace_and_newline_variants_fail(private_key, exported):
    public = private_key.public_key()
    body = exported[:-1]
    for data in (body, body + b"\n\n", body + b"\r\n", b" " + exported, body + b" \n",
                 json.dumps(json.loads(body), indent=2).encode() + b"\n",
                 json.dumps(json.loads(body), sort_keys=True).encode() + b"\n",
                 json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() + b"\n"):  # fmt: skip
        with pytest.raises(ReceiptInvalid):
            verify_receipt_bytes(data, public)


def test_wrong_key_fails_with_key_id_reason(exported):
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(ReceiptInvalid, match="signed by key 'ed25519:[0-9a-f]{16}', but the public key given is"):
        verify_receipt_bytes(exported, other)


def test_signature_swapped_from_another_receipt_fails(private_key, exported):
    other = sign_receipt(example_receipt(receipt_id="another"), private_key)
    parsed = json.loads(exported)
    parsed["signature"] = other.signature
    with pytest.raises(ReceiptInvalid, match="does not verify"):
        verify_receipt_bytes(canonical_bytes(parsed) + b"\n", private_key.public_key())


def test_relabelled_key_id_fails(private_key, exported):
    """Claiming another key id and verifying with that key: signature fails (key id is signed)."""
    other = Ed25519PrivateKey.generate()
    parsed = json.loads(exported)
    parsed["key_id"] = keys.key_id(other.public_key())
    with pytest.raises(ReceiptInvalid, match="does not verify"):
        verify_receipt_bytes(canonical_bytes(parsed) + b"\n", other.public_key())


def test_uppercase_signature_refused(private_key, exported):
    parsed = json.loads(exported)
    parsed["signature"] = parsed["signature"].upper()
    with pytest.raises(ReceiptInvalid, match="lowercase hex"):
        verify_receipt_bytes(canonical_bytes(parsed) + b"\n", private_key.public_key())


def test_resigned_edit_with_same_form_still_needs_the_key(private_key, exported):
    """A consistent, canonical edit (amount changed) fails on the signature."""
    parsed = json.loads(exported)
    parsed["receipt"]["state_after"]["amount"] = "9999.00"
    with pytest.raises(ReceiptInvalid, match="does not verify"):
        verify_receipt_bytes(canonical_bytes(parsed) + b"\n", private_key.public_key())


def test_structural_refusals(private_key, exported):
    public = private_key.public_key()
    parsed = json.loads(exported)
    cases = {
        "exactly": {k: v for k, v in parsed.items() if k != "alg"},
        "unsupported signature algorithm": {**parsed, "alg": "EdDSA"},
        "does not validate": {**parsed, "receipt": {**parsed["receipt"], "kind": "write_done"}},
        "not normalised": {**parsed, "receipt": {**parsed["receipt"], "finished_at": "2026-03-02T09:11:01+00:00"}},
    }
    for reason, value in cases.items():
        with pytest.raises(ReceiptInvalid, match=reason):
            verify_receipt_bytes(canonical_bytes(value) + b"\n", public)
    for data, reason in [
        (b"", "empty"),
        (b"[]\n", "exactly"),
        (b"\xff\n", "UTF-8"),
        (b'{"a": NaN}\n', "not valid JSON"),
        (exported.replace(b'"alg":"Ed25519"', b'"alg":"Ed25519","alg":"Ed25519"'), "canonical"),
        (exported.replace("ü".encode(), b"\\u00fc"), "canonical"),
    ]:
        with pytest.raises(ReceiptInvalid, match=reason):
            verify_receipt_bytes(data, public)


def test_signed_receipt_model_is_frozen(private_key):
    signed = sign_receipt(example_receipt(), private_key)
    with pytest.raises(ValidationError):
        signed.signature = "0" * 128  # type: ignore[misc]
    assert SignedReceipt.model_validate(signed.model_dump()) == signed
