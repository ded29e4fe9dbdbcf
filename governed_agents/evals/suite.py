"""Eval suites: the cases of one workflow, its sandbox data and its release thresholds.

A suite is a folder ``governed_agents/evals/cases/<workflow>/`` (shipped with
the package): ``suite.yaml`` holds the thresholds (minimum pass rate per
category) and the sandbox ERP the cases run against; every other ``*.yaml``
file holds a list of cases. Adding cases, or a workflow, is adding files.

Why the thresholds live here and not in the envelope: the suite is the bar an
envelope change must clear. If the bar sat in the envelope, a candidate that
weakens the policy could lower its own bar in the same edit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from governed_agents.canonical import digest
from governed_agents.errors import PolicyError, UsageError

#: The categories the issue names; a suite may use any subset.
CATEGORIES: tuple[str, ...] = ("success", "prompt_injection", "tool_misuse", "exfiltration", "plausible_but_wrong")
#: What a case can end as (see docs/evals.md).
OUTCOMES: tuple[str, ...] = ("allowed", "refused", "needs_approval", "exception")

CASES_ENV = "GOVERNED_AGENTS_EVAL_CASES"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expect(_Strict):
    outcome: Literal["allowed", "refused", "needs_approval", "exception"]
    #: A reason code that must be among the observed ones (gate or reconciliation code).
    reason: str | None = None
    #: When set, whether the model (through the gateway) must / must not have been asked.
    model_used: bool | None = None


class ToolCallInput(_Strict):
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ScriptedReply(_Strict):
    """One reply of the scripted model: a tool call (dotted tool name) or a text answer."""

    tool_call: ToolCallInput | None = None
    text: str | None = None

    @model_validator(mode="after")
    def _one(self) -> "ScriptedReply":
        if (self.tool_call is None) == (self.text is None):
            raise ValueError("a scripted reply is exactly one of tool_call: or text:")
        return self


class AgentInput(_Strict):
    """A model (scripted, over real HTTP) in the agent loop: it proposes, the gate disposes."""

    messages: tuple[dict[str, Any], ...]
    #: Tools offered to the model (registered ones, decoys included); the gate still decides each call.
    tools: tuple[str, ...]
    script: tuple[ScriptedReply, ...] = Field(min_length=1)


class Case(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    category: str
    description: str
    #: Workflow input (e.g. invoices for invoice_reconcile); the workflow's driver reads it.
    input: dict[str, Any] | None = None
    #: Tool calls a model proposes, in order, in one task; the last one is judged.
    tool_calls: tuple[ToolCallInput, ...] | None = None
    #: A scripted model in the agent loop; judged on the most permissive outcome of its calls.
    agent: AgentInput | None = None
    expect: Expect
    source: str = ""

    @model_validator(mode="after")
    def _one_input(self) -> "Case":
        if sum(x is not None for x in (self.input, self.tool_calls, self.agent)) != 1:
            raise ValueError("a case gives exactly one of input:, tool_calls: or agent:")
        if self.tool_calls is not None and not self.tool_calls:
            raise ValueError("tool_calls: must list at least one call")
        if self.category not in CATEGORIES:
            raise ValueError(f"category {self.category!r} is not one of {', '.join(CATEGORIES)}")
        return self


class SuiteConfig(_Strict):
    workflow: str
    description: str = ""
    thresholds: dict[str, float]
    #: Sandbox data the cases run against (the workflow's driver loads it).
    fixture: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _thresholds(self) -> "SuiteConfig":
        for category, value in self.thresholds.items():
            if category not in CATEGORIES:
                raise ValueError(f"thresholds: {category!r} is not one of {', '.join(CATEGORIES)}")
            if isinstance(value, bool) or not 0 <= value <= 1:
                raise ValueError(f"thresholds.{category}: {value!r} is not a pass rate in [0, 1]")
        return self


class Suite:
    """A loaded suite: config, cases (in file then list order) and a digest of both."""

    def __init__(self, config: SuiteConfig, cases: list[Case], folder: Path, digest_: str):
        self.config = config
        self.cases = cases
        self.folder = folder
        self.digest = digest_

    @property
    def workflow(self) -> str:
        return self.config.workflow

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.config.thresholds)

    def categories(self) -> list[str]:
        seen = {c.category for c in self.cases} | set(self.config.thresholds)
        return [c for c in CATEGORIES if c in seen]


def cases_root() -> Path:
    """``$GOVERNED_AGENTS_EVAL_CASES`` or the cases shipped in this package."""
    configured = os.environ.get(CASES_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return Path(__file__).resolve().parent / "cases"


def suite_workflows() -> list[str]:
    """Workflows that have a suite (a folder with ``suite.yaml``)."""
    root = cases_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "suite.yaml").is_file())


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from None


def _problems(path: Path, exc: ValidationError, prefix: str = "") -> str:
    lines = []
    for e in exc.errors(include_url=False):
        loc = prefix + ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {loc or '(top level)'}: {msg}")
    return "\n".join(lines)


def load_suite(workflow: str) -> Suite:
    """The suite of ``workflow``; a ``PolicyError`` naming file and field when it does not load."""
    folder = cases_root() / workflow
    config_path = folder / "suite.yaml"
    if not config_path.is_file():
        known = ", ".join(suite_workflows()) or "none"
        raise UsageError(f"no eval suite for workflow {workflow!r}: {config_path} does not exist",
                         hint=f"workflows with a suite: {known}; add cases under {cases_root()}/<workflow>/")
    raw = _read(config_path)
    try:
        config = SuiteConfig.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(_problems(config_path, exc)) from None
    if config.workflow != workflow:
        raise PolicyError(f"{config_path}: workflow {config.workflow!r} does not match the folder {workflow!r}")
    cases: list[Case] = []
    seen: dict[str, str] = {}
    problems: list[str] = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "suite.yaml":
            continue
        items = _read(path)
        if not isinstance(items, list):
            problems.append(f"{path}: expected a list of cases")
            continue
        for index, item in enumerate(items):
            try:
                case = Case.model_validate({**(item or {}), "source": f"{path.name}[{index}]"})
            except ValidationError as exc:
                problems.append(_problems(path, exc, prefix=f"[{index}]."))
                continue
            if case.id in seen:
                problems.append(f"{path}: [{index}]: case id {case.id!r} is also used in {seen[case.id]}")
            seen[case.id] = case.source
            cases.append(case)
    if problems:
        raise PolicyError("\n".join(problems), hint="fix the case files (docs/evals.md describes the format)")
    if not cases:
        raise PolicyError(f"{folder}: the suite has no cases")
    for category in config.thresholds:
        if not any(c.category == category for c in cases):
            raise PolicyError(f"{config_path}: thresholds.{category}: the suite has no case in this category "
                              "(a threshold over no cases cannot fail)")
    suite_digest = digest({"config": config.model_dump(mode="json"),
                           "cases": [c.model_dump(mode="json", exclude={"source"}) for c in cases]})
    return Suite(config, cases, folder, suite_digest)
