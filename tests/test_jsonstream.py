"""Reports written piece by piece are the same bytes as the whole document dumped at once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.formats import jsonstream

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _whole(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(_json, max_size=6),
    siblings=st.dictionaries(st.text(max_size=8).filter(lambda k: k != "findings"), _json, max_size=4),
    nested=st.booleans(),
)
def test_streamed_text_equals_the_whole_dump(items: list[Any], siblings: dict[str, Any], nested: bool) -> None:
    if nested:  # the list deep inside, as SARIF's runs[0].results
        expected = _whole({**siblings, "runs": [{"results": items, "tool": siblings}]})
        doc: dict[str, Any] = {**siblings, "runs": [{"results": None, "tool": siblings}]}
        path: tuple[str | int, ...] = ("runs", 0, "results")
    else:
        expected = _whole({**siblings, "findings": items})
        doc, path = {**siblings, "findings": None}, ("findings",)
    assert "".join(jsonstream.chunks(doc, path, iter(items))) == expected


def test_items_are_taken_lazily() -> None:
    taken: list[int] = []

    def items() -> Any:
        for i in range(3):
            taken.append(i)
            yield {"n": i}

    pieces = jsonstream.chunks({"findings": None}, ("findings",), items())
    next(pieces)  # the head of the document needs no item
    assert taken == []
    next(pieces)
    assert taken == [0]


@pytest.mark.parametrize("note", ["auditor-stream", "\x00auditor-stream-0\x00", "\x00auditor-stream-1\x00"])
def test_a_value_that_looks_like_the_marker_cannot_confuse_it(note: str) -> None:
    expected = _whole({"findings": [1, note], "note": note, "other": "\x00auditor-stream-0\x00"})
    doc = {"findings": None, "note": note, "other": "\x00auditor-stream-0\x00"}
    assert "".join(jsonstream.chunks(doc, ("findings",), [1, note])) == expected
