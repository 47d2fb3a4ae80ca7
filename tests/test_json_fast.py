"""The compact JSON the auditor writes and reads back itself (partition documents, engine answers, cache entries):
one writer and one reader, orjson with ``json`` for what orjson refuses, so every caller gets the same text."""

from __future__ import annotations

import json

import pytest

from auditor.jsonsafe import dumps_compact, loads_fast


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [1.5, "é", None, True], "c": {"z": "x", "y": [{}]}},
        {"wide": 2**70, "neg": -(2**65), "k": ["x"]},  # beyond 64 bits: orjson refuses, json writes
    ],
)
def test_compact_text_is_jsons_and_reads_back(value: object) -> None:
    for sort_keys in (False, True):
        text = dumps_compact(value, sort_keys=sort_keys)
        assert text == json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys).encode()
        assert loads_fast(text) == value and loads_fast(text.decode("utf-8")) == value


def test_what_is_not_json_raises_as_json_does() -> None:
    for broken in (b"{", b"[1,]", "\ud800"):
        with pytest.raises(ValueError):
            loads_fast(broken)
