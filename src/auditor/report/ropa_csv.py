"""The GDPR Article 30 register of processing activities as CSV: one row per processing activity (a purpose),
columns in the stable order of ``facts.ROPA_COLUMNS``, headers in the report's language, UTF-8, RFC 4180 quoting.
Multi-part cells are joined with "; "; an empty required cell is a gap, listed in the last column. A cell that a
spreadsheet would read as a formula is neutralised with a leading ' (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

from auditor.escape import csv_cell
from auditor.report import Report, facts, spell


def render(r: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([csv_cell(r.t(f"ropa.col.{col}")) for col in facts.ROPA_COLUMNS])
    for row in r.ropa:
        # Inventory text a spreadsheet would run as a formula (=, +, -, @, tab, CR first) starts with ' (OWASP).
        writer.writerow([csv_cell(spell.ropa_cell(row, col, r.t)) for col in facts.ROPA_COLUMNS])
    return buf.getvalue()
