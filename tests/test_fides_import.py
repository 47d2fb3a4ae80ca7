"""`auditor import fides`: a Fides estate (tests/data/fides, written for these tests) imports into an inventory that
validates and audits; the mapping table agrees with fideslang's taxonomy and this project's vocabulary; bad
manifests are refused with located one-line errors; the output is written atomically and never over an input."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from tests.conftest import POLICIES, ROOT

from auditor import cli
from auditor.importers import emit, fides_vocab
from auditor.inventory.loader import schema

FIXTURE = ROOT / "tests" / "data" / "fides"
VOCAB = (POLICIES / "rego" / "creality" / "vocab" / "vocab.rego").read_text(encoding="utf-8")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli.cli, list(args))


def imported(tmp_path: Path, *more: str) -> Path:
    out = tmp_path / "inventory"
    r = run("import", "fides", str(FIXTURE), "--out", str(out), *more)
    assert r.exit_code == 0, r.stderr
    return out


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def one_line_errors(r: Result) -> list[str]:
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stdout == ""
    return r.stderr.splitlines()


# --- the round trip ----------------------------------------------------------------------------------------------


def test_import_then_validate_clean_then_check_runs(tmp_path: Path) -> None:
    out = imported(tmp_path, "--jurisdiction", "EU")
    v = run("validate", str(out))
    assert v.exit_code == 0 and "inventory valid" in v.stdout, v.stdout + v.stderr
    c = run("check", str(out), "--format", "json", "--quiet")
    assert c.exit_code in (0, 1), c.stderr  # findings are expected (Fides says nothing of retention, security...)
    findings = json.loads(c.stdout)["findings"]
    assert findings and all(f["location"]["file"].endswith(".yaml") and f["location"]["line"] > 0 for f in findings)


def test_import_is_deterministic(tmp_path: Path) -> None:
    first = imported(tmp_path / "a", "--jurisdiction", "EU")
    second = imported(tmp_path / "b", "--jurisdiction", "EU")
    names = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    for name in names:
        a, b = (first / name).read_bytes(), (second / name).read_bytes()
        if name == "FIDES-IMPORT.md":  # it names the manifests read, as given on the command line
            a, b = a.replace(str(first).encode(), b""), b.replace(str(second).encode(), b"")
        assert a == b, name


def test_what_fides_says_lands_where_the_inventory_expects_it(tmp_path: Path) -> None:
    out = imported(tmp_path, "--jurisdiction", "EU")
    partners = {p["id"]: p for p in load(out / "partners.yaml")["partners"]}
    assert partners["ad_network"] | {} == {
        "id": "ad_network",
        "name": "Advertising network",
        "role": "advertiser",  # from its data use marketing.advertising.third_party.targeted
        "operator": "third_party",
        "jurisdiction": "US",  # meta.jurisdiction wins over --jurisdiction
        "own_policy_url": "https://ads.example/privacy",
    }
    assert partners["cloud_files"]["operator"] == "processor" and partners["cloud_files"]["dpa_ref"]

    purposes = {p["data_use"]: p for p in load(out / "purposes.yaml")["purposes"]}
    assert purposes["marketing.advertising.third_party.targeted"]["policy_purpose"] == "PARTNER.ADS"
    assert purposes["marketing.advertising.third_party.targeted"]["requires_consent"] is True  # legal basis Consent
    # A custom data use takes the mapping of its nearest listed ancestor (essential.service.operations.support).
    assert purposes["essential.service.operations.support.print_failures"]["policy_purpose"] == "FAULT"
    assert purposes["essential.service.operations.support.print_failures"]["name"] == "Diagnose print failures"

    app = load(out / "systems" / "printer_app.yaml")
    system = app["systems"][0]
    assert (system["kind"], system["operator"], system["owner_team"], system["retention"]) == (
        "app",
        "first_party",
        "mobile",
        {"days": 30},
    )
    categories = {f["category"] for f in system["fields"]}
    assert "user.device.device_id.imei" in categories  # the manifests' own data_category
    flows = {f["to"]: f for f in app["flows"]}
    assert set(flows) == {"account_service", "telemetry_pipeline", "ad_network"}
    assert flows["account_service"]["legal_basis"] == {"kind": "contract"}
    assert flows["ad_network"]["legal_basis"] == {"kind": "consent"}
    assert flows["ad_network"]["purpose"] == purposes["marketing.advertising.third_party.targeted"]["id"]

    # Fields are declared once, where first collected, and travel by id: the pipeline re-declares nothing it receives.
    pipeline = load(out / "systems" / "telemetry_pipeline.yaml")
    assert "fields" not in pipeline["systems"][0]
    assert all(f.startswith("printer_app.") for f in pipeline["flows"][0]["fields"])
    # The account service keeps its dataset's columns, with the purposes of its declarations.
    account = load(out / "systems" / "account_service.yaml")["systems"][0]
    by_name = {f.get("name"): f for f in account["fields"]}
    assert by_name["users.email"]["category"] == "user.contact.email"
    assert by_name["users.email"]["purposes"] == [purposes["essential.service.authentication"]["id"]]
    assert account["retention"] == {"days": 3 * 365}
    # A dataset no system lists becomes a datastore; a flow to it gives its fields their purpose.
    warehouse = load(out / "systems" / "print_warehouse.yaml")["systems"][0]
    assert warehouse["kind"] == "datastore"
    assert all(f["purposes"] for f in warehouse["fields"] if f["category"].startswith("user."))

    org = load(out / "organization.yaml")["organization"]
    assert org["contact_email"] == "privacy@printer-maker.example" and org["dpo"]["name"] == "Data Protection Office"


def test_every_fact_to_fill_is_a_located_todo_comment(tmp_path: Path) -> None:
    out = imported(tmp_path, "--jurisdiction", "EU")
    report = (out / "FIDES-IMPORT.md").read_text(encoding="utf-8")
    listed = re.findall(r"^- `([^`]+):(\d+)` (.+)$", report, re.M)
    assert len(listed) > 10
    for name, line, text in listed:
        written = (out / name).read_text(encoding="utf-8").splitlines()[int(line) - 1].strip()
        assert written.startswith("# TODO") and text in written, (name, line)
    todos = report
    for needed in ("retention", "security", "dsr", "legal_basis.consent", "transfer", "cookies", "dpa_ref"):
        assert needed in todos, needed


# --- the mapping table -------------------------------------------------------------------------------------------


def _policy_purposes() -> set[str]:
    block = VOCAB[VOCAB.index("policy_purposes := {") : VOCAB.index("}\n", VOCAB.index("policy_purposes := {"))]
    return set(re.findall(r'"([A-Z][A-Z0-9_.]*)": \{', block))


def _enum(*path: str) -> set[str]:
    node = schema()["$defs"]
    for part in path:
        node = node[part]
    return set(node["enum"])


def test_mapping_table_covers_fideslang_and_speaks_the_policy_vocabulary() -> None:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY
    from fideslang.models import LegalBasisForProcessingEnum

    uses = {u.fides_key for u in DEFAULT_TAXONOMY.data_use}
    assert set(fides_vocab.DATA_USE_PURPOSE) == uses  # no default data use falls through unlisted
    declared = _policy_purposes()
    assert len(declared) > 20
    assert {p for p in fides_vocab.DATA_USE_PURPOSE.values() if p is not None} <= declared
    for never in ("collect", "train_ai_system", "third_party_sharing", "marketing.advertising.profiling"):
        assert fides_vocab.DATA_USE_PURPOSE[never] is None, never  # CLAUSES.md §B.2: never declared
    assert set(fides_vocab.LEGAL_BASIS) == {e.value for e in LegalBasisForProcessingEnum}
    assert set(fides_vocab.LEGAL_BASIS.values()) <= _enum("legal_basis", "properties", "kind")
    assert set(fides_vocab.SYSTEM_KIND.values()) <= _enum("system", "properties", "kind")
    assert {r for _, r in fides_vocab.PARTNER_ROLE_BY_USE} | {"processor", "other"} <= _enum(
        "partner", "properties", "role"
    )
    assert set(fides_vocab.TRANSFER_MECHANISM.values()) <= _enum("transfer", "properties", "mechanism")
    pattern = re.compile(schema()["$defs"]["category"]["pattern"])
    assert all(pattern.match(c.fides_key) for c in DEFAULT_TAXONOMY.data_category)  # categories copy as they are


# --- refused input: located, one line, exit 2 --------------------------------------------------------------------


def manifest_dir(tmp_path: Path, text: str) -> Path:
    d = tmp_path / "fides"
    d.mkdir()
    shutil.copy(FIXTURE / "taxonomy.yml", d / "taxonomy.yml")
    (d / "bad.yml").write_text(text, encoding="utf-8")
    return d


SYSTEM = """\
system:
  - fides_key: shop
    name: Shop
    system_type: Service
    meta: {jurisdiction: EU}
    privacy_declarations:
      - name: Orders
        data_categories: [user.contact.email]
        data_use: essential.service
        data_subjects: [customer]
"""


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("system:\n  - fides_key: [unclosed\n", 3, "YAML"),
        (SYSTEM.replace("    name: Shop\n", "    name: Shop\n    owner: sales\n"), 4, "unknown key 'owner'"),
        (SYSTEM.replace("        data_use:", "        data_usage: x\n        data_use:"), 9, "unknown key"),
        ("sytem: []\n", 1, "did you mean 'system'"),
        (SYSTEM.replace("user.contact.email", "user.contact.emial"), 8, "unknown data category 'user.contact.emial'"),
        (SYSTEM.replace("essential.service", "essential.servise"), 9, "unknown data use"),
        (SYSTEM.replace("[customer]", "[custmer]"), 10, "unknown data subject"),
        (SYSTEM + SYSTEM.replace("system:\n", ""), 11, "duplicate system 'shop'"),
        (SYSTEM.replace("    system_type: Service\n", ""), 2, "system_type"),
        (SYSTEM.replace("Service", "Quantum computer"), 4, "meta.kind"),
        (
            SYSTEM.replace(
                "    privacy_declarations:",
                "    egress:\n      - {fides_key: nowhere, type: system}\n    privacy_declarations:",
            ),
            7,
            "unknown system 'nowhere'",
        ),
        (
            SYSTEM.replace("    system_type: Service\n", "    system_type: Service\n    dataset_references: [ghost]\n"),
            5,
            "unknown dataset 'ghost'",
        ),
    ],
)
def test_bad_manifests_are_refused_with_a_located_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    d = manifest_dir(tmp_path, text)
    out = tmp_path / "out"
    lines = one_line_errors(run("import", "fides", str(d), "--out", str(out)))
    located = [entry for entry in lines if re.match(rf".*bad\.yml:{line}:\d+: ", entry)]
    assert located and message in located[0], lines
    assert not out.exists()


def test_a_system_nobody_located_needs_jurisdiction(tmp_path: Path) -> None:
    d = manifest_dir(tmp_path, SYSTEM.replace("    meta: {jurisdiction: EU}\n", ""))
    lines = one_line_errors(run("import", "fides", str(d), "--out", str(tmp_path / "out")))
    assert re.match(r".*bad\.yml:2:\d+: system 'shop': Fides does not say where", lines[0]), lines
    assert run("import", "fides", str(d), "--out", str(tmp_path / "out"), "--jurisdiction", "EU").exit_code == 0
    assert (
        "two-letter"
        in one_line_errors(run("import", "fides", str(d), "--out", str(tmp_path / "o2"), "--jurisdiction", "europe"))[0]
    )


def test_hostile_text_is_escaped_in_the_output(tmp_path: Path) -> None:
    evil = 'Shop\\x1b[31m\\n  - id: injected\\u2028\\"'
    d = manifest_dir(
        tmp_path,
        SYSTEM.replace("    name: Shop\n", f'    name: "{evil}"\n    description: "line\\nbreak # not a comment"\n'),
    )
    out = tmp_path / "out"
    assert run("import", "fides", str(d), "--out", str(out)).exit_code == 0
    text = (out / "systems" / "shop.yaml").read_text(encoding="utf-8")
    assert "\x1b" not in text and "\u2028" not in text and "\n  - id: injected" not in text
    system = load(out / "systems" / "shop.yaml")["systems"][0]
    assert system["name"] == 'Shop\x1b[31m\n  - id: injected\u2028"'
    assert system["description"] == "line\nbreak # not a comment"
    assert run("validate", str(out)).exit_code == 0
    assert emit.safe_text("a\nb\x1b") == "a\\nb\\x1b"


# --- where the output goes ---------------------------------------------------------------------------------------


def test_never_writes_over_or_inside_an_input(tmp_path: Path) -> None:
    d = manifest_dir(tmp_path, SYSTEM)
    before = {p: p.read_bytes() for p in d.rglob("*") if p.is_file()}
    for out in (d, d / "inventory", tmp_path):
        lines = one_line_errors(run("import", "fides", str(d), "--out", str(out), "--force"))
        assert "refusing to write over or inside the input" in lines[0], lines
    assert {p: p.read_bytes() for p in d.rglob("*") if p.is_file()} == before


def test_an_existing_directory_is_replaced_only_when_it_is_a_previous_import(tmp_path: Path) -> None:
    d = manifest_dir(tmp_path, SYSTEM)
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me", encoding="utf-8")
    assert "not empty" in one_line_errors(run("import", "fides", str(d), "--out", str(out)))[0]
    assert "not a previous import" in one_line_errors(run("import", "fides", str(d), "--out", str(out), "--force"))[0]
    assert (out / "mine.txt").read_text(encoding="utf-8") == "keep me"

    shutil.rmtree(out)
    assert run("import", "fides", str(d), "--out", str(out)).exit_code == 0
    (out / "systems" / "stale.yaml").write_text("systems: []\n", encoding="utf-8")
    assert run("import", "fides", str(d), "--out", str(out), "--force").exit_code == 0
    assert not (out / "systems" / "stale.yaml").exists() and (out / "systems" / "shop.yaml").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging directory left behind


def test_what_is_not_imported_is_said_not_dropped(tmp_path: Path) -> None:
    text = (
        SYSTEM.replace("    meta:", "    cookies:\n      - name: _ga\n    meta:")
        + "policy:\n  - fides_key: p\n    rules: []\n"
    )
    d = manifest_dir(tmp_path, text)
    out = tmp_path / "out"
    assert run("import", "fides", str(d), "--out", str(out)).exit_code == 0
    report = (out / "FIDES-IMPORT.md").read_text(encoding="utf-8")
    assert re.search(r"bad\.yml:5:5: cookies \(deprecated by fideslang 3\) not imported", report), report
    assert re.search(r"bad\.yml:13:1: policy resources are not imported", report), report
