"""Batch-level data quality for invoice lines, validated with great-expectations 1.x.

Two layers, on purpose:

- this module judges a *batch*: if too many lines are broken (or a required
  column is empty), the batch is refused and nothing downstream runs — the
  ``invoice_data_quality`` asset check is blocking;
- a few broken lines in an otherwise sound batch pass here and become
  per-invoice ``data_quality`` exceptions in reconciliation, where a person
  sees them.

``mostly`` (default 0.8, envelope ``parameters.extra.data_quality_mostly``) is
the share of lines each expectation must hold for: a demo batch of a few
dozen lines carries several deliberate exceptions, which must reach people as
exceptions rather than stop the batch. great-expectations is
imported on first use only (it costs seconds), once per process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

REQUIRED_COLUMNS = ("invoice_id", "vendor_tax_id", "invoice_number", "invoice_date", "currency",
                    "line_no", "quantity", "unit_price", "line_total")


@dataclass(frozen=True)
class QualityReport:
    passed: bool
    lines: int
    mostly: float
    expectations: list[dict] = field(default_factory=list)
    statistics: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> list[dict]:
        return [e for e in self.expectations if not e["success"]]

    def summary(self) -> str:
        if self.passed:
            return f"{self.lines} lines: all {len(self.expectations)} expectations hold (mostly={self.mostly})"
        names = ", ".join(f"{e['expectation']}({e['column']})" for e in self.failed)
        return f"{self.lines} lines: {len(self.failed)} expectation(s) failed: {names}"


@lru_cache(maxsize=1)
def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # pragma: no cover - cosmetic only
        pass
    source = context.data_sources.add_pandas("governed_agents")
    asset = source.add_dataframe_asset("invoice_lines")
    return gx, context, asset.add_batch_definition_whole_dataframe("batch")


def _suite(gx, context, mostly: float):
    name = f"invoice_lines_{mostly}"
    try:
        return context.suites.get(name)
    except Exception:
        pass
    e = gx.expectations
    suite = gx.ExpectationSuite(name=name)
    for column in REQUIRED_COLUMNS:
        suite.add_expectation(e.ExpectColumnToExist(column=column))
        suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column=column, mostly=mostly))
    suite.add_expectation(e.ExpectColumnValuesToBeBetween(column="quantity_num", min_value=0, strict_min=True,
                                                          mostly=mostly))
    suite.add_expectation(e.ExpectColumnValuesToBeBetween(column="unit_price_num", min_value=0, mostly=mostly))
    suite.add_expectation(e.ExpectColumnValuesToMatchRegex(column="currency", regex=r"^[A-Z]{3}$", mostly=mostly))
    suite.add_expectation(e.ExpectColumnValuesToMatchRegex(column="invoice_date", regex=r"^\d{4}-\d{2}-\d{2}$",
                                                           mostly=mostly))
    return context.suites.add(suite)


def validate_invoice_lines(frame, *, mostly: float = 0.8) -> QualityReport:
    """Validate a DataFrame of raw invoice lines (strings as loaded) with great-expectations."""
    import pandas as pd

    gx, context, batch_definition = _context()
    frame = frame.copy()
    for column in REQUIRED_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].replace("", None)
    for column in ("quantity", "unit_price"):
        frame[f"{column}_num"] = (pd.to_numeric(frame[column], errors="coerce")
                                  if column in frame.columns else pd.Series(dtype=float))
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        _suite(gx, context, mostly))
    data = result.to_json_dict()
    expectations = []
    for r in data["results"]:
        cfg = r["expectation_config"]
        expectations.append({
            "expectation": cfg["type"],
            "column": cfg["kwargs"].get("column"),
            "success": bool(r["success"]),
            "unexpected_count": r.get("result", {}).get("unexpected_count"),
            "unexpected_percent": r.get("result", {}).get("unexpected_percent"),
        })
    return QualityReport(passed=bool(data["success"]) and len(frame) > 0, lines=len(frame), mostly=mostly,
                         expectations=expectations, statistics=data["statistics"])
