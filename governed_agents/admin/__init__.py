"""The admin panel: where approvers, auditors and admins act on governance and audit it.

Server-rendered (Starlette + Jinja2, no JavaScript). ``create_app`` builds the
ASGI app; ``governed-agents admin serve`` runs it on 127.0.0.1 by default.
Every page and every action is authorised on the server against the
principal's *current* roles (``identity.roles``); every form carries a
per-session CSRF token; every action leaves an audit event.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from governed_agents.admin.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
