"""Roles and the actions each role may perform.

This table is the whole of role-based authority: a principal may perform an
action if any of its roles lists it. It lives in code (not in a policy file)
because widening it is a change to the product's security model that deserves
review, whereas who holds which role (``policies/principals.yaml``) is an
operational decision. Tokens never carry roles: a token names actions, and on
every use the principal's *current* roles must still allow the action.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

ROLE_ACTIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "FinanceAdmin": frozenset(
            {"approval.read", "approval.approve", "approval.reject", "receipt.read"}
        ),
        "Auditor": frozenset({"approval.read", "receipt.read", "audit.read"}),
        "Admin": frozenset(
            {"killswitch.set", "autonomy.set", "policy.promote", "policy.read", "receipt.read", "audit.read",
             "approval.read"}
        ),
        "Requester": frozenset({"approval.read", "approval.request", "receipt.read"}),
        "Agent": frozenset({"approval.request", "tool.call"}),
    }
)

ROLES: frozenset[str] = frozenset(ROLE_ACTIONS)

ACTIONS: frozenset[str] = frozenset().union(*ROLE_ACTIONS.values())


def actions_for_roles(roles: Iterable[str]) -> frozenset[str]:
    """Every action that at least one of ``roles`` allows (unknown roles allow nothing)."""
    return frozenset().union(*(ROLE_ACTIONS.get(role, frozenset()) for role in roles))


def roles_allowing(action: str) -> list[str]:
    """The roles that allow ``action``, sorted (for messages that say what is missing)."""
    return sorted(role for role, actions in ROLE_ACTIONS.items() if action in actions)
