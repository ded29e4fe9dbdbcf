"""Principals: who may act, with which roles, for which tenant.

The directory is read from ``policies/principals.yaml``. It is read again on
every token verification (see ``tokens.verify_token``), so removing a role or a
principal from the file takes effect at once, even for tokens already issued.
A file that does not validate refuses to load as a whole: a half-read directory
would grant or deny by accident.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from governed_agents.errors import PolicyError
from governed_agents.identity.roles import ROLES, actions_for_roles

PrincipalId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:-]*$"),
]


class Principal(BaseModel):
    """A person or an agent that can hold a token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: PrincipalId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    roles: frozenset[str] = frozenset()
    tenant: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None

    @field_validator("roles", mode="before")
    @classmethod
    def _roles_are_known(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple, set, frozenset)):
            for role in value:
                if isinstance(role, str) and role not in ROLES:
                    raise ValueError(f"unknown role {role!r} (known roles: {', '.join(sorted(ROLES))})")
        return value

    @property
    def actions(self) -> frozenset[str]:
        """The actions this principal's roles allow right now."""
        return actions_for_roles(self.roles)

    def may(self, action: str) -> bool:
        return action in self.actions


class _PrincipalsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    principals: list[Principal] = Field(default_factory=list)


class Directory:
    """An immutable lookup of principals by id."""

    def __init__(self, principals: Iterable[Principal], *, source: Path | None = None):
        by_id: dict[str, Principal] = {}
        for principal in principals:
            if principal.id in by_id:
                where = f"{source}: " if source else ""
                raise PolicyError(f"{where}duplicate principal id {principal.id!r}")
            by_id[principal.id] = principal
        self._by_id = by_id
        self.source = source

    def get(self, principal_id: str) -> Principal | None:
        return self._by_id.get(principal_id)

    def __contains__(self, principal_id: object) -> bool:
        return principal_id in self._by_id

    def __iter__(self) -> Iterator[Principal]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        return f"Directory({len(self)} principals from {self.source or 'code'})"


def default_path() -> Path:
    from governed_agents import config

    return config.policy_dir() / "principals.yaml"


def load_principals(path: str | Path | None = None) -> Directory:
    """Read and validate the principals file (default ``<policy dir>/principals.yaml``).

    Raises ``PolicyError`` naming the file, the entry, its line and the field.
    """
    path = Path(path) if path is not None else default_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(
            f"principals file not found: {path}",
            hint="create it, or point GOVERNED_AGENTS_POLICY_DIR at the folder that holds principals.yaml",
        ) from None
    except OSError as exc:
        raise PolicyError(f"cannot read principals file {path}: {exc.strerror or exc}") from None
    # The file is read on every token verification; parse it only when its content changed.
    resolved, content = str(path.resolve()), hashlib.sha256(raw).digest()
    with _cache_lock:
        cached = _cache.get(resolved)
    if cached is not None and cached[0] == content:
        return cached[1]
    directory = _parse(raw, path)
    with _cache_lock:
        _cache[resolved] = (content, directory)
    return directory


_cache: dict[str, tuple[bytes, Directory]] = {}
_cache_lock = threading.Lock()


def _parse(raw: bytes, path: Path) -> Directory:
    import yaml

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader)
        data = loader(text).construct_document(node) if node is not None else None
        lines = _entry_lines(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{where}: not valid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected a mapping with a 'principals' list, found {type(data).__name__}")

    try:
        parsed = _PrincipalsFile.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error, path, lines) for error in exc.errors()]
        raise PolicyError(
            f"{path}: {len(problems)} problem(s) in the principals file:\n  " + "\n  ".join(problems),
            details={"file": str(path), "errors": problems},
        ) from None

    seen: dict[str, int] = {}
    for index, principal in enumerate(parsed.principals):
        if principal.id in seen:
            first = seen[principal.id]
            raise PolicyError(
                f"{path}:{_line(lines, index)}: principals[{index}].id: duplicate principal id "
                f"{principal.id!r} (first defined at principals[{first}], line {_line(lines, first)})",
                hint="each principal id must appear once",
            )
        seen[principal.id] = index
    return Directory(parsed.principals, source=path)


def _entry_lines(node: Any) -> list[int]:
    """1-based line of each entry under ``principals`` (best effort, for messages)."""
    try:
        for key, value in node.value:
            if key.value == "principals" and hasattr(value, "value") and isinstance(value.value, list):
                return [item.start_mark.line + 1 for item in value.value]
    except (AttributeError, TypeError, ValueError):
        pass
    return []


def _line(lines: list[int], index: int) -> str:
    return str(lines[index]) if 0 <= index < len(lines) else "?"


def _describe(error: dict, path: Path, lines: list[int]) -> str:
    loc = error.get("loc", ())
    field = ""
    for part in loc:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    line = ""
    if len(loc) >= 2 and loc[0] == "principals" and isinstance(loc[1], int):
        line = f"line {_line(lines, loc[1])}: "
    message = error.get("msg", "invalid")
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return f"{line}{field or '(file)'}: {message}"
