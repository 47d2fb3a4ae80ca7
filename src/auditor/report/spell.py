"""Spell the language-neutral facts in the report's language: one place, shared by HTML, Markdown and CSV, so the
three formats state the same facts in the same words."""

from __future__ import annotations

from auditor.i18n import Translator
from auditor.report.facts import CookieRow, RopaRow, Transfer


def basis(token: str, t: Translator) -> str:
    kind, _, detail = token.partition(":")
    label = t.get(f"basis.{kind}", kind.replace("_", " "))
    return f"{label} ({detail})" if detail else label


def _security(token: str, t: Translator) -> str:
    if token.startswith("no:"):
        return t("security.no", what=t.get(f"security.{token[3:]}", token[3:]))
    key, _, value = token.partition(":")
    if value:
        return t(f"security.{key}", v=value) if t.has(f"security.{key}") else token
    return t.get(f"security.{key}", key)


def _erasure(value: str, t: Translator) -> str:
    if value == "indefinite":
        return t("ropa.indefinite")
    out: list[str] = []
    for part in value.split(" ", 1):
        if part.endswith("d") and part[:-1].isdigit():
            out.append(t("ropa.days", n=int(part[:-1])))
        elif part.startswith("legal:"):
            out.append(t("ropa.legal", ref=part[6:]))
    return ", ".join(out)


def ropa_parts(row: RopaRow, column: str, t: Translator) -> list[str]:
    """The parts of one cell, spelt out; unstated parts end with "not stated"."""
    if column == "activity":
        return [row.activity]
    if column == "activity_name":
        return [row.activity_name]
    if column == "gaps":
        return [t(f"ropa.col.{c}") for c in row.gaps]
    item = row.cells[column]
    parts: list[str] = []
    for p in item.parts:
        if column == "purpose" and p.startswith("policy:"):
            code = p[7:]
            parts.append(t("ropa.undeclared_purpose") if code == "-" else t("ropa.policy_purpose", p=code))
        elif column == "controller" and p.startswith("eu_rep:"):
            parts.append(t("ropa.eu_rep", name=p[7:]))
        elif column == "legal_basis":
            parts.append(basis(p, t))
        elif column == "transfers":
            route, flow, mech = p.split("|", 2)
            a, b = route.split(">")
            mech_text = mech.replace("+tia", f" + {t('transfers.tia')}")
            parts.append(f"{a} → {b} ({flow}): {mech_text if mech != '-' else t('transfers.no_mechanism')}")
        elif column == "erasure":
            sid, _, value = p.partition("=")
            parts.append(f"{sid}: {_erasure(value, t)}")
        elif column == "security":
            sid, _, value = p.partition("=")
            tokens = [_security(x, t) for x in value.split(",") if x]
            parts.append(f"{sid}: {', '.join(tokens) if tokens else t('ropa.none')}")
        else:
            parts.append(p)
    if column in ("erasure", "security", "data_subjects", "legal_basis"):
        parts += [f"{m}: {t('ropa.not_stated')}" for m in item.missing if not any(x.startswith(f"{m}:") for x in parts)]
    return parts


EMPTY_MEANS = {"transfers": "ropa.none", "recipients": "ropa.internal_only"}


def ropa_cell(row: RopaRow, column: str, t: Translator) -> str:
    """The cell as one string: parts joined with "; ", an empty optional column spelt out ("none", "internal
    only"), an empty required column left empty (a gap, named in the gaps column)."""
    parts = ropa_parts(row, column, t)
    if not parts and column in EMPTY_MEANS:
        return t(EMPTY_MEANS[column])
    return "; ".join(parts)


def is_gap_part(part: str, t: Translator) -> bool:
    return part.endswith(t("ropa.not_stated")) or part.endswith(t("ropa.indefinite"))


def mechanism(tr: Transfer, t: Translator) -> str:
    if not tr.mechanism:
        return t("transfers.no_mechanism")
    out = tr.mechanism
    if tr.tia:
        out += f" + {t('transfers.tia')}"
    if tr.separate_consent:
        out += f" + {t('transfers.separate_consent')} ({tr.separate_consent})"
    return out


def lifetime(row: CookieRow, t: Translator) -> str:
    return t("cookies.days", n=row.max_age_days) if row.max_age_days is not None else ""


def consent_first(row: CookieRow, t: Translator) -> str:
    key = row.consent_first
    return t(f"cookies.consent.{key}") if key else ""
