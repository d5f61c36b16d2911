"""The supervision report: one plan, as of one date, item by item (`hzwatch report`, and the site's
/plan/{id}/report.html and .xlsx).

Enters: the database (reads in db/report.py over the story-level views). Leaves: a printable HTML
page (report.html, a Jinja template) and an .xlsx workbook (openpyxl), Chinese throughout.
"""

from monitor.reporting.build import Report, ReportError, build_report
from monitor.reporting.render import render_html, render_xlsx

__all__ = ["Report", "ReportError", "build_report", "render_html", "render_xlsx"]
