"""Structured JSON logs: one JSON object per line, with the governance context on every line.

The context (``trace_id``, ``workflow``, ``run_id``, ``envelope_digest``) lives in
``contextvars``: code that runs a governed task binds it once
(``with bind(trace_id=..., workflow=...)``) and every log record emitted inside,
by any logger, carries it. Enabled by ``GOVERNED_AGENTS_LOG_FORMAT=json`` (the
CLI and Dagster steps call ``configure_from_env()``); otherwise logs are untouched.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import json
import logging
import os
from typing import Any, Iterator

#: The governance fields every JSON line carries (``null`` when not bound).
CONTEXT_FIELDS = ("trace_id", "workflow", "run_id", "envelope_digest")
ENV_FORMAT = "GOVERNED_AGENTS_LOG_FORMAT"
ENV_LEVEL = "GOVERNED_AGENTS_LOG_LEVEL"

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("governed_agents_log_context", default={})


def current() -> dict[str, Any]:
    """The bound governance context (every field of ``CONTEXT_FIELDS``, ``None`` when unbound)."""
    bound = _context.get()
    return {name: bound.get(name) for name in CONTEXT_FIELDS}


@contextlib.contextmanager
def bind(**fields: Any) -> Iterator[dict[str, Any]]:
    """Bind governance fields for the duration of the block (nested binds add to the outer ones)."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown log context field(s) {sorted(unknown)}: use {', '.join(CONTEXT_FIELDS)}")
    merged = {**_context.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield merged
    finally:
        _context.reset(token)


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON: time, level, logger, message, the governance
    context, and any ``extra={...}`` fields that are JSON-serialisable."""

    _STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _dt.datetime.fromtimestamp(record.created, _dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **current(),
        }
        for key, value in vars(record).items():
            if key in self._STANDARD or key.startswith("_"):
                continue
            line[key] = value if key in CONTEXT_FIELDS or _jsonable(value) else repr(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str, sort_keys=False)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def enabled() -> bool:
    return os.environ.get(ENV_FORMAT, "").strip().lower() == "json"


def configure(stream=None, level: str | int | None = None) -> logging.Handler:
    """Send the ``governed_agents`` loggers to ``stream`` (stderr) as JSON lines; returns the handler.

    Idempotent: a second call replaces the handler it installed before.
    """
    logger = logging.getLogger("governed_agents")
    for handler in list(logger.handlers):
        if getattr(handler, "_governed_agents_json", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler._governed_agents_json = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level or os.environ.get(ENV_LEVEL, "INFO").upper())
    logger.propagate = False
    return handler


def configure_from_env() -> logging.Handler | None:
    """``configure()`` when ``GOVERNED_AGENTS_LOG_FORMAT=json``; otherwise nothing."""
    return configure() if enabled() else None


__all__ = ["CONTEXT_FIELDS", "JsonFormatter", "bind", "configure", "configure_from_env", "current", "enabled"]
