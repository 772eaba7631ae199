"""The HTML report of a run (``write_report``) and the listing of runs (``list_runs``)."""

from papercoder.report.render import render_report, write_report
from papercoder.report.runs import RunRow, list_runs

__all__ = ["RunRow", "list_runs", "render_report", "write_report"]
