"""The funnel's reports: aggregate SQL over indexed columns, one module per report.

Each report's ``build(filters)`` returns a :class:`Report`: a table (columns and rows of plain
values, which the CSV download writes as they are), a chart (bars) and notes. The page and the
CSV are drawn from the same object, so they always agree.
"""
