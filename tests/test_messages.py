"""Findings in the DPO's language: every text of the policy pack has a French translation in policies/locale/fr.po,
translations keep their placeholders, and `--lang fr` shows no English finding message, title or remediation on the
sample and on a generated inventory, while JSON and SARIF keep the English `message` byte for byte."""

from __future__ import annotations

import html
import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po
from tests.conftest import MINIMAL, POLICIES, SAMPLE, commit_all, generate_inventory, run_auditor

from auditor import pipeline
from auditor.findings import Finding
from auditor.i18n import Translator, catalogue
from auditor.localize import Localizer
from auditor.policy import load_pack, make_engine, messages
from auditor.policy.catalogue import Clause, PolicyPack
from auditor.report import facts

PO = messages.catalogue_path(POLICIES, "fr")
HINT = (
    "Rules build their messages with lib.findings.msg(fmt, args) (README, 'Writing rules'); every message format, "
    "rule title and remediation needs a French entry in policies/locale/fr.po. Add the entries below (msgstr in "
    "French, same placeholders; %[n]s picks the n-th argument if French needs another order):\n\n"
)


@pytest.fixture(scope="module")
def pack() -> PolicyPack:
    return load_pack(POLICIES)


@pytest.fixture(scope="module")
def audits(pack: PolicyPack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Finding]]:
    """Findings of the sample and of a generated inventory, one embedded engine for both."""
    generated = generate_inventory(tmp_path_factory.mktemp("gen") / "S", "S", 7)
    engine = make_engine("embedded")
    return {
        name: pipeline.audit(pipeline.load([path]), pack, engine, cache=None).findings
        for name, path in (("sample", SAMPLE), ("generated S", generated))
    }


def test_no_text_of_the_pack_lacks_a_french_translation(pack: PolicyPack) -> None:
    missing = messages.missing(pack, "fr")
    assert not missing, (
        f"{len(missing)} text(s) of the policy pack have no French translation:\n"
        + "".join(f"  {s.kind} of {s.owner} ({s.where}): {s.msgid!r}\n" for s in missing)
        + "\n"
        + HINT
        + "\n\n".join(messages.po_entry(s) for s in missing)
    )


def test_every_message_of_the_sources_is_found(pack: PolicyPack) -> None:
    # The extraction reads msg(...) formats and literal finding(...) messages: a sanity floor, so that a broken
    # extractor cannot make the test above pass by finding nothing.
    found = [s for s in messages.sources(pack) if s.kind == "message"]
    assert len(found) > 150
    assert any(s.msgid == "flow %s carries personal data without TLS" for s in found)
    assert len([s for s in messages.sources(pack) if s.kind == "remediation"]) == len(
        [r for r in pack.rules if r.remediation]
    )


def _entries() -> list[tuple[str | None, str, str]]:
    with PO.open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    return [(m.context, str(m.id), str(m.string)) for m in catalogue if m.id]


def test_translations_keep_the_placeholders_of_their_msgid() -> None:
    wrong = []
    for context, msgid, msgstr in _entries():
        if Counter(messages.verbs(msgid)) != Counter(messages.verbs(msgstr)):
            wrong.append(f"{context or ''} {msgid!r}: {messages.verbs(msgid)} vs {msgstr!r}: {messages.verbs(msgstr)}")
    assert not wrong, "placeholders differ between msgid and msgstr:\n" + "\n".join(wrong)


def test_the_catalogue_has_no_fuzzy_empty_or_stale_entry(pack: PolicyPack) -> None:
    with PO.open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    empty = [m.id for m in catalogue if m.id and not m.string]
    used = {s.msgid for s in messages.sources(pack)}
    stale = [m.id for m in catalogue if m.id and m.context is None and m.id not in used]
    assert not fuzzy and not empty, f"fuzzy: {fuzzy}, untranslated: {empty}"
    assert not stale, f"entries no rule uses any more (remove them from {PO.name}): {stale}"


NBSP = "\u00a0"
LOOSE = re.compile(r" [:;?!](?=\s|$)|« | »")


def test_french_typography_is_consistent() -> None:
    """French texts put a no-break space before : ; ? ! and inside « » (so that a line never starts with the colon):
    the catalogue, the fixed strings and the clauses' French summaries, remediations and reasons (excerpts are quoted
    verbatim from the policy)."""
    loose = [f"fr.po: {msgstr!r}" for _, _, msgstr in _entries() if LOOSE.search(msgstr)]
    loose += [f"fr.json {k}: {v!r}" for k, v in catalogue("fr").items() if LOOSE.search(v)]
    for name in ("clauses.yaml", "overlays.yaml"):
        for clause in yaml.safe_load((POLICIES / name).read_text(encoding="utf-8")).get("clauses", []):
            for key in ("summary_fr", "remediation_fr", "reason_fr"):
                if LOOSE.search(str(clause.get(key, ""))):
                    loose.append(f"{name} {clause.get('id')} {key}: {clause[key]!r}")
    assert not loose, "use a no-break space (U+00A0) before : ; ? ! and inside « »:\n" + "\n".join(loose)
    assert not [v for v in catalogue("en").values() if NBSP in v]  # English keeps its own typography
    assert Translator("fr")("punct.colon") == NBSP + ":" and Translator("en")("punct.colon") == ":"


def test_go_verbs_render_like_rego_sprintf() -> None:
    assert messages.sprintf("%s has %d (%v) %%", ["a", 3, True]) == "a has 3 (true) %"
    assert messages.sprintf("%[2]s then %[1]s, %s", ["x", "y"]) == "y then x, y"
    assert messages.verbs("%[2]s %s %d") == [(2, "s"), (3, "s"), (4, "d")]
    with pytest.raises(messages.FormatError):
        messages.sprintf("%x", [1])
    with pytest.raises(messages.FormatError):
        messages.sprintf("%s %s", ["only one"])


def test_a_fact_absent_from_the_inventory_prints_as_not_stated_in_either_language() -> None:
    # Rules pass a fact as it is; a null one (absent from the inventory) is "(not stated)", translated as a value.
    fr = messages.Catalogue(
        "fr", {"flow %s: trigger %s": "flux %s : déclencheur %s"}, {"(not stated)": "(non indiqué)"}
    )
    assert messages.english("flow %s: trigger %s", ["f", None]) == "flow f: trigger (not stated)"
    assert fr.render("flow %s: trigger %s", ["f", None]) == "flux f : déclencheur (non indiqué)"
    assert messages.english("%s / %s", [["a", 1], {"b": True, "a": None}]) == '["a",1] / {"a":null,"b":true}'


def test_a_joined_list_is_translated_item_by_item_with_its_separator() -> None:
    # lib.findings.joined(sep, items): a list of any length, each item a phrase (or a value) of its own.
    item = {"text": "f1: trigger scheduled", "fmt": "%s: trigger %s", "args": ["f1", "scheduled"]}
    listed = {"text": "f1: trigger scheduled; id-2", "join": "; ", "items": [item, "id-2"]}
    fr = messages.Catalogue(
        "fr", {"pushed (%s)": "poussé (%s)", "%s: trigger %s": "%s : déclencheur %s"}, {"; ": " ; "}
    )
    assert messages.english("pushed (%s)", [listed]) == "pushed (f1: trigger scheduled; id-2)"
    assert fr.render("pushed (%s)", [listed]) == "poussé (f1 : déclencheur scheduled ; id-2)"
    untranslated = {**listed, "items": [{**item, "fmt": "%s: sent %s"}]}
    assert fr.render("pushed (%s)", [untranslated]) is None  # the whole message stays English, never half


def test_the_english_text_is_what_the_rego_helper_prints(pack: PolicyPack, audits: dict[str, list[Finding]]) -> None:
    """auditor renders a finding's English message from its format and arguments (rules no longer print it); the
    pack's Rego tests read it through lib.findings.text. Both must print the same text for every finding of real
    inventories, or a Rego test would assert a message users never see."""
    import regorus

    engine = regorus.Engine()
    lib = next(m for m in pack.modules if m.package == "lib.findings")
    engine.add_policy(lib.name, lib.text)
    checked = 0
    seen: set[tuple[str, str]] = set()
    for name, findings in audits.items():
        for f in findings:
            if not f.message_fmt or (f.message_fmt, f.message_args) in seen:
                continue
            seen.add((f.message_fmt, f.message_args))
            args = json.loads(f.message_args) if f.message_args else []
            engine.set_input({"fmt": f.message_fmt, "args": args})
            rego = engine.eval_query("x := data.lib.findings.text(input)")["result"][0]["bindings"]["x"]
            assert messages.english(f.message_fmt, args) == rego, f"{name}: {f.rule_id}: {f.message}"
            checked += 1
    assert checked > 300


def test_french_findings_have_no_english_message_title_or_remediation(
    pack: PolicyPack, audits: dict[str, list[Finding]]
) -> None:
    loc = Localizer(pack, "fr")
    english = []
    rules = set()
    for name, findings in audits.items():
        assert findings
        for f in findings:
            rules.add(f.rule_id)
            for what, fr, en in (
                ("message", loc.message(f), f.message),
                ("title", loc.title(f), f.title),
                ("remediation", loc.remediation(f), f.remediation),
            ):
                if fr == en or "(not stated)" in fr:
                    english.append(f"{name}: {f.rule_id} {what}: {en!r}")
    assert len(rules) > 40  # the two inventories exercise most areas of the pack
    assert not english, "English left in French output:\n" + "\n".join(sorted(set(english)))


def test_a_localized_finding_written_directly_equals_its_generic_dump(
    pack: PolicyPack, audits: dict[str, list[Finding]]
) -> None:
    from auditor.formats.json_format import finding_dict, render_chunks

    loc = Localizer(pack, "fr")
    found = audits["sample"]
    written = b"".join(render_chunks(found, loc=loc))
    doc = {**json.loads(written), "findings": [finding_dict(f, loc) for f in found]}
    assert written == (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def test_a_stored_audit_keeps_what_renders_its_messages_in_french(audits: dict[str, list[Finding]]) -> None:
    # check --cache keeps whole audits that a later --diff-base run reads back for the base revision, in any language.
    from auditor.findings import from_compressed_table, to_compressed_table

    found = audits["sample"]
    files = sorted({f.location.file for f in found})
    table = to_compressed_table(found, files)
    assert table is not None
    back = from_compressed_table(bytes(table), files)
    assert back is not None and back.gone(set()) == found
    assert all(f.message_fmt for f in found if f.message_args)


def test_english_stays_the_default(pack: PolicyPack, audits: dict[str, list[Finding]]) -> None:
    loc = Localizer(pack)
    for f in audits["sample"]:
        assert loc.message(f) == f.message and loc.remediation(f) == f.remediation and loc.title(f) == f.title


def test_check_lang_fr_text_and_junit_are_french() -> None:
    text = run_auditor("check", str(SAMPLE), "--lang", "fr")
    assert text.code == 1, text.err
    assert "le flux " in text.out and "correction\u00a0: " in text.out
    english = run_auditor("check", str(SAMPLE), "--format", "json")
    for f in json.loads(english.out)["findings"]:
        assert f"{f['message']}\n" not in text.out and f"{f['message']} [" not in text.out
        assert f"correction\u00a0: {f['remediation']}\n" not in text.out
    junit = run_auditor("check", str(SAMPLE), "--format", "junit", "--lang", "fr")
    assert junit.code == 1 and "le flux " in junit.out and "fix: Ajouter" in junit.out


def test_diff_mode_names_new_and_fixed_findings_in_french(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "inventory").mkdir(parents=True)
    app = root / "inventory" / "app.yaml"
    added = "      - id: app.home_gps\n        category: user.location.precise\n        purposes: [support]\n"

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.email=ci@example.com", "-c", "user.name=CI", *args], cwd=root, check=True)

    app.write_text(MINIMAL, encoding="utf-8")
    commit_all(root)
    app.write_text(MINIMAL + added, encoding="utf-8")

    def french_text() -> str:
        return run_auditor("check", "inventory", "--diff-base", "HEAD", "--lang", "fr", "--no-color", cwd=root).out

    doc = json.loads(run_auditor("check", "inventory", "--format", "json", "--lang", "fr", cwd=root).out)
    added_findings = [f for f in doc["findings"] if f["subject"]["id"] == "app.home_gps"]
    out = french_text()
    new = [line for line in out.splitlines() if line.startswith("  nouveau ")]
    assert added_findings and len(new) == len(added_findings)
    for f in added_findings:
        assert any(f["localized"]["message"] in line and "[ouvert]" in line for line in new), f["message"]
        assert f["message"] not in out
    git("commit", "-qam", "add the field")
    app.write_text(MINIMAL, encoding="utf-8")
    out = french_text()
    fixed = [line for line in out.splitlines() if line.startswith("  corrigé ")]
    assert len(fixed) == len(added_findings)
    for f in added_findings:
        assert any(line.endswith(f["localized"]["message"]) for line in fixed) and f["message"] not in out


def test_json_and_sarif_keep_english_and_add_the_translation(tmp_path: Path) -> None:
    plain = run_auditor("check", str(SAMPLE), "--format", "json")
    french = run_auditor("check", str(SAMPLE), "--format", "json", "--lang", "fr")
    again = run_auditor("check", str(SAMPLE), "--format", "json", "--lang", "fr")
    assert french.out == again.out  # deterministic
    en = json.loads(plain.out)["findings"]
    fr = json.loads(french.out)["findings"]
    assert [{k: v for k, v in f.items() if k != "localized"} for f in fr] == en  # English untouched
    assert all(f["localized"]["lang"] == "fr" and f["localized"]["message"] != f["message"] for f in fr)
    assert all("localized" not in f for f in en)
    sarif = json.loads(run_auditor("check", str(SAMPLE), "--format", "sarif", "--lang", "fr").out)
    results = sarif["runs"][0]["results"]
    assert results and all(r["properties"]["localized"]["message"] for r in results)
    assert all(not r["message"]["text"].startswith(r["properties"]["localized"]["message"]) for r in results)


def test_report_lang_fr_has_no_english_finding_text(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    run = run_auditor("report", str(SAMPLE), "--format", "html", "--lang", "fr", "-o", str(out))
    assert run.code == 0, run.err
    page = html.unescape(out.read_text(encoding="utf-8"))
    findings = json.loads(run_auditor("check", str(SAMPLE), "--format", "json", "--lang", "fr").out)["findings"]
    for f in findings:
        assert f["message"] not in page, f["message"]
        assert f["localized"]["message"] in page
        assert f["remediation"] not in page, f["remediation"]
        assert f["localized"]["remediation"] in page
        assert f["title"] not in page, f["title"]


def _coverage(*statuses: str) -> list[facts.ClauseCoverage]:
    out = []
    for i, status in enumerate(statuses):
        checkability = "not_checkable" if status == "not_checkable" else "machine"
        clause = Clause(id=f"X.{i}", kind="security", checkability=checkability, summary_en="s")
        out.append(facts.ClauseCoverage(clause, status, (), (), ()))
    return out


def test_an_area_is_compliant_only_when_every_clause_was_checked_and_passed() -> None:
    def verdict(*statuses: str) -> str:
        return facts.area_summaries(_coverage(*statuses))[0].verdict

    assert verdict("not_checkable", "not_checkable") == "not_checkable"
    assert verdict("compliant", "not_checkable") == "compliant_checkable"
    assert verdict("compliant", "compliant") == "compliant"
    assert verdict("findings", "not_checkable") == "to_review"
    assert Translator("fr")("area_verdict.not_checkable") == "non vérifiable automatiquement"
    assert "conforme" not in Translator("fr")("area_verdict.not_checkable")


def test_the_french_report_does_not_call_the_unverifiable_area_compliant(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    assert run_auditor("report", str(SAMPLE), "--format", "markdown", "--lang", "fr", "-o", str(out)).code == 0
    row = next(line for line in out.read_text(encoding="utf-8").splitlines() if line.startswith("| Non vérifiable"))
    assert row.rstrip(" |").endswith("aucun constat (vérification partielle)"), row
