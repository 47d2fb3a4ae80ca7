"""Reports written piece by piece are the same bytes as the whole document dumped at once."""

from __future__ import annotations

import functools
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


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(_json, max_size=7),
    siblings=st.dictionaries(st.text(max_size=8).filter(lambda k: k != "findings"), _json, max_size=4),
    nested=st.booleans(),
    slice_size=st.integers(min_value=1, max_value=4),
)
def test_streamed_text_equals_the_whole_dump(
    items: list[Any], siblings: dict[str, Any], nested: bool, slice_size: int
) -> None:
    # Items beyond 64 bits (hypothesis's integers) make orjson refuse their slice: written item by item by json then.
    if nested:  # the list deep inside, as SARIF's runs[0].results
        expected = _whole({**siblings, "runs": [{"results": items, "tool": siblings}]})
        doc: dict[str, Any] = {**siblings, "runs": [{"results": None, "tool": siblings}]}
        path: tuple[str | int, ...] = ("runs", 0, "results")
    else:
        expected = _whole({**siblings, "findings": items})
        doc, path = {**siblings, "findings": None}, ("findings",)
    assert b"".join(jsonstream.chunks(doc, path, iter(items), slice_size=slice_size)) == expected.encode("utf-8")


@pytest.mark.parametrize("slice_size", [1, 2, 3, 100])
def test_a_slice_orjson_refuses_is_written_by_json_with_the_same_bytes(slice_size: int) -> None:
    # Not left to the property test's luck: integers beyond 64 bits, alone and nested, among items orjson writes.
    items = [{"a": 1}, 2**64, "x", {"b": [-(2**70), "é"]}, None]
    expected = _whole({"findings": items, "n": 1}).encode("utf-8")
    written = b"".join(jsonstream.chunks({"findings": None, "n": 1}, ("findings",), items, slice_size=slice_size))
    assert written == expected


def test_items_are_taken_lazily_a_slice_at_a_time() -> None:
    taken: list[int] = []

    def items() -> Any:
        for i in range(5):
            taken.append(i)
            yield {"n": i}

    pieces = jsonstream.chunks({"findings": None}, ("findings",), items(), slice_size=2)
    next(pieces)  # the head of the document needs no item
    assert taken == []
    next(pieces)
    assert taken == [0, 1]
    next(pieces)
    assert taken == [0, 1, 2, 3]


@pytest.mark.parametrize("note", ["auditor-stream", "\x00auditor-stream-0\x00", "\x00auditor-stream-1\x00"])
def test_a_value_that_looks_like_the_marker_cannot_confuse_it(note: str) -> None:
    expected = _whole({"findings": [1, note], "note": note, "other": "\x00auditor-stream-0\x00"})
    doc = {"findings": None, "note": note, "other": "\x00auditor-stream-0\x00"}
    assert b"".join(jsonstream.chunks(doc, ("findings",), [1, note])) == expected.encode("utf-8")


_text = st.text(max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(_text, min_size=11, max_size=11),
    evidence=st.lists(_text, max_size=3),
    waiver=st.dictionaries(_text, _text, max_size=3),
    line=st.integers(min_value=0, max_value=2**31),
)
def test_a_finding_written_directly_equals_its_generic_dump(
    texts: list[str], evidence: list[str], waiver: dict[str, str], line: int
) -> None:
    """The JSON report writes each finding with orjson, not ``json``'s pure-Python indenting encoder: same bytes as
    ``json.dumps``, for any strings (quotes, backslashes, control characters, non-ASCII), evidence and waiver."""
    from auditor.errors import Location
    from auditor.findings import Finding
    from auditor.formats.json_format import finding_dict

    f = Finding(
        *texts[:8],
        subject_kind=texts[8],
        subject_id=texts[9],
        attribute=texts[10],
        location=Location(texts[0], line, line // 7),
        evidence=tuple(evidence),
        remediation=texts[1],
        waiver=waiver,
    )
    # As the report writes its findings (json_format.render_chunks: keys in order already), in one slice and in two.
    for size in (1, 2):
        written = b"".join(
            jsonstream.chunks({"findings": None}, ("findings",), [f, f], finding_dict, size, keys_sorted=True)
        )
        assert written == _whole({"findings": [finding_dict(f)] * 2}).encode("utf-8")

    class French:  # what a Localizer gives finding_dict, its keys in no particular order
        active = True

        def localized(self, _: object) -> dict[str, str]:
            return {"title": texts[2], "lang": "fr", "remediation": texts[3], "message": texts[4]}

    def dumped(item: Finding) -> dict[str, Any]:
        return finding_dict(item, French())  # type: ignore[arg-type]

    written = b"".join(jsonstream.chunks({"findings": None}, ("findings",), [f], dumped, keys_sorted=True))
    assert written == _whole({"findings": [dumped(f)]}).encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [
        {"text": "lone \ud800 surrogate"},  # orjson refuses it (not UTF-8)
        {"big": 2**64, "small": -(2**63) - 1},  # beyond orjson's 64 bits
        {"deep": functools.reduce(lambda inner, _: [inner], range(300), [])},  # beyond orjson's 255 levels
        {10: "non-string keys", 9: "sorted as numbers"},
    ],
)
def test_what_orjson_refuses_is_written_by_json_with_the_same_text(value: dict[Any, Any]) -> None:
    text = _whole(value)[:-1].replace("\n", "\n  ")
    try:
        expected = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: writing json's text fails, and so does making its bytes
        with pytest.raises(UnicodeEncodeError):
            jsonstream.dumps_indented(value, b"  ")
    else:
        assert jsonstream.dumps_indented(value, b"  ") == expected
