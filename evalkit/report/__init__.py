"""The HTML report: every table and figure of a set of tasks on one page (``evalkit report``).

:func:`build_report` gathers what ``evalkit epic`` saved next to each dataset, draws the figures
of :mod:`evalkit.plots` (rewards from the embedding cache) and writes a folder with
``index.html`` (Jinja2 template ``templates/report.html.j2``), ``figures/`` (PNG and SVG) and
``datasets/`` (contact sheets), linked relatively so that it can be zipped and shared.
"""

from evalkit.report.builder import build_report, gather_report, render_report
from evalkit.report.content import ReportContent

__all__ = ["ReportContent", "build_report", "gather_report", "render_report"]
