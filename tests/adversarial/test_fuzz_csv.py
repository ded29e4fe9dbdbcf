"""Fuzzing CSV imports with hostile content: huge fields, formula injection, BOMs and
mixed line ends, duplicate or reordered headers, NULs, very wide rows.

Every import loads or is refused with ``CsvRefused`` (naming file and problem)
and a refusal changes nothing (``tests.test_erp_csv_fuzz.attempt``).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governed_agents.erp.csv_contract import CONTRACT, INVOICE_COLUMNS
from tests.adversarial._config import scaled
from tests.test_erp_csv_fuzz import attempt

FUZZ = settings(max_examples=scaled(80, 800), deadline=None, suppress_health_check=[HealthCheck.too_slow])

hostile_cell = st.one_of(
    st.sampled_from(["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\ufeffEUR", "\x00", "\r", "\n\n",
                     '"', '""', "a,b", "1e400", "-0", "NaN", "９９.５０", "\u202e0001", "\u200bV001"]),
    st.text(max_size=30),
    st.integers(min_value=0, max_value=200_000).map(lambda n: "x" * n),
)


def _row(values) -> str:
    return ",".join('"' + str(v).replace('"', '""') + '"' for v in values)


@FUZZ
@given(rows=st.lists(st.lists(hostile_cell, min_size=len(INVOICE_COLUMNS), max_size=len(INVOICE_COLUMNS) + 3),
                     min_size=1, max_size=4),
       bom=st.booleans(), newline=st.sampled_from(["\n", "\r\n", "\r"]))
def test_hostile_invoice_rows(rows, bom, newline):
    text = newline.join([",".join(INVOICE_COLUMNS)] + [_row(r) for r in rows]) + newline
    data = text.encode("utf-8", "surrogatepass")
    attempt({"invoices.csv": (b"\xef\xbb\xbf" if bom else b"") + data})


@FUZZ
@given(name=st.sampled_from(sorted(CONTRACT)), data=st.data())
def test_shuffled_duplicated_or_missing_headers(name, data):
    columns = list(CONTRACT[name])
    header = data.draw(st.lists(st.sampled_from(columns + ["extra", "", "Invoice_ID"]), max_size=len(columns) + 2))
    body = data.draw(st.lists(st.lists(hostile_cell, min_size=len(header), max_size=len(header)), max_size=3))
    text = "\n".join([",".join(header)] + [_row(r) for r in body]) + "\n"
    attempt({name: text.encode("utf-8", "surrogatepass")})
