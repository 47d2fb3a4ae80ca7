"""Findings in the reader's language: message, title and remediation of a finding rendered from the pack's catalogue.

English is the rules' own text and the default. For another language (``--lang fr``) the message is rendered from its
format and arguments (``Finding.message_fmt``/``message_args``, built by ``lib.findings.msg``) with the pack's gettext
catalogue (``auditor.policy.messages``); the title and the remediation are looked up by their English text, and a
clause-level remediation falls back to the clause catalogue's ``remediation_fr``. Whatever has no translation stays
English (tests/test_messages.py fails on any, so a shipped pack has none). JSON and SARIF keep the English text in
``message`` for tools and add the localized one as a property.
"""

from __future__ import annotations

import json
from typing import Any

from auditor.findings import Finding
from auditor.i18n import DEFAULT_LANG
from auditor.policy import messages
from auditor.policy.catalogue import PolicyPack, Rule


class Localizer:
    """``loc.message(f)``, ``loc.title(f)``, ``loc.remediation(f)`` in ``lang``; identity for English."""

    def __init__(self, pack: PolicyPack, lang: str = DEFAULT_LANG) -> None:
        self.pack = pack
        self.lang = lang
        self.catalogue: messages.Catalogue | None = None if lang == DEFAULT_LANG else messages.load(pack.root, lang)

    @property
    def active(self) -> bool:
        return self.catalogue is not None

    def message(self, f: Finding) -> str:
        cat = self.catalogue
        if cat is None:
            return f.message
        if f.message_fmt:
            args: Any = json.loads(f.message_args) if f.message_args else []
            out = cat.render(f.message_fmt, args if isinstance(args, list) else [])
        else:
            out = cat.text(f.message)
        return out if out is not None else f.message

    def _text(self, english: str) -> str:
        """A text of the pack (a rule's title or remediation) in this language, if the catalogue has it."""
        cat = self.catalogue
        return english if cat is None or not english else (cat.text(english) or english)

    def rule_title(self, rule: Rule) -> str:
        return self._text(rule.title)

    def title(self, f: Finding) -> str:
        return self._text(f.title)

    def remediation(self, f: Finding) -> str:
        cat = self.catalogue
        if cat is None or not f.remediation:
            return f.remediation
        out = cat.text(f.remediation)
        if out is not None:
            return out
        clause = self.pack.clauses.get(f.clause_id)
        if clause is not None and f.remediation == clause.remediation and self.lang == "fr" and clause.remediation_fr:
            return clause.remediation_fr
        return f.remediation

    def localized(self, f: Finding) -> dict[str, str]:
        """The JSON/SARIF property carrying the localized texts (only when a language other than English is asked)."""
        return {
            "lang": self.lang,
            "message": self.message(f),
            "title": self.title(f),
            "remediation": self.remediation(f),
        }
