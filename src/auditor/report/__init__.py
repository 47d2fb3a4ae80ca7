"""The DPO report: HTML (self-contained), Markdown and the Article 30 register as CSV, in English or French.

``build`` gathers the facts once (``facts.py``); the three renderers spell the same facts, so the Markdown and
CSV forms carry exactly what the HTML shows. Renderers return text; the CLI writes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from auditor import __version__
from auditor.findings import Finding, counts
from auditor.i18n import Translator
from auditor.lineage import Lineage
from auditor.localize import Localizer
from auditor.model import Inventory
from auditor.policy.catalogue import Clause, PolicyPack
from auditor.report import facts
from auditor.report.provenance import Provenance

FORMATS = ("html", "markdown", "ropa-csv")


@dataclass(frozen=True)
class Report:
    lang: str
    inventory: Inventory
    pack: PolicyPack
    findings: tuple[Finding, ...]
    provenance: Provenance
    engine: str
    coverage: tuple[facts.ClauseCoverage, ...]
    areas: tuple[facts.AreaSummary, ...]
    picture: facts.FlowPicture
    lineage: Lineage
    violating: dict[str, list[Finding]]
    transfers: tuple[facts.Transfer, ...]
    cookies: tuple[facts.CookieRow, ...]
    ropa: tuple[facts.RopaRow, ...]
    version: str = __version__

    @property
    def t(self) -> Translator:
        return Translator(self.lang)

    @property
    def open_counts(self) -> dict[str, int]:
        return counts(self.findings)

    @property
    def waived(self) -> list[Finding]:
        return [f for f in self.findings if f.status != "open"]

    @property
    def org_name(self) -> str:
        org = self.inventory.organization
        return str(org.get("name")) if org is not None and org.get("name") else "—"

    @cached_property
    def loc(self) -> Localizer:
        return Localizer(self.pack, self.lang)

    def message(self, f: Finding) -> str:
        """The finding's message in the report's language (rendered from the rule's format and arguments)."""
        return self.loc.message(f)

    def title(self, f: Finding) -> str:
        return self.loc.title(f)

    def clause_reason(self, clause: Clause) -> str:
        """Why a clause cannot be checked, in the report's language."""
        return (clause.reason_fr or clause.reason) if self.lang == "fr" else clause.reason

    def clause_summary(self, clause: Clause) -> str:
        return (clause.summary_fr or clause.summary_en) if self.lang == "fr" else clause.summary_en

    def remediation(self, f: Finding) -> str:
        """The rule's fix for this finding, in the report's language."""
        return self.loc.remediation(f)

    def pack_label(self) -> str:
        return self.t(
            "meta.pack_value",
            packs=" + ".join(self.pack.packs),
            rules=len(self.pack.rules),
            digest=facts.pack_digest(self.pack),
        )

    def jurisdiction_name(self, code: str) -> str:
        return self.t.get(f"jurisdiction.{code}", code)


def build(
    inv: Inventory,
    pack: PolicyPack,
    findings: Sequence[Finding],
    provenance: Provenance,
    *,
    engine: str,
    lang: str = "en",
    lineage: Lineage,
) -> Report:
    """Gather the report's facts once, from the audit's findings and lineage (``pipeline.Audit``)."""
    lin = lineage
    cov = facts.coverage(pack, findings)
    picture = facts.flow_graph(lin, findings)
    transfers = facts.transfers(lin, findings)
    return Report(
        lang=lang,
        inventory=inv,
        pack=pack,
        findings=tuple(findings),
        provenance=provenance,
        engine=engine,
        coverage=tuple(cov),
        areas=tuple(facts.area_summaries(cov)),
        picture=picture,
        lineage=lin,
        violating=facts.violating_flows(inv, findings),
        transfers=tuple(transfers),
        cookies=tuple(facts.cookie_partners(inv, findings)),
        ropa=tuple(facts.ropa(inv, transfers)),
    )


def render(report: Report, fmt: str) -> str:
    if fmt == "html":
        from auditor.report.html import render as render_html

        return render_html(report)
    if fmt == "markdown":
        from auditor.report.markdown import render as render_markdown

        return render_markdown(report)
    if fmt == "ropa-csv":
        from auditor.report.ropa_csv import render as render_csv

        return render_csv(report)
    raise ValueError(fmt)
