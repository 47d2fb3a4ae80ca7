"""The DPO report: structure of the HTML for the sample inventory, self-containment, both languages complete, and the
same facts in HTML, Markdown and the Article 30 CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tests.conftest import ROOT, SAMPLE, Run, md_unescape

from auditor import pipeline
from auditor import report as dpo_report
from auditor.i18n import LANGS, Translator, catalogue, missing_keys
from auditor.policy import OVERLAYS, POLICY_PACK, load_pack, make_engine
from auditor.policy.catalogue import VERDICTS, default_policy_dir
from auditor.report import facts, svg
from auditor.report.provenance import Provenance, collect

SECTIONS = ("summary", "coverage", "findings", "flows", "transfers", "cookies", "ropa")
FIXED = Provenance("2026-01-02", "source_date_epoch", "0" * 40, False)


@pytest.fixture(scope="module")
def audited() -> pipeline.Audit:
    inv = pipeline.load([SAMPLE])
    pack = load_pack(default_policy_dir(), (POLICY_PACK, *OVERLAYS))
    return pipeline.audit(inv, pack, make_engine("embedded"))


@pytest.fixture(scope="module")
def reports(audited: pipeline.Audit) -> dict[str, dpo_report.Report]:
    return {
        lang: dpo_report.build(
            audited.inventory,
            audited.pack,
            audited.findings,
            FIXED,
            engine="embedded",
            lang=lang,
            lineage=audited.lineage,
        )
        for lang in LANGS
    }


class _Checker(HTMLParser):
    VOID = frozenset({"meta", "link", "br", "hr", "img", "input", "wbr", "col", "area", "base", "source"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.urls: list[str] = []
        self.tags: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._attrs(tag, attrs)

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name == "id" and value:
                self.ids.append(value)
            if name in ("src", "href", "xlink:href", "action", "poster", "data") and value:
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}> at {self.getpos()}")
            return
        self.stack.pop()


def _parse(text: str) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    return checker


def test_every_string_exists_in_both_languages() -> None:
    assert missing_keys() == {lang: [] for lang in LANGS}
    assert all(v.strip() for lang in LANGS for v in catalogue(lang).values())


def test_every_key_the_code_uses_exists() -> None:
    """Literal keys in the templates and renderers, and the dynamic families (areas, statuses, verdicts...)."""
    used: set[str] = set()
    sources = [*(ROOT / "src/auditor/report").rglob("*.py"), *(ROOT / "src/auditor/report/templates").glob("*.j2")]
    sources += [ROOT / "src/auditor/formats/text.py", ROOT / "src/auditor/ci.py"]
    for path in sources:
        used |= set(re.findall(r"""\bt(?:\.get)?\(\s*["']([a-z_]+(?:\.[a-z_]+)+)["']""", path.read_text("utf-8")))
    pack = load_pack(default_policy_dir(), (POLICY_PACK, *OVERLAYS))
    used |= {f"area.{c.kind}" for c in pack.clauses.values()}
    used |= {f"coverage.source.{c.source}" for c in pack.clauses.values()}
    used |= {f"coverage_status.{s}" for s in facts.STATUSES}
    used |= {
        f"area_verdict.{v}"
        for v in (
            "non_compliant",
            "to_review",
            "incomplete",
            "compliant",
            "compliant_checkable",
            "not_checkable",
            "unchecked",
        )
    }
    used |= {f"kind.{k}" for k in ("organization", "purpose", "system", "field", "partner", "consent", "flow")}
    used |= {f"verdict.{v}" for v in VERDICTS} | {f"severity.{s}" for s in ("error", "warning", "info")}
    used |= {f"ropa.col.{c}" for c in facts.ROPA_COLUMNS}
    used |= {f"meta.date_source.{s}" for s in ("source_date_epoch", "git", "clock")}
    for lang in LANGS:
        assert sorted(used - set(catalogue(lang))) == [], lang


@pytest.mark.parametrize("lang", LANGS)
def test_html_report_structure(reports: dict[str, dpo_report.Report], lang: str) -> None:
    r = reports[lang]
    text = dpo_report.render(r, "html")
    checker = _parse(text)
    assert checker.errors == []
    assert checker.stack == []  # every element closed
    for section in SECTIONS:
        assert section in checker.ids
    # Self-contained: no request of any kind leaves the file.
    assert [u for u in checker.urls if not u.startswith("#")] == []
    assert "@import" not in text
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text)
    assert checker.tags.get("script", 0) == 0 and checker.tags.get("link", 0) == 0 and checker.tags.get("img", 0) == 0
    # The flow picture: one box per system and partner, violating flows in red with a legend.
    assert checker.tags["svg"] == 1
    for sid in (*r.inventory.systems, *r.inventory.partners):
        assert f">{sid}</text>" in text
    assert f'stroke="{svg.RED}"' in text
    assert Translator(lang)("flows.violating_legend") in text
    # Every clause is listed with its French excerpt, whatever the language.
    for cid, clause in r.pack.clauses.items():
        assert f'id="clause-{cid}"' in text
        if clause.excerpt_fr:
            assert _html_escape(clause.excerpt_fr) in text
    # Every open finding is shown with its file:line.
    for f in r.findings:
        if f.status == "open":
            assert str(f.location) in text
    assert FIXED.revision in text and FIXED.date in text


def _html_escape(s: str) -> str:
    from markupsafe import escape

    return str(escape(s))


def test_french_report_is_in_french(reports: dict[str, dpo_report.Report]) -> None:
    fr = dpo_report.render(reports["fr"], "html")
    en = dpo_report.render(reports["en"], "html")
    assert '<html lang="fr">' in fr and "Registre des activités de traitement" in fr
    assert "Register of processing activities" not in fr
    assert "Register of processing activities" in en
    some = next(c for c in reports["fr"].pack.clauses.values() if c.summary_fr)
    assert _html_escape(some.summary_fr) in fr


def _md_table(md: str, heading: str) -> list[list[str]]:
    """The rows of the first table after ``heading`` (without the header and separator rows)."""
    after = md.split(heading, 1)[1]
    rows: list[list[str]] = []
    started = False
    for line in after.splitlines():
        if line.startswith("|"):
            started = True
            rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
        elif started:
            break
    return rows[2:]


def test_markdown_and_csv_carry_the_same_facts(reports: dict[str, dpo_report.Report]) -> None:
    r = reports["en"]
    t = r.t
    html = dpo_report.render(r, "html")
    md = dpo_report.render(r, "markdown")
    rows = list(csv.reader(io.StringIO(dpo_report.render(r, "ropa-csv"))))
    header, body = rows[0], rows[1:]
    assert header == [t(f"ropa.col.{c}") for c in facts.ROPA_COLUMNS]
    # Same processing activities: one per purpose, in every format.
    activities = [row[0] for row in body]
    assert activities == sorted(r.inventory.purposes)
    md_ropa = _md_table(md, t("ropa.gap_count", n=sum(1 for row in r.ropa if row.gaps)))
    md_ropa = [row for row in md_ropa if row[0].startswith("`")]
    assert [row[0].strip("`") for row in md_ropa] == activities
    html_ropa = re.findall(r'<tr>\s*<td class="id">([^<]+)</td>', html.split('id="ropa"', 1)[1])
    assert html_ropa == activities
    # Same cells: the CSV's text is the Markdown's, part for part.
    cols = [c for c in facts.ROPA_COLUMNS if c not in ("controller", "dpo", "activity_name")]
    for csv_row, md_row in zip(body, md_ropa, strict=True):
        for col, md_cell in zip(cols[1:], md_row[1:], strict=True):
            csv_cell = csv_row[facts.ROPA_COLUMNS.index(col)]
            if csv_cell:
                assert md_unescape(md_cell.replace("<br>", "; ").replace("**", "")) == csv_cell, col
    # Gaps: the same activities have gaps everywhere, and the planted ones are there.
    gaps = {row[0]: row[-1] for row in body if row[-1]}
    assert t("ropa.gap_count", n=len(gaps)) in md and t("ropa.gap_count", n=len(gaps)) in html
    # Same transfers.
    md_transfers = [row[0].strip("`") for row in _md_table(md, f"## 5. {t('section.transfers')}")]
    html_transfers = re.findall(
        r'<tr><td class="id">([^<]+)</td>', html.split('id="transfers"', 1)[1].split("</table>")[0]
    )
    assert md_transfers == html_transfers == [tr.flow for tr in r.transfers]
    # Same counts.
    counts = r.open_counts
    md_counts = [row[1] for row in _md_table(md, f"## 1. {t('section.summary')}")[:3]]
    assert md_counts == [str(counts["error"]), str(counts["warning"]), str(counts["info"])]
    for sev in ("error", "warning", "info"):
        assert f'<div class="tile {sev}"><div class="n">{counts[sev]}</div>' in html


def test_sample_report_shows_the_planted_facts(reports: dict[str, dpo_report.Report]) -> None:
    r = reports["en"]
    transfers = {tr.flow: tr for tr in r.transfers}
    # G8: EU -> CN under SCCs without a transfer impact assessment.
    g8 = transfers["account-to-warehouse"]
    assert (g8.source_jurisdiction, g8.destination_jurisdiction, g8.mechanism, g8.tia) == ("EU", "CN", "scc", "")
    assert "EU" in g8.subject_jurisdictions
    # Cookies: the advertising cookie fires before consent; the fraud cookie is exempt.
    cookies = {row.cookie: row for row in r.cookies}
    assert cookies["_adp"].consent_first == "no"
    assert cookies["__pr_fraud"].consent_first == "exempt"
    assert cookies["_il"].max_age_days == 730
    # G12 and G18: indefinite retention and unstated retention are gaps of the register.
    rows = {row.activity: row for row in r.ropa}
    assert any("erasure" in row.gaps for row in rows.values())
    erasure = " ".join(p for row in r.ropa for p in row.cells["erasure"].parts)
    assert "warehouse=indefinite" in erasure
    assert any("reverse-etl" in row.cells["erasure"].missing for row in r.ropa)
    # Every flow and every node is on the picture.
    drawn = {f for e in r.picture.edges for f in e.flows}
    assert drawn == set(r.inventory.flows)


def test_flow_picture_layout_has_no_overlapping_boxes(reports: dict[str, dpo_report.Report]) -> None:
    pos, bands, width, height = svg.layout(reports["en"].picture)
    boxes = sorted(pos.items())
    for i, (a, (ax, ay)) in enumerate(boxes):
        assert ax >= 0 and ax + svg.NODE_W <= width and ay >= 0 and ay + svg.NODE_H <= height
        for b, (bx, by) in boxes[i + 1 :]:
            apart = ax + svg.NODE_W <= bx or bx + svg.NODE_W <= ax or ay + svg.NODE_H <= by or by + svg.NODE_H <= ay
            assert apart, (a, b)
    # Each node lies inside the band of its jurisdiction.
    band_of = {j: (y, y + h) for j, y, h in bands}
    for n in reports["en"].picture.nodes:
        top, bottom = band_of[n.jurisdiction]
        assert top <= pos[n.id][1] and pos[n.id][1] + svg.NODE_H <= bottom


def test_layers_terminate_on_cycles() -> None:
    import networkx as nx

    g = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "b"), ("c", "d")])
    level = svg.layers(g)
    assert level["a"] < level["b"] == level["c"] < level["d"]


def test_date_is_reproducible(tmp_path: Path) -> None:
    assert collect([tmp_path], {"SOURCE_DATE_EPOCH": "1700000000"}).date == "2023-11-14"
    assert collect([tmp_path], {"SOURCE_DATE_EPOCH": "1700000000"}).date_source == "source_date_epoch"
    outside = collect([tmp_path], {})
    assert outside.revision == "" and outside.date_source in ("git", "clock")


def test_report_cli_writes_french_html(auditor: Callable[..., Run], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    run = auditor("report", "inventory", "--format", "html", "--output", str(out), "--lang", "fr")
    assert run.code == 0, run.err
    text = out.read_text("utf-8")
    assert '<html lang="fr">' in text and "<svg" in text
    bad = auditor("report", "inventory", "--format", "pdf")
    assert bad.code == 2


def test_check_text_output_in_french(auditor: Callable[..., Run], audited: pipeline.Audit) -> None:
    from auditor.formats import text as text_format

    fr = auditor("check", "inventory", "--lang", "fr", "--no-color", "--fail-on", "never")
    assert fr.code == 0, fr.err
    # French typography: a no-break space before the colon and the semicolon.
    assert "\u00a0; correction\u00a0: " in fr.out and "règle " in fr.out and "constat" in fr.out
    assert "; fix: " not in fr.out and "; correction: " not in fr.out
    assert "contrôle\u00a0: réussi (--fail-on never)" in fr.out
    en = text_format.render(audited.findings, audited.pack, files=len(audited.inventory.files))
    assert "; fix: " in en and "erreur" not in en and " files checked" in en
    # Clause excerpts stay in French in both languages.
    cited = next(c for c in audited.pack.clauses.values() if c.id == audited.findings[0].clause_id)
    assert cited.excerpt_fr[:40] in en and cited.excerpt_fr[:40] in fr.out


def test_waived_findings_show_justification_owner_and_expiry(auditor: Callable[..., Run], tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        "  - rule: creality.purposes.undeclared_purpose_field\n"
        "    subject: field/ml-platform.labelled_frames\n"
        "    justification: Covered by the R&D consent campaign, ticket PRIV-42\n"
        "    owner: dpo@creality.example\n"
        "    expires: 2099-12-31\n",
        encoding="utf-8",
    )
    out = tmp_path / "report.md"
    run = auditor("report", "inventory", "--format", "markdown", "--waivers", str(waivers), "--output", str(out))
    assert run.code == 0, run.err
    text = out.read_text("utf-8")
    waived = md_unescape(text.split("### Waived findings", 1)[1].split("\n## ", 1)[0])
    assert "ml-platform.labelled_frames" in waived
    assert "Covered by the R&D consent campaign, ticket PRIV-42" in waived
    assert "dpo@creality.example" in waived and "2099-12-31" in waived
    assert "| Waived | 1 |" in text


def test_red_flows_are_those_with_open_findings(reports: dict[str, dpo_report.Report]) -> None:
    r = reports["en"]
    expected = {f.subject_id for f in r.findings if f.status == "open" and f.subject_kind == "flow"}
    red = {fid for e in r.picture.edges for fid in e.violating}
    assert red == expected == set(r.violating)
    # G7: the advertiser hop that completes the hashed-email chain is red; the picture has clean flows too.
    edge = next(e for e in r.picture.edges if (e.source, e.target) == ("reverse-etl", "adpixel"))
    assert edge.violating
    assert any(not e.violating for e in r.picture.edges)
    md = dpo_report.render(r, "markdown")
    assert "linkStyle" in md and "```mermaid\nflowchart LR" in md
