"""The self-contained HTML report: one file, inline CSS and SVG, no network request of any kind."""

from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup

from auditor.report import Report, facts, spell, svg

_TEMPLATES = Path(__file__).resolve().parent / "templates"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(spell=spell, facts=facts)
    return env


def render(report: Report) -> str:
    names = {j: report.jurisdiction_name(j) for j in report.picture.jurisdictions}
    picture = Markup(svg.render(report.picture, report.t, names))  # built from escaped parts in svg.py
    return environment().get_template("report.html.j2").render(r=report, t=report.t, picture=picture)
