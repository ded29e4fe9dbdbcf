"""Optional OpenTelemetry spans for governed tasks, tool calls, gate decisions and model calls.

Off by default. On when an OTLP/HTTP endpoint is configured:
``GOVERNED_AGENTS_OTLP_ENDPOINT`` or the standard ``OTEL_EXPORTER_OTLP_ENDPOINT``
(the base URL; spans go to ``<base>/v1/traces``). When neither is set nothing
is imported and nothing waits on the network: ``span()`` is a no-op context
manager and the decorators call straight through.

Spans share the governance trace id: a root span started for a task whose
``trace_id`` is 32 hex digits (every ``TaskContext.trace_id``) gets exactly that
OpenTelemetry trace id, so a trace in an OTLP backend and
``governed-agents trace TRACE_ID`` are the same story.

Model-call spans follow the GenAI semantic conventions (``gen_ai.operation.name``,
``gen_ai.system``, ``gen_ai.request.model``, ``gen_ai.response.model``,
``gen_ai.usage.input_tokens``, ``gen_ai.usage.output_tokens``); governance
attributes are prefixed ``governed_agents.``. Export is batched in a background
thread (``flush()`` forces it); an unreachable collector costs dropped spans,
never a failed task.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import re
import threading
from typing import Any, Callable, Iterator

ENV_ENDPOINT = "GOVERNED_AGENTS_OTLP_ENDPOINT"
ENV_STANDARD = "OTEL_EXPORTER_OTLP_ENDPOINT"
SERVICE_NAME = "governed-agents"

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_wanted_trace: contextvars.ContextVar[int | None] = contextvars.ContextVar("governed_agents_otel_trace", default=None)
_lock = threading.Lock()
_providers: dict[str, Any] = {}


def endpoint() -> str | None:
    """The configured OTLP/HTTP base URL, or ``None`` (export off)."""
    value = os.environ.get(ENV_ENDPOINT) or os.environ.get(ENV_STANDARD)
    return value.strip().rstrip("/") if value and value.strip() else None


def enabled() -> bool:
    return endpoint() is not None


def _provider(base: str):
    with _lock:
        provider = _providers.get(base)
        if provider is not None:
            return provider
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

        class _GovernedIds(RandomIdGenerator):
            """Root spans take the governance trace id that ``span(trace_id=...)`` asked for."""

            def generate_trace_id(self) -> int:
                wanted = _wanted_trace.get()
                return wanted if wanted else super().generate_trace_id()

        provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}),
                                  id_generator=_GovernedIds())
        provider.add_span_processor(BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"{base}/v1/traces", timeout=5), schedule_delay_millis=500))
        _providers[base] = provider
        return provider


def _tracer():
    base = endpoint()
    return None if base is None else _provider(base).get_tracer("governed_agents")


@contextlib.contextmanager
def span(name: str, *, trace_id: str | None = None, attributes: dict[str, Any] | None = None) -> Iterator[Any]:
    """A span around the block (``None`` is yielded when export is off).

    ``trace_id``: the governance trace id; a root span takes it as its trace id.
    Attributes whose value is ``None`` are left out.
    """
    tracer = _tracer()
    if tracer is None:
        yield None
        return
    wanted = int(trace_id, 16) if trace_id and _HEX32.match(trace_id) else None
    token = _wanted_trace.set(wanted)
    try:
        attrs = {k: v for k, v in (attributes or {}).items() if v is not None}
        if trace_id:
            attrs["governed_agents.trace_id"] = trace_id
        with tracer.start_as_current_span(name, attributes=attrs) as current:
            yield current
    finally:
        _wanted_trace.reset(token)


def set_attributes(current: Any, attributes: dict[str, Any]) -> None:
    if current is not None:
        current.set_attributes({k: v for k, v in attributes.items() if v is not None})


def flush(timeout_millis: int = 10_000) -> bool:
    """Export every finished span now (tests, and the end of a CLI command)."""
    ok = True
    for provider in list(_providers.values()):
        ok = provider.force_flush(timeout_millis) and ok
    return ok


def task_span(task: Any, name: str | None = None):
    """A span for one governed task (``TaskContext``)."""
    return span(name or f"task {task.workflow}", trace_id=task.trace_id, attributes={
        "governed_agents.workflow": task.workflow, "governed_agents.task_id": task.task_id,
        "governed_agents.run_id": task.run_id, "governed_agents.envelope_digest": task.envelope.digest,
        "governed_agents.requested_by": task.requested_by, "governed_agents.agent": task.agent,
    })


def traced_tool_call(call: Callable) -> Callable:
    """Wraps ``GovernedExecutor.call``: a span per tool call with the gate's decision as an event."""

    @functools.wraps(call)
    def wrapper(self, task, tool, arguments, **kwargs):
        if not enabled():
            return call(self, task, tool, arguments, **kwargs)
        with span(f"tool {tool}", trace_id=task.trace_id, attributes={
            "governed_agents.tool": tool, "governed_agents.workflow": task.workflow,
            "governed_agents.task_id": task.task_id, "governed_agents.run_id": task.run_id,
            "governed_agents.approval_request_id": kwargs.get("approval_request_id"),
        }) as current:
            result = call(self, task, tool, arguments, **kwargs)
            decision = getattr(result, "decision", None)
            if current is not None:
                current.set_attribute("governed_agents.outcome", result.outcome)
                if decision is not None:
                    current.add_event("gate.decision", {
                        "governed_agents.decision": decision.outcome,
                        "governed_agents.reasons": [r.code for r in decision.reasons],
                        "governed_agents.side_effect": decision.side_effect or "",
                    })
                    current.set_attribute("governed_agents.decision", decision.outcome)
            return result

    return wrapper


def traced_model_call(complete: Callable) -> Callable:
    """Wraps ``ModelGateway.complete``: a GenAI span per governed model call."""

    @functools.wraps(complete)
    def wrapper(self, task, tier="router", messages=None, tools=None, **kwargs):
        if not enabled():
            return complete(self, task, tier, messages, tools, **kwargs)
        requested = None
        try:
            requested = self.resolve(task.envelope, tier)
        except Exception:  # the call itself reports a bad tier or catalog
            pass
        model_name = getattr(requested, "model", None)
        with span(f"chat {model_name or tier}", trace_id=task.trace_id, attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.system": _system(model_name),
            "gen_ai.request.model": model_name,
            "gen_ai.request.temperature": kwargs.get("temperature", 0.0),
            "gen_ai.request.max_tokens": kwargs.get("max_tokens"),
            "governed_agents.tier": tier, "governed_agents.workflow": task.workflow,
            "governed_agents.task_id": task.task_id, "governed_agents.purpose": kwargs.get("purpose"),
        }) as current:
            result = complete(self, task, tier, messages, tools, **kwargs)
            set_attributes(current, {
                "gen_ai.response.model": result.model,
                "gen_ai.response.id": result.call_id,
                "gen_ai.response.finish_reasons": [result.finish_reason] if result.finish_reason else None,
                "gen_ai.usage.input_tokens": result.input_tokens,
                "gen_ai.usage.output_tokens": result.output_tokens,
                "governed_agents.cost_usd": str(result.cost_usd),
                "governed_agents.served_tier": result.tier,
                "governed_agents.cached": result.cached,
                "governed_agents.offline_model": result.offline_model,
            })
            return result

    return wrapper


def _system(model: str | None) -> str | None:
    """``gen_ai.system`` from a litellm model name (``openai/gpt-4o`` → ``openai``)."""
    if not model:
        return None
    return model.split("/", 1)[0] if "/" in model else "openai"


__all__ = ["enabled", "endpoint", "flush", "set_attributes", "span", "task_span", "traced_model_call",
           "traced_tool_call"]
