"""Observability: structured JSON logs (``logging``) and optional OpenTelemetry spans (``otel``).

Both are off the hot path when not configured: JSON logs are a formatter on the
process's handlers, enabled by ``GOVERNED_AGENTS_LOG_FORMAT=json``; spans are
exported only when an OTLP endpoint is set, and OpenTelemetry is imported only then.
"""
