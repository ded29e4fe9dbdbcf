"""Identity and scoped delegation: principals, roles, the signing key, tokens.

- ``principals``: the directory read from ``policies/principals.yaml``.
- ``roles``: the role → actions table (code, not configuration).
- ``keys``: the installation's Ed25519 key pair (signs tokens and receipts).
- ``tokens``: short-lived scoped tokens and their verification.

Names are re-exported lazily so that importing this package stays cheap
(PyJWT and cryptography load only when a token or key is used).
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Principal": "governed_agents.identity.principals",
    "Directory": "governed_agents.identity.principals",
    "load_principals": "governed_agents.identity.principals",
    "ROLE_ACTIONS": "governed_agents.identity.roles",
    "ACTIONS": "governed_agents.identity.roles",
    "signing_key": "governed_agents.identity.keys",
    "public_key": "governed_agents.identity.keys",
    "key_id": "governed_agents.identity.keys",
    "issue_token": "governed_agents.identity.tokens",
    "verify_token": "governed_agents.identity.tokens",
    "inspect_token": "governed_agents.identity.tokens",
    "token_from_env_or_arg": "governed_agents.identity.tokens",
    "TokenClaims": "governed_agents.identity.tokens",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
