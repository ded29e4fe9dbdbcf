"""The execution envelope: a typed model of one workflow's policy YAML.

Every section forbids unknown keys (a misspelt key is an error, not a silently
ignored setting), every model is frozen (the gate caches decisions per envelope
digest, so an envelope must not change after it is loaded), and numbers are
parsed in pydantic's lax mode except that booleans are never numbers and
infinities / NaN are refused. Flags are strict booleans: ``"false"`` in quotes
is an error rather than a surprise.

Build envelopes through :mod:`governed_agents.envelope.loader`; the model alone
gives no file/line context and no digest.
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

Pattern = Literal["suggest_only", "read_only", "human_in_the_loop", "autonomous_bounded", "continuous"]

#: Patterns in order of increasing autonomy; ``policy diff`` uses it for risk direction.
PATTERNS: tuple[str, ...] = (
    "suggest_only",
    "read_only",
    "human_in_the_loop",
    "autonomous_bounded",
    "continuous",
)
#: Patterns under which the gate refuses every write.
NO_WRITE_PATTERNS: frozenset[str] = frozenset({"suggest_only", "read_only"})
#: Patterns under which ``permissions.autonomous_writes`` let writes run without approval inside bounds.
BOUNDED_PATTERNS: frozenset[str] = frozenset({"autonomous_bounded", "continuous"})

WORKFLOW_RE = re.compile(r"[a-z][a-z0-9_]*")
TOOL_NAME_RE = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")


# -- field types -------------------------------------------------------------


def _no_bool(value: Any) -> Any:
    # YAML `true` is a bool, and bool is an int in Python: without this, a
    # budget of `true` would quietly become 1.
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "a boolean (true/false) is not a number")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank_string", "must not be empty or blank")
    return value


def _workflow_name(value: str) -> str:
    if not WORKFLOW_RE.fullmatch(value):
        raise PydanticCustomError(
            "workflow_name",
            "'{value}' is not a workflow name: use lower case letters, digits and _ , starting with a letter",
            {"value": value},
        )
    return value


def _tool_name(value: str) -> str:
    if not TOOL_NAME_RE.fullmatch(value):
        raise PydanticCustomError(
            "tool_name",
            "'{value}' is not a tool name: expected namespace.name in lower case, e.g. erp.lookup_vendor",
            {"value": value},
        )
    return value


def _version(value: Any) -> Any:
    # YAML reads an unquoted 2026-03-01 as a date; the envelope stores the text.
    if isinstance(value, _dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise PydanticCustomError(
            "version_type",
            "version must be a date (2026-03-01) or a string, got {kind}",
            {"kind": type(value).__name__},
        )
    return value


def _json_data(value: Any) -> Any:
    """Free-form parameter values must be plain JSON data with finite numbers."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, (str, bool, int)):
            continue
        if isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise PydanticCustomError("finite_number", "numbers must be finite (got {value})", {"value": item})
            continue
        if isinstance(item, list):
            stack.extend(item)
            continue
        if isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise PydanticCustomError("json_key", "mapping keys must be strings (got {key})", {"key": repr(key)})
                stack.append(sub)
            continue
        raise PydanticCustomError(
            "json_value",
            "must be plain data (string, number, boolean, null, list, mapping), got {kind}",
            {"kind": type(item).__name__},
        )
    return value


def _unique(kind: str):
    def check(values: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for index, value in enumerate(values):
            if value in seen:
                raise PydanticCustomError(
                    "duplicate",
                    "duplicate {kind}: {value} (listed more than once)",
                    {"kind": kind, "value": value, "index": index},
                )
            seen.add(value)
        return values

    return check


NonBlank = Annotated[str, AfterValidator(_not_blank)]
PosInt = Annotated[int, BeforeValidator(_no_bool), Field(gt=0)]
NonNegInt = Annotated[int, BeforeValidator(_no_bool), Field(ge=0)]
Usd = Annotated[Decimal, BeforeValidator(_no_bool), Field(gt=0, max_digits=20, decimal_places=6)]
Fraction = Annotated[float, BeforeValidator(_no_bool), Field(gt=0, lt=1)]
ToolName = Annotated[
    str,
    AfterValidator(_tool_name),
    WithJsonSchema({"type": "string", "pattern": "^" + TOOL_NAME_RE.pattern + "$"}),
]
BoundValue = Annotated[Decimal, BeforeValidator(_no_bool), Field(max_digits=20, decimal_places=6)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_default=False)


# -- sections ----------------------------------------------------------------


class Models(_Section):
    """Model tiers by alias; the routing layer resolves each alias to a concrete model."""

    router: NonBlank = Field(description="Tier alias for cheap routing and classification calls.")
    reasoning: NonBlank = Field(description="Tier alias for the calls that need the strongest model.")
    fallback: NonBlank = Field(description="Tier alias used when the reasoning tier is unavailable or over budget.")


class Budgets(_Section):
    """Per-task limits (enforced by the gate and the router) and optional spend caps."""

    max_tokens_per_task: PosInt = Field(description="Token limit for one task; the gate refuses tool calls once reached.")
    max_tool_calls: PosInt = Field(description="Tool calls allowed in one task; the gate refuses the call that would exceed it.")
    hard_cost_cap_usd: Usd = Field(description="Spend limit for one task in USD; no model call may exceed it.")
    workflow_daily_usd: Usd | None = Field(default=None, description="Daily spend cap for the workflow (none = no cap).")
    workflow_monthly_usd: Usd | None = Field(default=None, description="Monthly spend cap for the workflow (none = no cap).")
    user_daily_usd: Usd | None = Field(default=None, description="Daily spend cap per requesting user (none = no cap).")
    tenant_monthly_usd: Usd | None = Field(default=None, description="Monthly spend cap per tenant (none = no cap).")
    downgrade_at_fraction: tuple[Fraction, ...] = Field(
        default=(0.6, 0.8, 0.95),
        description="Fractions of a cap at which the router steps down a model tier; each in (0, 1), strictly ascending.",
    )

    @field_validator("downgrade_at_fraction")
    @classmethod
    def _ascending(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        for index in range(1, len(values)):
            if values[index] <= values[index - 1]:
                raise PydanticCustomError(
                    "not_ascending",
                    "thresholds must be strictly ascending: {value} follows {previous}",
                    {"value": values[index], "previous": values[index - 1], "index": index},
                )
        return values


class WriteLimit(_Section):
    """At most ``max`` writes of a tool per ``window`` (and per value of the input field ``per``)."""

    max: PosInt = Field(description="Writes allowed without approval in one window (per value of `per`).")
    window: Literal["day", "run", "task"] = Field(
        description="day: the UTC calendar day; run: one Dagster run (run_id); task: one governed task.")
    per: NonBlank | None = Field(
        default=None, description="An input field of the tool (e.g. employee_id) counted separately per value; "
        "none = every write of the tool together.")


class AmountThreshold(_Section):
    """A write whose input field ``field`` is above ``value`` needs an approval."""

    field: NonBlank = Field(description="Input field of the tool holding the amount (e.g. amount).")
    value: BoundValue = Field(description="Writes with a larger amount need an approval.")


class AutonomousWrite(_Section):
    """A write tool that runs without approval inside its bounds (autonomous_bounded / continuous)."""

    tool: ToolName = Field(description="A write tool in allowed_tools.")
    limits: tuple[WriteLimit, ...] = Field(
        default=(), description="Counts of recorded writes that must stay within bounds; past any, a write "
        "needs an approval.")
    approval_above: AmountThreshold | None = Field(
        default=None, description="An amount above which a write needs an approval.")


class Permissions(_Section):
    """Which tools the workflow may call, and who must approve its writes."""

    allowed_tools: Annotated[tuple[ToolName, ...], AfterValidator(_unique("tool"))] = Field(
        description="Registered tools (namespace.name) this workflow may call; anything else is denied."
    )
    write_actions_require_approval: StrictBool = Field(
        default=True, description="Whether every write tool call needs an approved, unexpired approval first."
    )
    approval_roles: Annotated[tuple[NonBlank, ...], AfterValidator(_unique("approval role"))] = Field(
        default=(),
        validate_default=True,
        description="Roles allowed to approve writes; required when write_actions_require_approval is true.",
    )
    min_approvals: PosInt = Field(default=1, description="Distinct approvers needed for one write.")
    approval_expiry_hours: Annotated[float, BeforeValidator(_no_bool), Field(gt=0)] = Field(
        default=24, description="Hours an approval stays valid after it is granted."
    )
    bounds: dict[NonBlank, BoundValue] | None = Field(
        default=None,
        description="Limits for autonomous_bounded work (e.g. max_amount_usd: 500), read as upper limits.",
    )
    autonomous_writes: tuple[AutonomousWrite, ...] = Field(
        default=(),
        description="Write tools that run without approval inside declared bounds (pattern autonomous_bounded "
        "or continuous only); outside them, or for any other write, the approval rules above apply.",
    )

    @field_validator("autonomous_writes")
    @classmethod
    def _bounded_tools_allowed(cls, writes: tuple[AutonomousWrite, ...], info: ValidationInfo):
        allowed = set(info.data.get("allowed_tools") or ())
        if writes and not info.data.get("approval_roles"):
            raise PydanticCustomError(
                "approval_roles_empty", "autonomous_writes need approval_roles: past a bound a person approves")
        seen: set[str] = set()
        for index, write in enumerate(writes):
            if write.tool not in allowed:
                raise PydanticCustomError(
                    "autonomous_tool_not_allowed", "{tool} is not in allowed_tools", {"tool": write.tool, "index": index})
            if write.tool in seen:
                raise PydanticCustomError(
                    "duplicate", "duplicate autonomous write: {tool}", {"tool": write.tool, "index": index})
            seen.add(write.tool)
        return writes

    @field_validator("approval_roles")
    @classmethod
    def _roles_when_approvals(cls, roles: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if info.data.get("write_actions_require_approval", True) and not roles:
            raise PydanticCustomError(
                "approval_roles_empty", "must not be empty when write_actions_require_approval is true"
            )
        return roles


class Logging(_Section):
    """What is kept of a run, and how."""

    redact_pii: StrictBool = Field(default=True, description="Redact personal data from transcripts and logs.")
    store_transcripts_days: NonNegInt = Field(default=30, description="Days transcripts are kept (0 = not stored).")


class Safety(_Section):
    """Screens applied to model input and output."""

    block_on_prompt_injection_score_gte: Annotated[float, BeforeValidator(_no_bool), Field(ge=0, le=1)] = Field(
        default=0.7,
        description="Input whose prompt-injection score is at or above this is blocked (0..1; lower is stricter).",
    )
    require_citations_for: Annotated[tuple[NonBlank, ...], AfterValidator(_unique("citation topic"))] = Field(
        default=(), description="Topics on which a model answer must cite its source."
    )


class Parameters(_Section):
    """Workflow parameters with safe defaults.

    The known parameters are typed fields (a misspelling is an error); a
    workflow's own, less common settings go under ``extra`` as plain data.
    """

    price_tolerance_pct: Annotated[float, BeforeValidator(_no_bool), Field(ge=0, le=100)] = Field(
        default=2.0, description="Unit-price difference (percent) still accepted as a match."
    )
    amount_tolerance: Annotated[Decimal, BeforeValidator(_no_bool), Field(ge=0, max_digits=20, decimal_places=6)] = Field(
        default=Decimal("0.01"), description="Absolute amount difference (currency units) still accepted as a match."
    )
    extra: dict[NonBlank, Annotated[Any, AfterValidator(_json_data)]] = Field(
        default_factory=dict, description="Workflow-specific parameters as plain JSON-like data."
    )


AutonomyLevel = Literal["suggest", "draft", "approve", "bounded"]

#: Autonomy levels in order of increasing execution rights (earned autonomy, docs/autonomy.md).
AUTONOMY_LEVELS: tuple[str, ...] = ("suggest", "draft", "approve", "bounded")


class Promotion(_Section):
    """The recorded evidence a workflow needs before it may rise to ``approve`` or ``bounded``."""

    min_approved_runs: NonNegInt = Field(
        default=20, description="Approved writes (approval requests approved or executed) since the last demotion.")
    max_correction_rate: Annotated[float, BeforeValidator(_no_bool), Field(ge=0, le=1)] = Field(
        default=0.05, description="Reversed writes / executed writes since the last demotion must not exceed this.")
    require_eval_pass: StrictBool = Field(
        default=True, description="The workflow's latest eval suite result (for this envelope) must have passed.")


class Autonomy(_Section):
    """Earned execution rights: the level the workflow starts at, the highest it may reach, how it rises."""

    initial_level: AutonomyLevel = Field(
        default="approve", description="Level before anyone promotes or demotes it (suggest, draft, approve, bounded).")
    max_level: AutonomyLevel = Field(default="approve", description="Highest level a promotion may reach.")
    promotion: Promotion = Field(default_factory=Promotion)
    demote_on: tuple[Literal["write_reversed", "monitor_finding"], ...] = Field(
        default=("write_reversed", "monitor_finding"),
        description="Incidents that lower the level by one step automatically.",
    )

    @field_validator("max_level")
    @classmethod
    def _not_below_initial(cls, value: str, info: ValidationInfo) -> str:
        initial = info.data.get("initial_level", "approve")
        if AUTONOMY_LEVELS.index(value) < AUTONOMY_LEVELS.index(initial):
            raise PydanticCustomError(
                "max_below_initial", "max_level {value} is below initial_level {initial}",
                {"value": value, "initial": initial})
        return value


class Envelope(_Section):
    """The execution envelope of one workflow: what its agent may do, spend and touch."""

    version: Annotated[
        str, BeforeValidator(_version), AfterValidator(_not_blank), WithJsonSchema({"type": "string"})
    ] = Field(description="Version of this envelope; an unquoted date (2026-03-01) is stored as text.")
    workflow: Annotated[
        str, AfterValidator(_workflow_name), WithJsonSchema({"type": "string", "pattern": "^[a-z][a-z0-9_]*$"})
    ] = Field(description="Workflow identifier; the file is policies/<workflow>.yaml.")
    description: str | None = Field(default=None, description="What the workflow does, for people.")
    pattern: Pattern = Field(default="human_in_the_loop", description="Autonomy pattern (see docs/envelope.md).")
    models: Models
    budgets: Budgets
    permissions: Permissions
    logging: Logging = Field(default_factory=Logging)
    safety: Safety = Field(default_factory=Safety)
    parameters: Parameters = Field(default_factory=Parameters)
    autonomy: Autonomy | None = Field(
        default=None, description="Earned execution rights (docs/autonomy.md); none = the level is not managed.")

    @field_validator("permissions")
    @classmethod
    def _autonomous_writes_need_a_bounded_pattern(cls, permissions: Permissions, info: ValidationInfo) -> Permissions:
        pattern = info.data.get("pattern", "human_in_the_loop")
        if permissions.autonomous_writes and pattern not in BOUNDED_PATTERNS:
            raise PydanticCustomError(
                "autonomous_writes_pattern",
                "autonomous_writes apply only under pattern autonomous_bounded or continuous, not {pattern}",
                {"pattern": pattern})
        return permissions
