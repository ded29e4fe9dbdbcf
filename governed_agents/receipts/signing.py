"""Signing receipts and verifying exported receipt files.

Signed input (domain-separated from tokens, which sign a JWT's
``header.payload``)::

    b"governed-agents receipt v1\\n" + canonical_bytes({"receipt": …, "alg": "Ed25519", "key_id": …})

Export format: ``canonical_bytes({"receipt", "alg", "key_id", "signature"}) + b"\\n"``
with ``signature`` the lowercase hex of the 64-byte Ed25519 signature.

Verification accepts only that exact form: the file is parsed, re-serialised
and compared byte for byte, so there is exactly one valid file per signed
receipt and any edit, including whitespace, key order or an equivalent number
spelling, is refused, not just edits the signature happens to cover.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, ValidationError

from governed_agents.canonical import canonical_bytes
from governed_agents.errors import ReceiptInvalid
from governed_agents.identity.keys import key_id as _key_id
from governed_agents.receipts.model import Receipt

DOMAIN = b"governed-agents receipt v1\n"
ALG = "Ed25519"
_EXPORT_KEYS = frozenset({"receipt", "alg", "key_id", "signature"})
_SIGNATURE = re.compile(r"[0-9a-f]{128}")


class SignedReceipt(BaseModel):
    """A receipt with its Ed25519 signature and the id of the signing key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    receipt: Receipt
    alg: str = ALG
    key_id: str
    signature: str  # lowercase hex

    def export_dict(self) -> dict[str, Any]:
        return {
            "receipt": self.receipt.to_json_dict(),
            "alg": self.alg,
            "key_id": self.key_id,
            "signature": self.signature,
        }


def signing_input(receipt: Receipt, *, alg: str, key_id: str) -> bytes:
    """The exact bytes the signature covers."""
    return DOMAIN + canonical_bytes({"receipt": receipt.to_json_dict(), "alg": alg, "key_id": key_id})


def sign_receipt(receipt: Receipt, private_key: Ed25519PrivateKey) -> SignedReceipt:
    kid = _key_id(private_key.public_key())
    signature = private_key.sign(signing_input(receipt, alg=ALG, key_id=kid))
    return SignedReceipt(receipt=receipt, alg=ALG, key_id=kid, signature=signature.hex())


def export_bytes(signed: SignedReceipt) -> bytes:
    """The one canonical file form of a signed receipt (ends with a single newline)."""
    return canonical_bytes(signed.export_dict()) + b"\n"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def verify_receipt_bytes(data: bytes, public_key: Ed25519PublicKey) -> Receipt:
    """The receipt in ``data`` if it is exactly an exported receipt signed by ``public_key``.

    Raises ``ReceiptInvalid`` with the reason otherwise.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise ReceiptInvalid(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data:
        raise ReceiptInvalid("the receipt file is empty")
    if not data.endswith(b"\n") or data.endswith(b"\n\n"):
        raise ReceiptInvalid(
            "the receipt file must end with exactly one newline (truncated or edited?)",
        )
    body = data[:-1]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReceiptInvalid(f"the receipt file is not UTF-8 (byte {exc.start})") from None
    try:
        parsed = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise ReceiptInvalid(f"the receipt file is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict) or set(parsed) != _EXPORT_KEYS:
        found = sorted(parsed) if isinstance(parsed, dict) else type(parsed).__name__
        raise ReceiptInvalid(f"the receipt file must hold exactly {sorted(_EXPORT_KEYS)}, found {found}")
    try:
        canonical = canonical_bytes(parsed)
    except (TypeError, ValueError) as exc:  # e.g. a lone surrogate written as \ud800
        raise ReceiptInvalid(f"the receipt file has no canonical form: {exc}") from None
    if canonical != body:
        raise ReceiptInvalid(
            "the receipt file is not in canonical form (edited: whitespace, key order, escaping or duplicate keys)"
        )

    alg, kid, signature = parsed["alg"], parsed["key_id"], parsed["signature"]
    if alg != ALG:
        raise ReceiptInvalid(f"unsupported signature algorithm {alg!r}; expected {ALG!r}")
    if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
        raise ReceiptInvalid("the signature must be 128 lowercase hex digits")
    expected_kid = _key_id(public_key)
    if kid != expected_kid:
        raise ReceiptInvalid(
            f"the receipt was signed by key {kid!r}, but the public key given is {expected_kid}",
            hint="verify with the public key of the installation that issued the receipt",
        )
    try:
        receipt = Receipt.model_validate(parsed["receipt"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ReceiptInvalid(
            f"the receipt body does not validate ({exc.error_count()} error(s); first: {where}: {first.get('msg')})"
        ) from None
    normalised = receipt.to_json_dict()
    if canonical_bytes({**parsed, "receipt": normalised}) != body:
        raise ReceiptInvalid("the receipt body is not in its canonical form (a field is not normalised)")
    signed_bytes = DOMAIN + canonical_bytes({"receipt": normalised, "alg": alg, "key_id": kid})
    try:
        public_key.verify(bytes.fromhex(signature), signed_bytes)
    except InvalidSignature:
        raise ReceiptInvalid(
            f"the signature of receipt {receipt.receipt_id} does not verify: the receipt was altered "
            "or signed by another key"
        ) from None
    return receipt


def verify_signed(signed: SignedReceipt, public_key: Ed25519PublicKey) -> Receipt:
    """Verify a ``SignedReceipt`` object (e.g. read from the ledger) exactly as an exported file."""
    return verify_receipt_bytes(export_bytes(signed), public_key)
