"""A report as CSV, safe to open in a spreadsheet.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read
as a formula by Excel, LibreOffice or Google Sheets (OWASP, "CSV Injection"); such text cells
get a leading apostrophe. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from rapport_funnel.reports.base import Report

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(DANGEROUS) else text


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(c) for c in report.columns])
    for row in report.rows:
        writer.writerow([safe_cell(c) for c in row])
    return buffer.getvalue()
