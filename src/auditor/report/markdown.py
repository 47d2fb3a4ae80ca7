"""The DPO report as GitHub-flavoured Markdown: the same sections and facts as the HTML, the flow picture as
Mermaid."""

from __future__ import annotations

from auditor.escape import md_code, md_text
from auditor.report import Report, facts, mermaid, spell


def _cell(text: object) -> str:
    """A table cell: already Markdown (every inventory or pack string is escaped where it is inserted, with
    :func:`_t` or :func:`_c`), joined onto one line."""
    return " ".join(str(text).split())


def _t(text: object) -> str:
    """Inventory (or pack) text as literal Markdown: no HTML, image, link, emphasis or cell break can form."""
    return md_text(str(text))


def _c(text: object) -> str:
    """Inventory text as a code span (ids, file:line, cookie names): literal, backticks included."""
    return md_code(str(text), table=True)


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _table(head: list[str], rows: list[list[object]]) -> list[str]:
    return [_row(list(head)), "|" + "---|" * len(head), *(_row(r) for r in rows), ""]


def render(r: Report) -> str:
    t = r.t
    c = r.open_counts
    out: list[str] = [
        f"# {t('report.title')}",
        "",
        f"{t('report.subtitle', org=_t(r.org_name))} · {r.provenance.date}",
        "",
    ]
    # 1. summary
    out += [f"## 1. {t('section.summary')}", ""]
    out += [
        t(
            "summary.intro",
            files=len(r.inventory.files),
            systems=len(r.inventory.systems),
            partners=len(r.inventory.partners),
            flows=len(r.inventory.flows),
            clauses=len(r.coverage),
        ),
        "",
    ]
    compliant = sum(1 for cv in r.coverage if cv.status == "compliant")
    out += _table(
        ["", ""],
        [
            [f"{t('summary.open_findings')} · {t('severity.error')}", c["error"]],
            [f"{t('summary.open_findings')} · {t('severity.warning')}", c["warning"]],
            [f"{t('summary.open_findings')} · {t('severity.info')}", c["info"]],
            [t("summary.waived"), len(r.waived)],
            [t("summary.clauses_ok"), f"{compliant} / {len(r.coverage)}"],
        ],
    )
    out += [f"### {t('summary.by_area')}", ""]
    out += _table(
        [
            t("summary.area"),
            t("summary.clauses"),
            t("severity.error"),
            t("severity.warning"),
            t("severity.info"),
            t("summary.verdict"),
        ],
        [
            [
                t.get(f"area.{a.area}", a.area),
                a.clauses,
                a.counts["error"],
                a.counts["warning"],
                a.counts["info"],
                t(f"area_verdict.{a.verdict}"),
            ]
            for a in r.areas
        ],
    )
    p = r.provenance
    revision = _c(p.revision) + (f" ({t('meta.dirty')})" if p.dirty else "") if p.revision else t("meta.no_revision")
    out += [f"### {t('summary.provenance')}", ""]
    out += _table(
        ["", ""],
        [
            [t("meta.controller"), _t(r.org_name)],
            [t("meta.date"), f"{p.date} ({t('meta.date_source.' + p.date_source)})"],
            [t("meta.revision"), revision],
            [t("meta.engine"), r.engine],
            [t("meta.pack"), r.pack_label()],
            [t("meta.version"), r.version],
        ],
    )
    # 2. coverage
    out += [f"## 2. {t('section.coverage')}", "", t("coverage.intro"), ""]
    rows: list[list[object]] = []
    for cv in r.coverage:
        checkable = cv.status != "not_checkable"
        detail = t("coverage.rules", n=len(cv.rules)) if checkable else _t(r.clause_reason(cv.clause))
        if cv.open:
            detail += t("punct.semicolon") + " " + t("coverage.open", n=len(cv.open))
        excerpt = f"«\u00a0{_t(cv.clause.excerpt_fr)}\u00a0» — " if cv.clause.excerpt_fr else ""
        summary = _t(r.clause_summary(cv.clause))
        rows.append(
            [
                _c(cv.clause.id),
                t(f"coverage_status.{cv.status}"),
                f"*{excerpt}*{summary}" if excerpt else summary,
                detail,
            ]
        )
    out += _table([t("coverage.clause"), t("coverage.status"), t("coverage.text"), t("coverage.detail")], rows)
    # 3. findings
    out += [f"## 3. {t('section.findings')}", "", t("findings.intro"), ""]
    anything = False
    for cv in r.coverage:
        if not cv.open:
            continue
        anything = True
        src = "" if cv.clause.source == "policy" else f" [{t('coverage.source.' + cv.clause.source)}]"
        out += [f"### {md_code(cv.clause.id)}{src} — {_t(r.clause_summary(cv.clause))}", ""]
        if cv.clause.excerpt_fr:
            out += [f"> «\u00a0{_t(cv.clause.excerpt_fr)}\u00a0»", ""]
        colon = t("punct.colon")
        for f in facts.sort_findings(cv.open):
            out.append(f"- **{t('severity.' + f.severity)}** ({t('verdict.' + f.verdict)}) — {_t(r.message(f))}")
            kind = t.get("kind." + f.subject_kind, f.subject_kind)
            out.append(f"  - {t('findings.subject')}{colon} {kind} {md_code(f.subject_id)}")
            out.append(f"  - {t('findings.location')}{colon} {md_code(str(f.location))}")
            out.append(f"  - {t('findings.explanation')}{colon} {_t(r.title(f))}")
            if f.evidence:
                out.append(f"  - {t('findings.path')}{colon} {' → '.join(_t(e) for e in f.evidence)}")
            out.append(f"  - {t('findings.remediation')}{colon} {_t(r.remediation(f))}")
            out.append(f"  - {t('findings.rule')}{colon} {md_code(f.rule_id)}")
        out.append("")
    if not anything:
        out += [t("findings.none"), ""]
    out += [f"### {t('section.waived')}", ""]
    if r.waived:
        out += _table(
            [
                t("coverage.clause"),
                t("findings.subject"),
                t("findings.location"),
                t("findings.explanation"),
                t("waiver.justification"),
                t("waiver.owner"),
                t("waiver.expires"),
            ],
            [
                [
                    _t(f.clause_id),
                    f"{t.get('kind.' + f.subject_kind, f.subject_kind)} {_c(f.subject_id)}",
                    _c(f.location),
                    _t(r.message(f)),
                    _t(f.waiver.get("justification", "")),
                    _t(f.waiver.get("owner", "")),
                    _t(f.waiver.get("expires", "")),
                ]
                for f in r.waived
            ],
        )
    else:
        out += [t("waiver.none"), ""]
    # 4. flows
    out += [
        f"## 4. {t('section.flows')}",
        "",
        t("flows.intro", nodes=len(r.picture.nodes), flows=len(r.inventory.flows)),
        "",
    ]
    out += ["```mermaid", mermaid.render(r.lineage, r.violating), "```", ""]
    out += [f"### {t('flows.violating_table')}", ""]
    if r.violating:
        out += _table(
            [t("flows.flow"), t("flows.from_to"), t("flows.clauses"), t("findings.explanation")],
            [
                [
                    _c(fid),
                    f"{_t(r.inventory.flows[fid].get('from'))} → {_t(r.inventory.flows[fid].get('to'))}",
                    _t(", ".join(dict.fromkeys(f.clause_id for f in fs))),
                    _t("; ".join(r.message(f) for f in fs)),
                ]
                for fid, fs in sorted(r.violating.items())
            ],
        )
    else:
        out += [t("flows.none"), ""]
    # 5. transfers
    out += [f"## 5. {t('section.transfers')}", "", t("transfers.intro"), ""]
    if r.transfers:
        out += _table(
            [
                t("transfers.flow"),
                t("transfers.source"),
                t("transfers.destination"),
                t("transfers.subjects"),
                t("transfers.mechanism"),
                t("transfers.status"),
            ],
            [
                [
                    _c(tr.flow),
                    _t(f"{tr.source} ({tr.source_jurisdiction})"),
                    _t(f"{tr.destination} ({tr.destination_jurisdiction})"),
                    _t(", ".join(tr.subject_jurisdictions)),
                    _t(spell.mechanism(tr, t)),
                    t(f"transfer_status.{tr.status}")
                    + (f" ({', '.join(dict.fromkeys(f.clause_id for f in tr.findings))})" if tr.findings else ""),
                ]
                for tr in r.transfers
            ],
        )
    else:
        out += [t("transfers.none"), ""]
    # 6. cookies
    out += [f"## 6. {t('section.cookies')}", "", t("cookies.intro"), ""]
    if r.cookies:
        out += _table(
            [
                t("cookies.partner"),
                t("cookies.cookie"),
                t("cookies.type"),
                t("cookies.purpose"),
                t("cookies.lifetime"),
                t("cookies.consent_first"),
                t("cookies.data"),
            ],
            [
                [
                    _c(row.partner),
                    _c(row.cookie) if row.cookie else t("cookies.no_cookie"),
                    _t(row.type if row.technology == "cookie" else f"{row.type} ({row.technology})"),
                    _t(row.purpose),
                    _t(spell.lifetime(row, t)),
                    _t(spell.consent_first(row, t)),
                    _t(", ".join(row.data_received)),
                ]
                for row in r.cookies
            ],
        )
    else:
        out += [t("cookies.none"), ""]
    # 7. RoPA
    out += [f"## 7. {t('section.ropa')}", "", t("ropa.intro"), ""]
    if r.ropa:
        first = r.ropa[0]
        out += _table(
            ["", ""],
            [
                [t(f"ropa.col.{col}"), _t(spell.ropa_cell(first, col, t)) or t("ropa.empty")]
                for col in ("controller", "dpo")
            ],
        )
        out += [t("ropa.gap_count", n=sum(1 for row in r.ropa if row.gaps)), ""]
        cols = [col for col in facts.ROPA_COLUMNS if col not in ("controller", "dpo", "activity_name")]
        out += _table(
            [t(f"ropa.col.{col}") for col in cols],
            [[_ropa_md(row, col, r) for col in cols] for row in r.ropa],
        )
    out += ["---", "", t("report.generated_by", version=r.version), ""]
    return "\n".join(out)


def _ropa_md(row: facts.RopaRow, col: str, r: Report) -> str:
    t = r.t
    if col == "activity":
        return _c(row.activity)
    parts = spell.ropa_parts(row, col, t)
    if not parts:
        if col == "gaps":
            return t("common.none")
        return f"**{t('ropa.empty')}**" if col in facts.ROPA_REQUIRED else _t(spell.ropa_cell(row, col, t))
    return "<br>".join(f"**{_t(p)}**" if spell.is_gap_part(p, t) else _t(p) for p in parts)
