"""`auditor schema`: the inventory JSON Schema for editors, with help on every key, shipped in the repository and
pointed at by the sample inventory's `# yaml-language-server: $schema=` lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from auditor.cli import cli
from auditor.errors import InputError
from auditor.inventory import editor_schema, loader, yamlsafe

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / editor_schema.SHIPPED_PATH
SAMPLE = ROOT / "inventory"
REGENERATE = f"run `auditor schema -o {editor_schema.SHIPPED_PATH}` and commit the file"


@pytest.fixture(scope="module")
def printed() -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.output)
    return doc


def test_the_schema_is_versioned_draft_2020_12(printed: dict[str, Any]) -> None:
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert printed["$id"].endswith(f"inventory-v{editor_schema.FORMAT_VERSION}.json")
    assert f"v{editor_schema.FORMAT_VERSION}" in printed["title"]
    jsonschema.Draft202012Validator.check_schema(printed)


def test_every_property_and_definition_has_a_title_and_a_description(printed: dict[str, Any]) -> None:
    nodes = list(editor_schema.nodes(printed))
    assert len(nodes) > 150  # the walk reaches nested properties (organization.incident_response...)
    missing = [key for key, node in nodes if not (node.get("title") and node.get("description"))]
    assert not missing, (
        "schema keys without editor help (title and description): "
        + ", ".join(missing)
        + ". Add each to src/auditor/inventory/schema_help.yaml (key as shown), then "
        + REGENERATE
    )


def test_every_help_entry_matches_a_schema_key_and_none_repeats_an_inline_description() -> None:
    assert editor_schema.unused_help() == [], "schema_help.yaml entries for keys the schema does not have"
    raw = loader.schema()
    help_ = editor_schema.help_entries()
    both = [k for k, node in editor_schema.nodes(raw) if "description" in node and "description" in help_.get(k, {})]
    assert both == [], f"described both in schema.json and schema_help.yaml (keep one): {both}"


def test_the_shipped_file_is_the_printed_schema() -> None:
    # Validating a document first must not change what `auditor schema` prints in the same process (the schema
    # compiler rewrites the $refs of the dict it is given: loader compiles a copy of its cached schema).
    with pytest.raises(InputError):
        loader.load_sources([("bad.yaml", b"systems: [{id: x, kind: nope}]\n")])
    result = CliRunner().invoke(cli, ["schema"])
    assert SHIPPED.read_text(encoding="utf-8") == result.output, f"{editor_schema.SHIPPED_PATH} is stale: {REGENERATE}"


def test_annotations_change_nothing_the_validator_accepts(printed: dict[str, Any]) -> None:
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("title", "description")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    assert strip(printed) == strip(loader.schema())


def _sample_files() -> list[Path]:
    return sorted(p for p in SAMPLE.rglob("*.yaml"))


def test_every_sample_file_validates_against_the_printed_schema(printed: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(printed)
    files = _sample_files()
    assert len(files) > 20
    for path in files:
        doc = yamlsafe.parse(yamlsafe.decode(path.read_bytes()))
        errors = [e.message for e in validator.iter_errors(doc)]
        assert errors == [], f"{path.relative_to(ROOT)}: {errors[:3]}"


def test_the_printed_schema_rejects_what_the_loader_rejects(printed: dict[str, Any]) -> None:
    # The annotated schema is not a looser copy: a misspelt key and a wrong type still fail.
    validator = jsonschema.Draft202012Validator(printed)
    assert list(validator.iter_errors({"systems": [{"id": "a", "name": "A", "kind": "app", "operator": "x"}]}))
    assert list(validator.iter_errors({"flow": []}))


def test_every_sample_file_carries_the_modeline_pointing_at_the_shipped_schema() -> None:
    for path in _sample_files():
        first = path.read_text(encoding="utf-8").splitlines()[0]
        prefix = "# yaml-language-server: $schema="
        assert first.startswith(prefix), f"{path.relative_to(ROOT)}: first line must be `{prefix}<relative path>`"
        target = (path.parent / first[len(prefix) :]).resolve()
        assert target == SHIPPED.resolve(), f"{path.relative_to(ROOT)} points at {target}, not {SHIPPED}"
