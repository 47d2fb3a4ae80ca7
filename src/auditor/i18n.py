"""Fixed strings of the human-facing outputs (``check``'s text output and the DPO report) in English and French.

The strings live in ``auditor/locale/<lang>.json`` (flat ``key -> template`` maps, ``str.format`` placeholders).
Clause excerpts are never translated: they are quoted from the original French policy.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

LANGS = ("en", "fr")
DEFAULT_LANG = "en"
_LOCALE_DIR = Path(__file__).resolve().parent / "locale"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every fixed string of ``lang``; raises ``KeyError`` for an unknown language."""
    if lang not in LANGS:
        raise KeyError(lang)
    data: Any = json.loads((_LOCALE_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def missing_keys() -> dict[str, list[str]]:
    """For each language, the keys another language has and it lacks (empty lists when complete)."""
    every = set().union(*(catalogue(lang) for lang in LANGS))
    return {lang: sorted(every - set(catalogue(lang))) for lang in LANGS}


class Translator:
    """``t("key", n=3)``: the string of ``key`` in the chosen language, formatted."""

    def __init__(self, lang: str = DEFAULT_LANG) -> None:
        self.lang = lang
        self._strings = catalogue(lang)

    def __call__(self, key: str, /, **values: object) -> str:
        template = self._strings[key]
        return template.format(**values) if values else template

    def has(self, key: str) -> bool:
        return key in self._strings

    def get(self, key: str, default: str) -> str:
        return self._strings.get(key, default)
