"""The lineage stage: propagation, cycles, de-identification and re-joins, multi-hop findings, `auditor lineage`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SAMPLE, Run

from auditor import inventory
from auditor.lineage import analyse

HEADER = """\
purposes:
  - {id: analytics, name: Analytics, policy_purpose: IMPROVE}
  - {id: ads, name: Ads, policy_purpose: PARTNER.AD_MEASURE}
partners:
  - {id: adnet, name: Ad network, role: advertiser, operator: third_party, jurisdiction: US}
"""


def system(sid: str, jurisdiction: str = "EU", fields: str = "", extra: str = "") -> str:
    text = f"""\
  - id: {sid}
    name: {sid}
    kind: backend
    operator: first_party
    jurisdiction: {jurisdiction}
{extra}"""
    if fields:
        text += "    fields:\n" + fields
    return text


def field(fid: str, category: str, identifiability: str = "identified", extra: str = "") -> str:
    attrs = f"id: {fid}, category: {category}, identifiability: {identifiability}, purposes: [analytics]{extra}"
    return f"      - {{{attrs}}}\n"


def flow(fid: str, src: str, dst: str, fields: str, purpose: str = "analytics") -> str:
    return f"""\
  - id: {fid}
    from: {src}
    to: {dst}
    fields: [{fields}]
    purpose: {purpose}
    legal_basis: {{kind: legitimate_interest}}
"""


def load(inventory_dir: Callable[..., Path], text: str) -> Path:
    return inventory_dir({"inv.yaml": text})


# ----------------------------------------------------------------------------------------------- cycles


CYCLES = (
    HEADER
    + "systems:\n"
    + system("app", extra="    subject_jurisdictions: [EU]\n", fields=field("app.email", "user.contact.email"))
    + system("a")
    + system("b")
    + system("c")
    + "flows:\n"
    + flow("app-to-a", "app", "a", "app.email")
    + flow("a-to-b", "a", "b", "app.email")
    + flow("b-to-a", "b", "a", "app.email")  # bidirectional replication
    + flow("b-to-c", "b", "c", "app.email")
    + flow("c-to-a", "c", "a", "app.email")  # a longer sync loop in the same component
)


def test_cycles_terminate_and_each_loop_is_reported_once(inventory_dir: Callable[..., Path]) -> None:
    inv = inventory.load([load(inventory_dir, CYCLES)])
    lin = analyse(inv)
    fl = lin.fields["app.email"]
    assert fl.reached() == ["a", "app", "b", "c"]
    assert fl.path("c") == ("app", "a", "b", "c")
    # one strongly connected component {a, b, c}: one report, closed by the flow syncing back to where data enters
    assert len(lin.cycles) == 1
    cycle = lin.cycles[0]
    assert cycle.members == ("a", "b", "c")
    assert cycle.closing_flow == "b-to-a"
    assert cycle.path == ("a", "b", "a")


def test_sync_loop_finding_is_reported_once_at_the_closing_flow(
    inventory_dir: Callable[..., Path], auditor: Callable[..., Run]
) -> None:
    d = load(inventory_dir, CYCLES)
    run = auditor("check", str(d), "--format", "json", "--fail-on", "never", "--law", "none")
    assert run.code == 0, run.err
    loops = [f for f in json.loads(run.out)["findings"] if f["rule"] == "creality.lineage.sync_loop"]
    assert len(loops) == 1
    assert loops[0]["subject"] == {"kind": "flow", "id": "b-to-a"}
    assert loops[0]["severity"] == "info"
    assert loops[0]["evidence"] == ["a", "b", "a"]
    text = (d / "inv.yaml").read_text().splitlines()
    assert text[loops[0]["location"]["line"] - 1].strip().startswith("to: a")


# ------------------------------------------------------------------------------ de-identification, re-join


def deid_inventory(rejoin: bool) -> str:
    text = (
        HEADER
        + "systems:\n"
        + system(
            "app",
            extra="    subject_jurisdictions: [EU]\n",
            fields=field("app.user_id", "user.unique_id", extra=", join_key: true")
            + field("app.profile", "user.behavior", "pseudonymous"),
        )
        + system(
            "deid",
            extra="    deidentifies: true\n",
            fields=field("deid.token", "user.unique_id.pseudonymous", "deidentified", ", join_key: true"),
        )
        + system("stats")
        + system("mart")
        + "flows:\n"
        + flow("app-to-deid", "app", "deid", "app.user_id, app.profile")
        + flow("deid-to-stats", "deid", "stats", "deid.token, app.profile")
        + flow("stats-to-mart", "stats", "mart", "deid.token, app.profile")
    )
    if rejoin:
        text += flow("app-to-mart", "app", "mart", "app.user_id")
    return text


def test_deidentification_lowers_what_passes_through_when_nothing_rejoins(inventory_dir: Callable[..., Path]) -> None:
    lin = analyse(inventory.load([load(inventory_dir, deid_inventory(rejoin=False))]))
    profile = lin.fields["app.profile"]
    assert profile.identifiability("app") == "pseudonymous"
    assert profile.identifiability("deid") == "pseudonymous"  # the step's input is what it receives
    assert profile.identifiability("stats") == "deidentified"
    assert profile.identifiability("mart") == "deidentified"
    assert lin.fields["deid.token"].rejoined_at == ()
    assert "lineage_rejoins" not in lin.flow_facts.get("stats-to-mart", {})


def test_rejoin_downstream_reverts_identifiability_and_is_attached_to_the_completing_flow(
    inventory_dir: Callable[..., Path],
) -> None:
    lin = analyse(inventory.load([load(inventory_dir, deid_inventory(rejoin=True))]))
    profile, token = lin.fields["app.profile"], lin.fields["deid.token"]
    assert profile.rejoined_at == ("mart",)
    assert profile.identifiability("stats") == "deidentified"  # upstream of the join it still holds
    assert profile.identifiability("mart") == "pseudonymous"  # reverted to the declared value
    assert token.identifiability("mart") == "identified"  # reverted to the highest input of the step
    facts = lin.flow_facts["stats-to-mart"]["lineage_rejoins"]
    assert len(facts) == 1
    assert facts[0]["node"] == "mart"
    assert facts[0]["fields"] == ["deid.token", "app.profile"]
    assert facts[0]["identifiers"] == ["app.user_id"]
    assert facts[0]["identifier_flows"] == ["app-to-mart"]
    assert facts[0]["path"] == ["deid", "stats", "mart"]


def test_identifier_forwarded_by_a_deidentification_step_is_not_lowered(inventory_dir: Callable[..., Path]) -> None:
    text = deid_inventory(rejoin=False).replace(
        "[deid.token, app.profile]", "[deid.token, app.profile, app.user_id]", 1
    )
    lin = analyse(inventory.load([load(inventory_dir, text)]))
    assert lin.fields["app.user_id"].identifiability("stats") == "identified"
    # ... and it re-identifies the de-identified data that travels with it
    assert lin.fields["app.profile"].rejoined_at == ("stats",)


# -------------------------------------------------------------------------------- multi-hop and coverage


def test_flow_carrying_a_field_its_source_neither_holds_nor_receives_travels_through_an_implied_hop(
    inventory_dir: Callable[..., Path],
) -> None:
    text = (
        HEADER
        + "systems:\n"
        + system("app", extra="    subject_jurisdictions: [EU]\n", fields=field("app.email", "user.contact.email"))
        + system("crm")
        + system("sync", jurisdiction="US")
        + "flows:\n"
        + flow("crm-to-sync", "crm", "sync", "app.email")  # no declared flow brings app.email to crm
        + flow("sync-to-adnet", "sync", "adnet", "app.email", purpose="ads")
    )
    lin = analyse(inventory.load([load(inventory_dir, text)]))
    email = lin.fields["app.email"]
    # the field does not start afresh at crm: an undeclared path from where it is declared is assumed
    assert email.path("adnet") == ("app", "crm", "sync", "adnet")
    assert email.flows("adnet") == ("crm-to-sync", "sync-to-adnet")
    assert email.implied == ("crm",) and not email.is_root("crm")
    assert lin.flow_facts["crm-to-sync"]["lineage_implied"] == [
        {"field": "app.email", "index": 0, "origin": "app", "fed_by_others": False}
    ]
    assert "lineage_implied" not in lin.flow_facts["sync-to-adnet"]  # sync does receive it, from crm
    (entry,) = lin.flow_facts["sync-to-adnet"]["lineage_reach"]
    assert entry["covered_by"] == "none"  # ads is not among the field's purposes and no consent is cited
    assert entry["hops"] == 3
    assert entry["implied"] == ["app", "crm"]
    assert entry["declared_here"] is False


def test_sample_multi_hop_email_to_advertiser_is_reported_at_the_completing_flow(auditor: Callable[..., Run]) -> None:
    run = auditor("check", str(SAMPLE), "--format", "json", "--fail-on", "never")
    assert run.code == 0, run.err
    found = json.loads(run.out)["findings"]
    (hit,) = [f for f in found if f["rule"] == "creality.lineage.multi_hop_direct_identifier"]
    assert hit["clause"] == "II.III.a"
    assert hit["subject"] == {"kind": "flow", "id": "reverse-etl-to-adpixel"}
    assert hit["evidence"] == ["app", "account", "warehouse", "reverse-etl", "adpixel"]
    # located at app.email_hash in the fields of the advertiser hop
    lines = (SAMPLE / "flows" / "marketing.yaml").read_text().splitlines()
    assert hit["location"]["file"].endswith("flows/marketing.yaml")
    start = next(i for i, line in enumerate(lines) if "id: reverse-etl-to-adpixel" in line)
    assert hit["location"]["line"] - 1 > start
    assert "app.email_hash" in lines[hit["location"]["line"] - 1]
    rules = {(f["rule"], f["subject"]["id"]) for f in found}
    assert ("creality.lineage.reidentification_join", "aggregate-to-recsys") in rules
    assert ("creality.lineage.onward_transfer_without_mechanism", "warehouse-to-crm-segments") in rules
    # II.IV.2.e: the hop to the reverse-ETL processor has no consent; the in-app ad-measurement opt-in cited on the
    # upload covers the purpose for data collected in the app (the channel of an internal hop is not judged), so
    # the advertiser hop is reported under II.III.a only (a hashed e-mail is never "non-identifiable").
    assert ("creality.lineage.transitive_undeclared_recipient", "warehouse-to-reverse-etl") in rules
    assert ("creality.lineage.transitive_undeclared_recipient", "reverse-etl-to-adpixel") not in rules


def test_fingerprints_of_lineage_findings_are_stable(auditor: Callable[..., Run]) -> None:
    a = auditor("check", str(SAMPLE), "--format", "json", "--fail-on", "never")
    b = auditor("check", str(SAMPLE), "--format", "json", "--fail-on", "never")
    assert a.out == b.out


# ---------------------------------------------------------------------------------------- auditor lineage


def flows_with_findings(auditor: Callable[..., Run]) -> set[str]:
    run = auditor("check", str(SAMPLE), "--format", "json", "--fail-on", "never")
    return {f["subject"]["id"] for f in json.loads(run.out)["findings"] if f["subject"]["kind"] == "flow"}


def test_lineage_text_shows_path_borders_and_violating_flows(auditor: Callable[..., Run]) -> None:
    run = auditor("lineage", str(SAMPLE), "--field", "app.email_hash")
    assert run.code == 0, run.err
    assert "app -> account -> warehouse -> reverse-etl -> adpixel" in run.out
    assert "border EU -> CN" in run.out
    assert "creality.lineage.multi_hop_direct_identifier" in run.out
    # a flow is marked exactly when the audit locates a finding at it
    marked = set(re.findall(r"^✗ (\S+)", run.out, re.M))
    listed = set(re.findall(r"^[✗ ] (\S+)  \(hop", run.out, re.M))
    assert listed == {"app-signup", "account-to-warehouse", "warehouse-to-reverse-etl", "reverse-etl-to-adpixel"}
    assert "reverse-etl-to-adpixel" in marked
    assert marked == listed & flows_with_findings(auditor)


def test_lineage_json_lists_edges_with_purpose_basis_and_violations(auditor: Callable[..., Run]) -> None:
    run = auditor("lineage", str(SAMPLE), "--system", "warehouse", "--format", "json")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    edges = {(e["direction"], e["flow"]): e for e in doc["edges"]}
    up = edges[("upstream", "account-to-warehouse")]
    assert (up["from"], up["to"], up["border"], up["purpose"]) == (
        "account",
        "warehouse",
        "EU -> CN",
        "service_improvement",
    )
    down = edges[("downstream", "reverse-etl-to-adpixel")]
    assert down["hops"] == 2 and down["violating"] is True
    assert edges[("upstream", "app-signup")]["hops"] == 2
    assert run.out == auditor("lineage", str(SAMPLE), "--system", "warehouse", "--format", "json").out


def test_lineage_mermaid_renders_jurisdictions_and_red_violating_edges(auditor: Callable[..., Run]) -> None:
    run = auditor("lineage", str(SAMPLE), "--field", "app.email_hash", "--format", "mermaid")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "flowchart LR"
    assert {line.strip() for line in lines if line.strip().startswith("subgraph")} == {
        'subgraph j0["CN"]',
        'subgraph j1["EU"]',
        'subgraph j2["US"]',
    }
    edges = [line for line in lines if "-->" in line]
    assert len(edges) == 4
    (style,) = [line for line in lines if line.strip().startswith("linkStyle")]
    red = [int(k) for k in style.split()[1].split(",")]
    assert "stroke:#d00" in style
    assert any("consent-app-tracking" in edges[k] for k in red)  # the advertiser hop is red
    # red exactly where the audit locates a finding: compare with the JSON view of the same edges
    view = json.loads(auditor("lineage", str(SAMPLE), "--field", "app.email_hash", "--format", "json").out)
    assert red == [k for k, e in enumerate(view["edges"]) if e["violating"]]
    assert {e["flow"] for e in view["edges"] if e["violating"]} == {e["flow"] for e in view["edges"]} & (
        flows_with_findings(auditor)
    )


def test_lineage_dot_is_valid_graphviz(auditor: Callable[..., Run], tmp_path: Path) -> None:
    run = auditor("lineage", str(SAMPLE), "--system", "reverse-etl", "--format", "dot")
    assert run.code == 0, run.err
    assert run.out.startswith("digraph lineage {") and run.out.rstrip().endswith("}")
    assert run.out.count("{") == run.out.count("}")
    assert '"reverse-etl" -> "adpixel"' in run.out
    assert re.search(r'"reverse-etl" -> "adpixel" \[[^\]]*color="red"', run.out)
    dot = shutil.which("dot")
    if dot is not None:  # graphviz parses it when installed
        proc = subprocess.run([dot, "-Tsvg"], input=run.out, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--field", "app.email", "--system", "app"),
        (),
        ("--field", "no.such.field"),
        ("--system", "nowhere"),
    ],
)
def test_lineage_usage_errors_exit_2_with_one_line(auditor: Callable[..., Run], args: tuple[str, ...]) -> None:
    run = auditor("lineage", str(SAMPLE), "--no-audit", *args)
    assert run.code == 2
    assert run.out == ""
    assert "Traceback" not in run.err
