"""The loader turns every kind of bad input into located one-line problems (exit 2), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import MINIMAL

from auditor.errors import InputError
from auditor.inventory import load


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``: expectations follow the fixture text."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load([path])
    return info.value.lines()


def test_minimal_inventory_loads_with_locations(inventory_dir) -> None:
    inv = load([inventory_dir({"a.yaml": MINIMAL})])
    field = inv.fields["app.email"]
    assert field.parent == "app"
    loc = field.loc("category")
    assert loc.file.endswith("a.yaml") and (loc.line, loc.column) == (line_of(MINIMAL, "category:"), 9)
    assert inv.purposes["support"].get("policy_purpose") == "FACILITATE"


def test_malformed_yaml_is_located(inventory_dir) -> None:
    lines = problems(inventory_dir({"systems.yaml": "systems:\n  - id: a\n    name: [unclosed\n"}))
    assert len(lines) == 1
    assert lines[0].startswith(str(Path("systems.yaml"))) or "systems.yaml:" in lines[0]
    assert "YAML syntax error" in lines[0]


def test_alias_bomb_is_refused_quickly(inventory_dir) -> None:
    text = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    prev = "a"
    for n in "bcdefghijklmnopqr":
        text.append(f"{n}: &{n} [" + ",".join([f"*{prev}"] * 10) + "]")
        prev = n
    lines = problems(inventory_dir({"bomb.yaml": "\n".join(text) + "\n"}))
    assert any("alias bomb" in line and "bomb.yaml:" in line for line in lines)


def test_unknown_key_suggests_the_right_one(inventory_dir) -> None:
    text = MINIMAL.replace("        purposes: [support]", "        purposes: [support]\n        purpsoes: [x]")
    lines = problems(inventory_dir({"a.yaml": text}))
    n = line_of(text, "purpsoes")
    assert lines == [f"{lines[0].split(':')[0]}:{n}:9: unknown key 'purpsoes' in field (did you mean 'purposes'?)"]


def test_duplicate_ids_across_files(inventory_dir) -> None:
    other = MINIMAL.split("systems:")[1].replace("app.email", "app.email2")
    lines = problems(inventory_dir({"a.yaml": MINIMAL, "b.yaml": "systems:" + other}))
    assert len(lines) == 1
    first = line_of(MINIMAL, "- id: app")
    assert "b.yaml:2:5: duplicate id 'app'" in lines[0] and f"a.yaml:{first}:5" in lines[0]


def test_dangling_reference_is_located(inventory_dir) -> None:
    text = MINIMAL.replace("purposes: [support]", "purposes: [suport]")
    lines = problems(inventory_dir({"a.yaml": text}))
    assert len(lines) == 1
    assert (
        f":{line_of(text, 'suport')}:20: field 'app.email' refers to unknown purpose 'suport' (did you mean 'support'?)"
        in lines[0]
    )


def test_a_flows_dangling_fields_are_each_located_at_their_item(inventory_dir) -> None:
    """A flow's fields and a field's purposes are the references met by the million: each one that does not resolve
    is reported at its own item, in order, and one naming an entity of another kind says so."""
    flows = (
        "flows:\n"
        "  - id: out\n"
        "    from: app\n"
        "    to: app\n"
        "    purpose: support\n"
        "    legal_basis: {kind: contract}\n"
        "    fields: [app.email, app.emial, support, app.email]\n"
    )
    text = MINIMAL.replace("purposes: [support]", "purposes: [support, suport]") + flows
    lines = problems(inventory_dir({"a.yaml": text}))
    at = line_of(text, "app.emial")
    assert [line.split(":", 1)[1] for line in lines] == [
        f"{line_of(text, 'suport')}:29: field 'app.email' refers to unknown purpose 'suport' (did you mean 'support'?)",
        f"{at}:25: flow 'out' refers to unknown field 'app.emial' (did you mean 'app.email'?)",
        f"{at}:36: flow 'out' refers to unknown field 'support' ('support' is a purpose, expected a field)",
    ]


def test_duplicate_mapping_key_is_an_error(inventory_dir) -> None:
    lines = problems(inventory_dir({"a.yaml": MINIMAL.replace("    name: App\n", "    name: App\n    name: Other\n")}))
    assert any("duplicate key 'name'" in line for line in lines)


def test_object_building_tags_are_refused(inventory_dir) -> None:
    lines = problems(inventory_dir({"a.yaml": "systems: !!python/object/apply:os.system ['echo hi']\n"}))
    assert any("not allowed" in line for line in lines)


def test_yes_no_are_strings_not_booleans(inventory_dir) -> None:
    text = MINIMAL.replace(
        "    subject_jurisdictions: [EU]\n",
        "    subject_jurisdictions: [EU]\n    processes_personal_data: yes\n",
    )
    lines = problems(inventory_dir({"a.yaml": text}))
    assert any("processes_personal_data must be of type boolean" in line for line in lines)


def test_deep_nesting_is_refused(inventory_dir) -> None:
    lines = problems(inventory_dir({"a.yaml": "x: " + "[" * 10000 + "]" * 10000 + "\n"}))
    assert any("nesting" in line and "a.yaml:1:" in line for line in lines)


def test_binary_file_is_refused(inventory_dir, tmp_path: Path) -> None:
    d = inventory_dir({"a.yaml": MINIMAL})
    (d / "blob.yaml").write_bytes(b"systems:\n  - \xff\xfe\x00\x01")
    lines = problems(d)
    assert any("blob.yaml:2:5" in line and "UTF-8" in line for line in lines)


def test_empty_inventory_is_an_error(inventory_dir) -> None:
    lines = problems(inventory_dir({"a.yaml": ""}))
    assert any("no systems found" in line for line in lines)


def test_missing_required_key(inventory_dir) -> None:
    lines = problems(inventory_dir({"a.yaml": MINIMAL.replace("    kind: app\n", "")}))
    assert lines and "missing required key in system: 'kind'" in lines[0] and ":6:" in lines[0]


def test_all_problems_reported_together(inventory_dir) -> None:
    d = inventory_dir({"a.yaml": MINIMAL.replace("kind: app", "kind: mobile"), "b.yaml": "purposes: [\n"})
    lines = problems(d)
    assert len(lines) == 2


# Format additions of issue 13 (docs/inventory.md section 8): each is accepted where documented, validated, and a
# tracker's purpose under either key is a checked reference.
FORMAT_ADDITIONS = (
    MINIMAL
    + """\
    dpa_ref: https://legal.example/app-vendor-dpa
partners:
  - id: fp-vendor
    name: Fingerprinting vendor
    role: data_licensee
    jurisdiction: US
    retention: {days: 760}
    cookies:
      - {name: _c, type: analytics}
    trackers:
      - {name: fp, type: advertising, technology: fingerprinting, purpose: support}
flows:
  - id: newsletter
    from: app
    to: fp-vendor
    fields: [app.email]
    purpose: support
    channel: email
    suppression: {list_ref: https://wiki.example/suppression, checked_before_send: true, propagation_hours: 1.5}
"""
)


def test_format_additions_load(inventory_dir) -> None:
    inv = load([inventory_dir({"a.yaml": FORMAT_ADDITIONS})])
    assert inv.systems["app"].get("dpa_ref") == "https://legal.example/app-vendor-dpa"
    partner = inv.partners["fp-vendor"]
    assert partner.get("role") == "data_licensee" and partner.get("retention") == {"days": 760}
    assert partner.get("trackers")[0]["technology"] == "fingerprinting"
    assert inv.flows["newsletter"].get("suppression")["propagation_hours"] == 1.5


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("technology: fingerprinting", "technology: canvas", "tracker.technology"),
        ("propagation_hours: 1.5", "propagation_hours: -1", "flow.suppression.propagation_hours"),
        ("checked_before_send: true", "checked_before_send: yes", "flow.suppression.checked_before_send"),
        ("list_ref: https://wiki.example/suppression, ", "list: x, ", "unknown key 'list' in flow.suppression"),
        ("role: data_licensee", "role: licensee", "partner.role"),
        ("purpose: support}", "purpose: nowhere}", "refers to unknown purpose 'nowhere'"),
    ],
)
def test_format_additions_are_validated(inventory_dir, old: str, new: str, expected: str) -> None:
    assert old in FORMAT_ADDITIONS
    text = FORMAT_ADDITIONS.replace(old, new)
    lines = problems(inventory_dir({"a.yaml": text}))
    assert len(lines) == 1 and expected in lines[0], lines
    assert f":{line_of(text, new)}:" in lines[0]


def test_a_pattern_error_explains_the_expected_form_in_a_whole_sentence(inventory_dir) -> None:
    """The hint is the schema description's first sentence, not a fragment cut at the ellipsis of its example list."""
    text = MINIMAL.replace("jurisdiction: EU", 'jurisdiction: "EU\\n"', 1)
    assert text != MINIMAL
    (line,) = problems(inventory_dir({"a.yaml": text}))
    assert line.endswith("(Two-letter jurisdiction code: ISO 3166-1 country (CN, US, FR, ...) or EU for the EU/EEA)")
