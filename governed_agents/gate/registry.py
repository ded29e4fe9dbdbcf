"""The tool registry: every tool an agent may call, with typed input and output.

Registering a tool does not hand its function back: the decorator returns a
``RegisteredTool`` handle (the spec, not callable), and the implementation sits
in a private mapping that only the gate's executor reads. Code that imports a
tool module therefore cannot call a tool around the gate.

A write tool declares whether it can be undone: ``reversible=True`` with a
``compensate`` builder that, given the receipt of an executed write, names the
compensating write (a ``Compensation``: a tool of the same workflow and its
arguments). ``governed-agents undo`` proposes that write through the ordinary
gate and approval path (see ``governed_agents/undo.py``).

A write whose arguments restate facts the system of record holds (an amount, the
vendor and IBAN of a recorded request) declares a ``record_check``: given the
validated input it reads the system of record and returns the disagreements as
``(code, message)`` pairs (``record_not_found`` / ``record_mismatch``). The
executor runs it before the gate; the gate refuses such a write. A caller's
statement is then never what a bound or an approver relies on.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Literal

from pydantic import BaseModel

from governed_agents.envelope.model import TOOL_NAME_RE
from governed_agents.errors import GovernanceError

if TYPE_CHECKING:  # pragma: no cover
    from governed_agents.gate.decision import _Plan

SideEffect = Literal["read", "write"]


class ToolRegistrationError(GovernanceError):
    """A tool definition is incomplete or conflicts with one already registered."""


@dataclass(frozen=True, slots=True)
class Compensation:
    """The write that undoes an executed write, as its ``compensate`` builder names it.

    ``tool`` is a write tool registered for the same workflow (it goes through the
    gate like any other call); ``arguments`` its input; ``summary`` one line for the
    approver ("reverse journal entry 1f3… (1,200.00 EUR)").
    """

    tool: str
    arguments: dict
    summary: str = ""


#: Takes the original write's receipt (``receipts.model.Receipt``), returns its compensation.
CompensationBuilder = Callable[[Any], Compensation]

#: Takes a write's validated input, returns how it disagrees with the system of record
#: as ``(code, message)`` pairs, code ``record_not_found`` or ``record_mismatch`` (empty: it agrees).
RecordCheck = Callable[[Any], "list[tuple[str, str]]"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """What the gate knows about a tool. Checked when it is created."""

    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    side_effect: SideEffect
    reversible: bool
    idempotency_key: Callable[[Any], str] | None = None
    data_classes: tuple[str, ...] = ()
    compensate: CompensationBuilder | None = None
    #: The write tool ``compensate`` names. Declared so that allowing this tool allows its
    #: undo too (the gate adds it to the envelope's allowlist; see docs/gate.md).
    compensation_tool: str | None = None
    #: Reads the system of record and says where the write's arguments disagree with it.
    record_check: RecordCheck | None = None

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not TOOL_NAME_RE.fullmatch(self.name):
            problems.append(f"name {self.name!r} is not namespace.name in lower case (e.g. erp.lookup_vendor)")
        if not isinstance(self.description, str) or not self.description.strip():
            problems.append("a description is required (pass description= or give the function a docstring)")
        for label, model in (("input", self.input_model), ("output", self.output_model)):
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                problems.append(f"{label} must be a pydantic BaseModel subclass, got {model!r}")
        if self.side_effect not in ("read", "write"):
            problems.append(f"side_effect must be 'read' or 'write', got {self.side_effect!r}")
        if not isinstance(self.reversible, bool):
            problems.append(f"reversible must be true or false, got {self.reversible!r}")
        if self.idempotency_key is not None and not callable(self.idempotency_key):
            problems.append("idempotency_key must be a callable taking the validated input and returning a str")
        if self.side_effect == "write" and self.idempotency_key is None:
            problems.append("a write tool needs idempotency_key (a retry must be a no-op)")
        if not isinstance(self.data_classes, tuple) or not all(isinstance(d, str) and d for d in self.data_classes):
            problems.append("data_classes must be a tuple of non-empty strings, e.g. ('pii', 'financial')")
        if self.compensate is not None:
            if not callable(self.compensate):
                problems.append("compensate must be a callable taking the write's receipt and returning a Compensation")
            elif self.side_effect != "write" or self.reversible is not True:
                problems.append("compensate is for reversible write tools only (side_effect='write', reversible=True)")
            if not isinstance(self.compensation_tool, str) or not TOOL_NAME_RE.fullmatch(self.compensation_tool):
                problems.append("compensate needs compensation_tool: the name of the write tool it returns")
        elif self.compensation_tool is not None:
            problems.append("compensation_tool is given without compensate")
        if self.record_check is not None and (not callable(self.record_check) or self.side_effect != "write"):
            problems.append("record_check is for write tools only: a callable taking the validated input "
                            "and returning (code, message) pairs")
        if problems:
            raise ToolRegistrationError(
                f"tool {self.name!r} cannot be registered: " + "; ".join(problems),
                details={"tool": str(self.name), "problems": problems},
            )

    @property
    def is_write(self) -> bool:
        return self.side_effect == "write"

    @property
    def undoable(self) -> bool:
        """A write that ``governed-agents undo`` can compensate (reversible, with a builder)."""
        return self.side_effect == "write" and self.reversible and self.compensate is not None


@dataclass(frozen=True, slots=True)
class RegisteredTool:
    """The handle a ``@registry.tool(...)`` decorator leaves in a module: the spec, not the function.

    It is deliberately not callable; tools run only through the gate.
    """

    spec: ToolSpec

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        return f"<RegisteredTool {self.spec.name} ({self.spec.side_effect})>"


@dataclass(frozen=True, slots=True)
class _Entry:
    """A spec plus what the gate precomputes about it."""

    spec: ToolSpec
    is_write: bool
    # Argument names the input model accepts, when it would silently ignore
    # others (pydantic's default); ``None`` when the model decides itself.
    accepted_keys: frozenset[str] | None


def _accepted_keys(model: type[BaseModel]) -> frozenset[str] | None:
    if model.model_config.get("extra") in ("forbid", "allow"):
        return None
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        keys.add(name)
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                keys.add(alias)
            elif alias is not None:
                return None  # AliasPath / AliasChoices: leave it to the model
    return frozenset(keys)


class ToolRegistry:
    """Tools by name. One registry per code location is the usual shape."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._implementations: dict[str, Callable[..., Any]] = {}
        # Per-envelope precomputation for the gate, keyed by envelope digest;
        # cleared whenever a tool is registered.
        self._plans: dict[str, _Plan] = {}

    def __repr__(self) -> str:
        return f"<ToolRegistry {len(self._entries)} tools>"

    def tool(
        self,
        *,
        name: str,
        input: type[BaseModel],
        output: type[BaseModel],
        side_effect: SideEffect,
        reversible: bool,
        idempotency_key: Callable[[Any], str] | None = None,
        description: str | None = None,
        data_classes: tuple[str, ...] = (),
        compensate: CompensationBuilder | None = None,
        compensation_tool: str | None = None,
        record_check: RecordCheck | None = None,
    ) -> Callable[[Callable[..., Any]], RegisteredTool]:
        """Register the decorated function as tool ``name``; returns its ``RegisteredTool`` handle.

        ``reversible`` says whether the tool's effect can be undone; for a write,
        ``compensate(receipt) -> Compensation`` says how, calling the write tool
        ``compensation_tool`` (without them, ``undo`` refuses: nothing says which
        write would reverse this one). ``record_check(input) -> [(code, message)]``
        names the arguments a write restates from the system of record that do not
        hold there; the gate refuses such a write (``record_not_found`` / ``record_mismatch``).
        """

        def register(function: Callable[..., Any]) -> RegisteredTool:
            if not callable(function):
                raise ToolRegistrationError(f"tool {name!r}: the decorated object is not callable")
            doc = inspect.getdoc(function) or ""
            spec = ToolSpec(
                name=name,
                description=description if description is not None else doc,
                input_model=input,
                output_model=output,
                side_effect=side_effect,
                reversible=reversible,
                idempotency_key=idempotency_key,
                data_classes=tuple(data_classes),
                compensate=compensate,
                compensation_tool=compensation_tool,
                record_check=record_check,
            )
            return self._add(spec, function)

        return register

    def _add(self, spec: ToolSpec, function: Callable[..., Any]) -> RegisteredTool:
        if spec.name in self._entries:
            raise ToolRegistrationError(
                f"tool {spec.name!r} is already registered",
                hint="tool names are unique per registry; rename one or register it once",
            )
        self._entries[spec.name] = _Entry(spec, spec.is_write, _accepted_keys(spec.input_model))
        self._implementations[spec.name] = function
        self._plans.clear()
        return RegisteredTool(spec)

    def spec(self, name: str) -> ToolSpec | None:
        entry = self._entries.get(name)
        return entry.spec if entry is not None else None

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._entries))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def _implementation(self, name: str) -> Callable[..., Any]:
        """The function behind a tool. For the gate's executor only, after an ``allow`` decision."""
        return self._implementations[name]
