"""Signed receipts: what a governed write (or run) did, verifiable offline.

- ``model``: the ``Receipt`` (pydantic, frozen).
- ``signing``: Ed25519 signatures, the canonical export file, offline verification.
- ``store``: receipts in the ledger, each with a ``receipt.issued`` audit event.
- ``render``: Markdown and one-line summaries for people.

Names are re-exported lazily so that importing this package stays cheap.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Receipt": "governed_agents.receipts.model",
    "SignedReceipt": "governed_agents.receipts.signing",
    "sign_receipt": "governed_agents.receipts.signing",
    "export_bytes": "governed_agents.receipts.signing",
    "verify_receipt_bytes": "governed_agents.receipts.signing",
    "verify_signed": "governed_agents.receipts.signing",
    "store_receipt": "governed_agents.receipts.store",
    "get_receipt": "governed_agents.receipts.store",
    "list_receipts": "governed_agents.receipts.store",
    "render_markdown": "governed_agents.receipts.render",
    "summary_line": "governed_agents.receipts.render",
    "example_receipt": "governed_agents.receipts.examples",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
