"""The model catalog (``policies/models.yaml``): tier aliases → litellm models with prices.

An envelope names tiers by alias (``models: {router: small-fast, reasoning:
frontier, fallback: safe-medium}``); the catalog says what each alias is: the
litellm model string, its price per 1,000 input and output tokens (used to
reserve spend before a call, and to settle it when litellm has no price for
the model), its output limit, timeout and retries, and how to reach it.

Switching a tier to a real provider is an edit here plus the provider's API key
in the environment; see docs/routing.md. The default catalog uses the offline
stand-in only, so nothing needs a key.

The file is parsed with the envelope loader's strict YAML rules (no duplicate
keys, anchors or merge keys) and validated by pydantic; every problem is
reported as ``file:line:column: field.path: message``.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from governed_agents import config
from governed_agents.errors import PolicyError
from governed_agents.routing.offline import OFFLINE_PROVIDER

CATALOG_ENV = "GOVERNED_AGENTS_MODEL_CATALOG"
CATALOG_FILE = "models.yaml"
_HINT = "fix the model catalog; no model call is made until it loads"
_ENV_NAME_RE = re.compile(r"[A-Z_][A-Z0-9_]*")
_MODEL_RE = re.compile(r"[A-Za-z0-9_.-]+/\S+")


class CatalogError(PolicyError):
    """The model catalog does not load, or names no model for a tier."""


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean (true/false) is not a number")
    return value


def _model_string(value: str) -> str:
    if not _MODEL_RE.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a litellm model string: expected provider/model, "
            "e.g. offline/small-fast, openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest"
        )
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not an environment variable name (upper case, digits, _)")
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"must be plain data (string, number, boolean, list, mapping), got {type(value).__name__}")


Price = Annotated[Decimal, BeforeValidator(_no_bool), Field(ge=0, max_digits=20, decimal_places=8)]
PosInt = Annotated[int, BeforeValidator(_no_bool), Field(gt=0)]
Seconds = Annotated[float, BeforeValidator(_no_bool), Field(gt=0, le=3600)]
Retries = Annotated[int, BeforeValidator(_no_bool), Field(ge=0, le=10)]
EnvName = Annotated[str, AfterValidator(_env_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Defaults(_Strict):
    """Settings every model entry inherits unless it sets its own."""

    timeout_s: Seconds = Field(default=30.0, description="Seconds one attempt may take before it counts as a timeout.")
    max_retries: Retries = Field(default=2, description="Retries of the same model after a 429 or 5xx (0 = none).")
    max_output_tokens: PosInt = Field(default=1024, description="Output tokens requested at most per call.")
    retry_backoff_s: Annotated[float, BeforeValidator(_no_bool), Field(ge=0, le=60)] = Field(
        default=0.5, description="First backoff between retries; doubles each time, capped at 8 s."
    )


class CacheSettings(_Strict):
    """Caching of identical deterministic calls (temperature 0, same model, messages, tools)."""

    enabled: bool = True
    ttl_hours: Annotated[float, BeforeValidator(_no_bool), Field(gt=0)] = 168.0


class ModelEntry(_Strict):
    """One tier alias: which litellm model it is, what it costs, how to reach it."""

    model: Annotated[str, AfterValidator(_model_string)] = Field(
        description="litellm model string, provider/model (offline/... is the offline stand-in)."
    )
    description: str | None = None
    input_usd_per_1k: Price = Field(description="USD per 1,000 input (prompt) tokens.")
    output_usd_per_1k: Price = Field(description="USD per 1,000 output (completion) tokens.")
    max_output_tokens: PosInt | None = Field(default=None, description="Output tokens requested at most per call.")
    context_window: PosInt | None = Field(default=None, description="Input tokens the model accepts (informational).")
    timeout_s: Seconds | None = None
    max_retries: Retries | None = None
    api_base: str | None = Field(default=None, description="Base URL (self-hosted, proxies, the scripted test server).")
    api_base_env: EnvName | None = Field(default=None, description="Environment variable holding the base URL.")
    api_key_env: EnvName | None = Field(
        default=None,
        description="Environment variable holding the API key, when not the provider's standard one (OPENAI_API_KEY, …).",
    )
    params: dict[str, Annotated[Any, AfterValidator(_plain)]] = Field(
        default_factory=dict,
        description="Extra litellm arguments, e.g. api_version (Azure) or aws_region_name (Bedrock).",
    )

    @property
    def offline(self) -> bool:
        """Whether this is the offline stand-in (no provider behind it)."""
        return self.model.startswith(OFFLINE_PROVIDER + "/")


class Catalog(_Strict):
    """The whole catalog file."""

    version: PosInt = 1
    defaults: Defaults = Field(default_factory=Defaults)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    models: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]*$")], ModelEntry] = Field(min_length=1)


class ResolvedModel(BaseModel):
    """A catalog entry with the defaults applied: what one call uses."""

    model_config = ConfigDict(frozen=True)

    alias: str
    model: str
    input_usd_per_1k: Decimal
    output_usd_per_1k: Decimal
    max_output_tokens: int
    timeout_s: float
    max_retries: int
    retry_backoff_s: float
    api_base: str | None
    api_key_env: str | None
    params: dict[str, Any]
    offline: bool

    def cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        """The catalog price of a call, in USD."""
        return (
            Decimal(input_tokens) * self.input_usd_per_1k + Decimal(output_tokens) * self.output_usd_per_1k
        ) / Decimal(1000)

    def litellm_kwargs(self) -> dict[str, Any]:
        """Connection arguments for ``litellm.completion`` (key read from the environment now)."""
        kwargs: dict[str, Any] = dict(self.params)
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise CatalogError(
                    f"model {self.alias} ({self.model}) needs an API key in ${self.api_key_env}, which is not set",
                    hint=f"export {self.api_key_env}=… or point the tier at the offline stand-in in the model catalog",
                )
            kwargs["api_key"] = key
        return kwargs


class LoadedCatalog:
    """A validated catalog and where it came from."""

    def __init__(self, catalog: Catalog, source: str):
        self.catalog = catalog
        self.source = source
        self._resolved: dict[str, ResolvedModel] = {}

    def __repr__(self) -> str:
        return f"<LoadedCatalog {self.source} ({len(self.catalog.models)} models)>"

    @property
    def cache(self) -> CacheSettings:
        return self.catalog.cache

    def aliases(self) -> tuple[str, ...]:
        return tuple(self.catalog.models)

    def resolve(self, alias: str) -> ResolvedModel:
        """The model behind ``alias``; a ``CatalogError`` naming the file when there is none."""
        resolved = self._resolved.get(alias)
        if resolved is not None:
            return resolved
        entry = self.catalog.models.get(alias)
        if entry is None:
            raise CatalogError(
                f"{self.source}: models.{alias}: no such model alias in the catalog "
                f"(known: {', '.join(sorted(self.catalog.models))})",
                hint="add the alias to the model catalog or change the envelope's models: section",
                details={"file": self.source, "alias": alias},
            )
        defaults = self.catalog.defaults
        api_base = entry.api_base
        if entry.api_base_env:
            api_base = os.environ.get(entry.api_base_env) or api_base
        resolved = ResolvedModel(
            alias=alias,
            model=entry.model,
            input_usd_per_1k=entry.input_usd_per_1k,
            output_usd_per_1k=entry.output_usd_per_1k,
            max_output_tokens=entry.max_output_tokens or defaults.max_output_tokens,
            timeout_s=entry.timeout_s if entry.timeout_s is not None else defaults.timeout_s,
            max_retries=entry.max_retries if entry.max_retries is not None else defaults.max_retries,
            retry_backoff_s=defaults.retry_backoff_s,
            api_base=api_base,
            api_key_env=entry.api_key_env,
            params=dict(entry.params),
            offline=entry.offline,
        )
        if not entry.api_base_env:
            self._resolved[alias] = resolved  # an env-dependent base is read at each call
        return resolved


def catalog_path() -> Path:
    """``$GOVERNED_AGENTS_MODEL_CATALOG``, else ``models.yaml`` in the policy directory."""
    configured = os.environ.get(CATALOG_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return config.policy_dir() / CATALOG_FILE


def _problems(source: str, root: Any, exc: ValidationError) -> list[str]:
    from governed_agents.envelope.loader import _format_path, _node_for

    out = []
    index: dict[int, dict] = {}
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        # dict keys validated by a pattern carry a "[key]" marker in the location.
        loc = tuple(part for part in loc if part != "[key]")
        node = _node_for(root, loc, index)
        where = f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"
        message = error["msg"]
        if error["type"] == "missing":
            message = "required field is missing"
        elif error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"].startswith("value_error"):
            message = message.removeprefix("Value error, ")
        out.append(f"{where}: {_format_path(loc)}: {message}")
    return out


def load_catalog_text(text: str, source: str = "<model catalog>") -> LoadedCatalog:
    """Validate catalog YAML ``text``; every problem in one ``CatalogError``."""
    from governed_agents.envelope.loader import _parse

    try:
        root, data = _parse(text, source)
    except PolicyError as exc:
        raise CatalogError(exc.message, hint=_HINT, details=exc.details) from None
    try:
        catalog = Catalog.model_validate(data)
    except ValidationError as exc:
        problems = _problems(source, root, exc)
        raise CatalogError("\n".join(problems), hint=_HINT, details={"file": source, "errors": problems}) from None
    return LoadedCatalog(catalog, source)


_loaded: dict[tuple[str, int, int], LoadedCatalog] = {}


def load_catalog(path: str | Path | None = None) -> LoadedCatalog:
    """The catalog at ``path`` (default ``catalog_path()``), re-read when the file changes."""
    file = Path(path) if path is not None else catalog_path()
    source = str(file)
    try:
        stat = file.stat()
    except OSError:
        raise CatalogError(
            f"{source}: no model catalog here",
            hint=f"create it (see docs/routing.md) or set ${CATALOG_ENV}",
            details={"file": source},
        ) from None
    key = (source, stat.st_mtime_ns, stat.st_size)
    loaded = _loaded.get(key)
    if loaded is None:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{source}: cannot read the model catalog: {exc}", hint=_HINT) from None
        loaded = load_catalog_text(text, source)
        if len(_loaded) >= 16:
            _loaded.clear()
        _loaded[key] = loaded
    return loaded


__all__ = [
    "CATALOG_ENV",
    "Catalog",
    "CatalogError",
    "LoadedCatalog",
    "ModelEntry",
    "ResolvedModel",
    "catalog_path",
    "load_catalog",
    "load_catalog_text",
]
