"""Lineage accuracy (issue 13, classes 1, 2, 3, 4 and 10): every hop is judged, a field is judged where it really
travels, stores are judged on what they receive, channels where the message leaves, messages name the real reason.

Each expectation was written from the policy text before the tool was run; the property test at the end checks,
over generated inventories, that no combination of declared fields and flows lets a direct identifier reach a
third party unjudged.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import scenario_kit as kit
from tests.inprocess import InProcessAuditor

from auditor import inventory
from auditor.findings import Finding
from auditor.lineage import analyse
from auditor.lineage.analysis import consent_channel_covers
from auditor.lineage.propagate import identifies


@pytest.fixture(scope="module")
def audit() -> InProcessAuditor:
    return InProcessAuditor()


def hits(found: list[Finding], rule: str) -> list[tuple[str, str]]:
    return [(f.subject_id, f.attribute) for f in found if f.rule_id == rule]


def load(inv: dict[str, Any]) -> inventory.Inventory:
    return inventory.load_sources([("inv.yaml", json.dumps(inv).encode("utf-8"))])


# ------------------------------------------------------------------ class 1: the first hop is a fact like the others


def deidentified_store(first_hop_join: bool) -> dict[str, Any]:
    """app -> deid (a de-identification step that replaces the user id by a keyed token) -> stats. With
    ``first_hop_join``, stats — the first system after the step — also receives the user id from the app."""
    inv = kit.base()
    inv["purposes"].append({"id": "usage", "name": "Usage analysis", "policy_purpose": "DEID.ANALYTICS"})
    user_id = kit.field("app.user_id", "user.unique_id", ["support", "usage"], collection="derived", join_key=True)
    kit.system_of(inv, "app")["fields"].append(user_id)
    token = kit.field("deid.token", "user.unique_id.pseudonymous", ["usage"], collection="derived")
    token.update(identifiability="deidentified", protection="tokenized", join_key=True)
    inv["systems"].append(kit.store("deid", [token], deidentifies=True))
    inv["systems"].append(kit.store("stats"))
    basis = {"kind": "declared_purpose"}
    inv["flows"].append(kit.flow("app-to-deid", "app", "deid", ["app.user_id"], "usage", basis, channel="batch"))
    inv["flows"].append(kit.flow("deid-to-stats", "deid", "stats", ["deid.token"], "usage", basis, channel="batch"))
    if first_hop_join:
        inv["flows"].append(kit.flow("app-to-stats", "app", "stats", ["app.user_id"], "usage", basis))
    return inv


def test_reidentification_at_the_first_system_after_the_deidentification_step(audit: InProcessAuditor) -> None:
    """II.IV.2.d "les informations dépersonnalisées n'aideront pas à identifier votre identité": the token meets
    the user id at stats, the first system after the step. Expected: reidentification_join on deid-to-stats."""
    inv = deidentified_store(first_hop_join=True)
    lin = analyse(load(inv))
    assert lin.fields["deid.token"].rejoined_at == ("stats",)
    (fact,) = lin.flow_facts["deid-to-stats"]["lineage_rejoins"]
    assert (fact["node"], fact["fields"], fact["identifiers"], fact["identifier_flows"]) == (
        "stats",
        ["deid.token"],
        ["app.user_id"],
        ["app-to-stats"],
    )
    found = audit.check(inv)
    assert hits(found, "creality.lineage.reidentification_join") == [("deid-to-stats", "fields.0")]
    assert hits(audit.check(deidentified_store(first_hop_join=False)), "creality.lineage.reidentification_join") == []


def test_reidentification_by_an_identifier_the_store_declares_itself(audit: InProcessAuditor) -> None:
    """The store that receives the token holds the identifier it can be joined with: it declares it."""
    inv = deidentified_store(first_hop_join=False)
    own_id = kit.field("stats.user_id", "user.unique_id", ["usage"], collection="derived", join_key=True)
    kit.system_of(inv, "stats")["fields"] = [own_id]
    found = audit.check(inv)
    (hit,) = [f for f in found if f.rule_id == "creality.lineage.reidentification_join"]
    assert hit.subject_id == "deid-to-stats"
    assert "which also holds stats.user_id (declared or sent on there)" in hit.message


def test_first_hop_from_the_declaring_system_is_judged_for_purpose(audit: InProcessAuditor) -> None:
    """II.IV.2.e: the e-mail, collected for support only, sent straight from the app to an outside processor for
    surveys, with no consent. Two hops away it was reported; one hop (from the declaring system) must be too."""
    inv = kit.base()
    inv["purposes"].append({"id": "survey", "name": "Survey", "policy_purpose": "SURVEY"})
    inv["partners"].append(kit.partner("survey-tool", "processor", "processor"))
    basis = {"kind": "legitimate_interest"}
    inv["flows"].append(kit.flow("app-to-survey", "app", "survey-tool", ["app.email"], "survey", basis))
    found = audit.check(inv)
    assert hits(found, "creality.lineage.transitive_undeclared_recipient") == [("app-to-survey", "fields.0")]
    (hit,) = [f for f in found if f.rule_id == "creality.lineage.transitive_undeclared_recipient"]
    assert hit.message.startswith("app.email is sent to processor survey-tool for purpose survey")
    assert hit.evidence == ("app", "survey-tool")
    # the same use, relayed by the backend: the same verdict, two hops
    relayed = copy.deepcopy(inv)
    relayed["flows"][-1].update({"id": "backend-to-survey", "from": "backend"})
    assert hits(audit.check(relayed), "creality.lineage.transitive_undeclared_recipient") == [
        ("backend-to-survey", "fields.0")
    ]


# --------------------------------------------------- class 2: a field its source neither declares nor receives


def sdk_fed_after_login() -> dict[str, Any]:
    """The issue's example: the app's analytics SDK is fed the account number after login, but no flow brings
    account.user_id to the app."""
    inv = kit.base()
    user_id = kit.field("account.user_id", "user.unique_id", ["support"], collection="derived", join_key=True)
    inv["systems"].append(kit.store("account", [user_id]))
    inv["purposes"].append({"id": "audience", "name": "Audience", "policy_purpose": "PARTNER.ANALYTICS"})
    inv["consents"].append(
        {
            "id": "c-audience",
            "purpose": "audience",
            "channels": ["app"],
            "mechanism": "opt_in",
            "collected_by": "app",
            "withdrawal": True,
        }
    )
    cookie = {"name": "_a", "type": "analytics", "max_age_days": 30, "fires_before_consent": False}
    inv["partners"].append(
        kit.partner("sdk", "analytics", "processor", embedded_in=["app"], cookies=[{**cookie, "purpose": "audience"}])
    )
    kit.system_of(inv, "app")["consent_banner"] = {
        "reject_first_layer": True,
        "silence_means_refusal": True,
        "choice_ttl_days": 180,
    }
    basis = {"kind": "consent", "consent": "c-audience"}
    inv["flows"].append(kit.flow("app-sdk", "app", "sdk", ["account.user_id"], "audience", basis, channel="sdk"))
    return inv


def test_sdk_fed_an_identifier_its_app_never_receives_is_judged_and_the_gap_located(audit: InProcessAuditor) -> None:
    """Expected: II.III.a error at app-sdk fields.0 (the account number reaches an analytics partner, path
    account ~> app -> sdk), and a IV.a gap at the same node: "flow app-sdk carries field account.user_id that its
    source app neither holds nor receives". Before: nothing at all."""
    found = audit.check(sdk_fed_after_login())
    assert hits(found, "creality.lineage.multi_hop_direct_identifier") == [("app-sdk", "fields.0")]
    (gap,) = [f for f in found if f.rule_id == "creality.lineage.implied_source"]
    assert (gap.subject_id, gap.attribute, gap.severity, gap.verdict) == ("app-sdk", "fields.0", "warning", "gap")
    assert gap.message.startswith("flow app-sdk carries field account.user_id that its source app neither holds")
    assert hits(found, "creality.cookies.direct_id_to_partner") == []  # the direct rule judges declared fields
    (ident,) = [f for f in found if f.rule_id == "creality.lineage.multi_hop_direct_identifier"]
    assert ident.evidence == ("account", "app", "sdk")
    assert ident.message.endswith("(no flow declares account -> app)")


def test_the_same_identifier_declared_by_the_app_is_the_direct_rules(audit: InProcessAuditor) -> None:
    inv = sdk_fed_after_login()
    account = kit.system_of(inv, "account")
    kit.system_of(inv, "app")["fields"].append(account.pop("fields")[0] | {"id": "app.user_id"})
    inv["flows"][-1]["fields"] = ["app.user_id"]
    found = audit.check(inv)
    assert hits(found, "creality.cookies.direct_id_to_partner") == [("app-sdk", "fields.0")]
    assert hits(found, "creality.lineage.multi_hop_direct_identifier") == []
    assert hits(found, "creality.lineage.implied_source") == []


def test_a_system_that_only_sends_what_it_never_receives_still_holds_personal_data(audit: InProcessAuditor) -> None:
    """A job that declares nothing and receives nothing but sends the e-mail on holds personal data: its missing
    retention is reported (III.0), as for any store, instead of passing silently."""
    inv = kit.base()
    exporter = kit.store("exporter")
    del exporter["retention"]
    inv["systems"].append(exporter)
    basis = {"kind": "contract"}
    inv["flows"].append(kit.flow("exporter-to-backend", "exporter", "backend", ["app.email"], "support", basis))
    found = audit.check(inv)
    assert [s for s, _ in hits(found, "creality.retention.retention_unknown")] == ["exporter"]
    assert hits(found, "creality.lineage.implied_source") == [("exporter-to-backend", "fields.0")]


def test_a_loop_of_systems_none_of_which_receives_the_field_is_rooted_once() -> None:
    """crm and sync send the e-mail to each other, and nothing brings it to either: one implied hop (to the
    smaller id), and sync is then seen to receive it from crm."""
    inv = kit.base()
    inv["systems"] += [kit.store("crm"), kit.store("sync")]
    basis = {"kind": "contract"}
    inv["flows"].append(kit.flow("crm-to-sync", "crm", "sync", ["app.email"], "support", basis))
    inv["flows"].append(kit.flow("sync-to-crm", "sync", "crm", ["app.email"], "support", basis))
    inv["flows"] = [f for f in inv["flows"] if f["id"] != "app-to-backend"]
    lin = analyse(load(inv))
    email = lin.fields["app.email"]
    assert email.implied == ("crm",)
    assert email.path("sync") == ("app", "crm", "sync")
    assert lin.flow_facts["crm-to-sync"]["lineage_implied"][0]["fed_by_others"] is True
    assert "lineage_implied" not in lin.flow_facts.get("sync-to-crm", {})


# --------------------------------------------------- class 3: mixed stores, counting what a warehouse receives


def warehouse(keyed: bool) -> dict[str, Any]:
    """A warehouse receives usage profiles de-identified by a step, and support messages and the user's e-mail
    straight from the app (identified). With ``keyed``, the step sends each profile with its user token, a key the
    warehouse can join on."""
    inv = kit.base()
    inv["purposes"].append({"id": "usage", "name": "Usage analysis", "policy_purpose": "DEID.ANALYTICS"})
    app_fields = kit.system_of(inv, "app")["fields"]
    profile = kit.field("app.profile", "user.behavior", ["support", "usage"], collection="observed")
    profile["identifiability"] = "pseudonymous"
    message = kit.field("app.message", "user.content.private", ["support", "usage"])
    app_fields += [profile, message]
    token = kit.field("deid.token", "user.unique_id.pseudonymous", ["usage"], collection="derived")
    token.update(identifiability="deidentified", protection="tokenized", join_key=True)
    inv["systems"] += [kit.store("deid", [token], deidentifies=True), kit.store("warehouse", kind="warehouse")]
    basis = {"kind": "declared_purpose"}
    out = ["app.profile", *(["deid.token"] if keyed else [])]
    inv["flows"] += [
        kit.flow("app-to-deid", "app", "deid", ["app.profile"], "usage", basis, channel="batch"),
        kit.flow("deid-to-warehouse", "deid", "warehouse", out, "usage", basis, channel="batch"),
        kit.flow("app-to-warehouse", "app", "warehouse", ["app.message", "app.email"], "support", basis),
    ]
    return inv


def test_warehouse_mixing_received_deidentified_and_identified_data(audit: InProcessAuditor) -> None:
    """III.I.c "technologies d'isolation" (with II.IV.2.d): the warehouse declares nothing, it receives both.
    Expected: mixed_deidentified_store warning on the warehouse. Before: never, as it declares no field."""
    found = audit.check(warehouse(keyed=False))
    (mixed,) = [f for f in found if f.rule_id == "creality.security.mixed_deidentified_store"]
    assert mixed.subject_id == "warehouse"
    assert "de-identified data (app.profile) next to identified data (app.email, app.message)" in mixed.message
    # nothing to join the profile on: stored next to identified data, not re-identified (docs/interpretation.md 2.4)
    assert hits(found, "creality.lineage.reidentification_join") == []
    # the profile leaves the step de-identified: the II.IV.2.d flow rule agrees with the lineage
    assert analyse(load(warehouse(keyed=False))).flow_facts["deid-to-warehouse"]["lineage_lowered"] == [0]
    assert hits(found, "creality.deidentification.identified_data_in_deid_use") == []


def test_warehouse_joining_on_a_key_is_a_reidentification_not_a_mixed_store(audit: InProcessAuditor) -> None:
    """With the token travelling with the profile, the warehouse (which holds the e-mail) can re-join them."""
    found = audit.check(warehouse(keyed=True))
    assert hits(found, "creality.lineage.reidentification_join") == [("deid-to-warehouse", "fields.0")]
    assert hits(found, "creality.security.mixed_deidentified_store") == []


def test_deidentified_records_keyed_by_a_token_are_rejoined_statistics_are_not(audit: InProcessAuditor) -> None:
    """A join needs something to join on (docs/interpretation.md 2.4): per-record profiles whose printer id the step
    replaced by a token (protection tokenized) can be re-joined where the identifiers are; keyless statistics next to
    them make a mixed store instead."""
    inv = warehouse(keyed=False)
    stats = kit.field("deid.stats", "user.telemetry", ["usage"], collection="derived", identifiability="deidentified")
    kit.system_of(inv, "deid")["fields"] = [stats]
    inv["flows"][-2]["fields"] = ["deid.stats"]  # deid-to-warehouse
    found = audit.check(inv)
    assert hits(found, "creality.lineage.reidentification_join") == []
    assert [s for s, _ in hits(found, "creality.security.mixed_deidentified_store")] == ["warehouse"]
    stats["protection"] = "tokenized"  # per-record rows keyed by a token
    found = audit.check(inv)
    assert hits(found, "creality.lineage.reidentification_join") == [("deid-to-warehouse", "fields.0")]


def test_aggregate_data_never_makes_a_flow_a_transfer() -> None:
    """Aggregates computed in a French store and sent on to a US partner: no border fact (III.3, GDPR), while the
    same field as per-user records is one."""
    inv = kit.base()
    stats = kit.field("backend.stats", "user.telemetry", ["support"], collection="derived", identifiability="aggregate")
    kit.system_of(inv, "app")["fields"].append(stats | {"id": "app.stats"})
    inv["flows"][0]["fields"].append("app.stats")
    inv["partners"].append(kit.partner("us-lab", "research_institute", jurisdiction="US"))
    inv["flows"].append(kit.flow("stats-to-us", "backend", "us-lab", ["app.stats"], "support", {"kind": "contract"}))
    assert "lineage_borders" not in analyse(load(inv)).flow_facts.get("stats-to-us", {})
    kit.system_of(inv, "app")["fields"][-1]["identifiability"] = "pseudonymous"
    (border,) = analyse(load(inv)).flow_facts["stats-to-us"]["lineage_borders"]
    assert (border["subject"], border["to"], border["fields"]) == ("EU", "US", ["app.stats"])


def test_the_deidentification_step_and_the_app_are_not_mixed_stores(audit: InProcessAuditor) -> None:
    found = audit.check(warehouse(keyed=False))
    assert [f.subject_id for f in found if f.rule_id == "creality.security.mixed_deidentified_store"] == ["warehouse"]


def test_a_weakly_hashed_email_labelled_deidentified_counts_as_identified_in_a_store(audit: InProcessAuditor) -> None:
    """A store with the e-mail hash (labelled de-identified) and support messages does not keep "de-identified data
    next to identified data": the hash is the e-mail (II.IV.2.d and III.I.c agree)."""
    inv = kit.base()
    hashed = kit.field("app.email_hash", "user.contact.email", ["support"], collection="derived")
    hashed.update(identifiability="deidentified", protection="hashed_weak")
    message = kit.field("app.message", "user.content.private", ["support"])
    kit.system_of(inv, "app")["fields"] += [hashed, message]
    inv["flows"][0]["fields"] += ["app.email_hash", "app.message"]
    assert hits(audit.check(inv), "creality.security.mixed_deidentified_store") == []
    tokenised = copy.deepcopy(inv)
    kit.system_of(tokenised, "app")["fields"][1]["protection"] = "tokenized"  # now really de-identified
    assert hits(audit.check(tokenised), "creality.security.mixed_deidentified_store") == [("backend", "fields")]


# ----------------------------------------------------------- class 4: channels judged where messages leave


def test_consent_channels_are_judged_where_the_message_leaves_and_on_the_collection_surface() -> None:
    assert consent_channel_covers({"sms"}, "batch", "app")  # an internal feed preparing SMS offers
    assert consent_channel_covers({"sms"}, "sms", "app")
    assert not consent_channel_covers({"email"}, "sms", "app")  # the message leaves on another channel
    assert consent_channel_covers({"any"}, "push", "web")
    assert consent_channel_covers({"app"}, "api", "app")  # an in-app choice covers app data wherever it goes
    assert not consent_channel_covers({"app"}, "api", "web")  # ... not data collected on the web site
    assert consent_channel_covers({"app"}, "api", "backend")  # derived data: no surface to compare


def survey_by_consent(collected_on: str) -> dict[str, Any]:
    """Surveys (SURVEY) run by an outside tool on the in-app opt-in; the e-mail, collected for support only,
    reaches it through an internal batch feed from the backend."""
    inv = kit.base()
    if collected_on == "web":
        kit.system_of(inv, "app")["kind"] = "web"
        kit.system_of(inv, "app")["consent_banner"] = {
            "reject_first_layer": True,
            "silence_means_refusal": True,
            "choice_ttl_days": 180,
        }
    inv["purposes"].append({"id": "survey", "name": "Survey", "policy_purpose": "SURVEY"})
    inv["consents"].append(
        {"id": "c-survey", "purpose": "survey", "channels": ["app"], "mechanism": "opt_in", "withdrawal": True}
    )
    inv["partners"].append(kit.partner("survey-tool", "processor", "processor"))
    basis = {"kind": "consent", "consent": "c-survey"}
    inv["flows"].append(
        kit.flow("feed-survey", "backend", "survey-tool", ["app.email"], "survey", basis, channel="batch")
    )
    return inv


def test_internal_feed_is_not_judged_on_the_consent_channel(audit: InProcessAuditor) -> None:
    """Before: "no consent matches" (II.IV.2.e) on the batch feed, the consent's channel being `app`."""
    assert hits(audit.check(survey_by_consent("app")), "creality.lineage.transitive_undeclared_recipient") == []
    # a consent asked in the app does not cover data collected on the web site
    assert hits(audit.check(survey_by_consent("web")), "creality.lineage.transitive_undeclared_recipient") == [
        ("feed-survey", "fields.0")
    ]


# ---------------------------------------------------------------------- class 10: one notion of "identifies"


def test_a_weakly_hashed_email_called_deidentified_still_identifies() -> None:
    email = {"category": "user.contact.email", "identifiability": "deidentified", "protection": "hashed_weak"}
    assert identifies(email)
    assert not identifies({**email, "protection": "tokenized"})
    assert not identifies({**email, "identifiability": "aggregate"})
    assert identifies({"category": "user.behavior", "identifiability": "pseudonymous", "join_key": True})
    assert not identifies({"category": "user.behavior", "identifiability": "deidentified", "join_key": True})


def test_weakly_hashed_email_sold_as_deidentified_is_named_a_direct_identifier(audit: InProcessAuditor) -> None:
    inv = kit.base()
    inv["purposes"].append({"id": "usage", "name": "Usage analysis", "policy_purpose": "DEID.ANALYTICS"})
    hashed = kit.field("app.email_hash", "user.contact.email", ["usage"], collection="derived")
    hashed.update(identifiability="deidentified", protection="hashed_weak")
    kit.system_of(inv, "app")["fields"].append(hashed)
    inv["systems"].append(kit.store("stats"))
    basis = {"kind": "declared_purpose"}
    inv["flows"].append(kit.flow("app-to-stats", "app", "stats", ["app.email_hash"], "usage", basis))
    (hit,) = [f for f in audit.check(inv) if f.rule_id == "creality.deidentification.identified_data_in_deid_use"]
    assert hit.message.endswith(
        "it is a direct identifier (user.contact.email, hashed_weak), whatever its stated identifiability "
        "(deidentified)"
    )


# ------------------------------------------------ the property: no direct identifier reaches a third party unjudged

DIRECT = ["user.contact.email", "user.contact.phone_number", "user.unique_id", "user.contact.address", "user.name"]
OTHER = ["user.device", "user.telemetry", "user.device.cookie_id", "user.behavior", "system.operations"]
SHARING = {"advertiser", "analytics"}
# The generator's domain is every value the inventory format allows (its schema), not the oracle's judgement: a value
# added to the format is generated without touching this test.
FORMAT = inventory.schema()["$defs"]
LEVELS = FORMAT["field"]["properties"]["identifiability"]["enum"]
PROTECTIONS = FORMAT["field"]["properties"]["protection"]["enum"]
ROLES = FORMAT["partner"]["properties"]["role"]["enum"]
PURPOSES = {
    "svc": "FACILITATE",
    "mkt": "MKT.MESSAGES",
    "ads": "PARTNER.ADS",
    "audience": "PARTNER.ANALYTICS",
    "improve": "IMPROVE",
    "survey": "SURVEY",
    "legal": "LEGAL.OBLIGATION",
    "train": None,  # a purpose the policy does not declare
}
MECHANISMS = FORMAT["consent"]["properties"]["mechanism"]["enum"]
CHANNELS = FORMAT["flow"]["properties"]["channel"]["enum"]
CONSENT_CHANNELS = FORMAT["consent"]["properties"]["channels"]["items"]["enum"]
MESSAGE = {"email", "sms", "push", "phone"}
# Where a rule that judges the whole flow (its purpose, basis, consent, channel, recipient) locates its finding.
FLOW_WIDE = {"purpose", "legal_basis", "legal_basis.consent", "legal_basis.exemption", "channel", "to"}


@st.composite
def inventories(draw: st.DrawFn) -> dict[str, Any]:
    n_systems = draw(st.integers(1, 4))
    systems: list[dict[str, Any]] = []
    fields: list[str] = []
    for s in range(n_systems):
        kind = draw(st.sampled_from(["app", "web", "backend", "warehouse", "crm"]))
        own = []
        for k in range(draw(st.integers(0, 3))):
            fid = f"s{s}.f{k}"
            own.append(
                {
                    "id": fid,
                    "category": draw(st.sampled_from(DIRECT + OTHER)),
                    "identifiability": draw(st.sampled_from(LEVELS)),
                    "protection": draw(st.sampled_from(PROTECTIONS)),
                    "join_key": draw(st.booleans()),
                    "purposes": draw(st.lists(st.sampled_from(sorted(PURPOSES)), max_size=2, unique=True)),
                }
            )
            fields.append(fid)
        system = {
            "id": f"s{s}",
            "name": f"s{s}",
            "kind": kind,
            "operator": draw(st.sampled_from(["first_party", "first_party", "processor", "third_party"])),
            "jurisdiction": "FR",
            "deidentifies": draw(st.booleans()),
            "fields": own,
        }
        if kind in ("app", "web"):
            system["subject_jurisdictions"] = ["FR"]
        systems.append(system)
    if not fields:
        systems[0]["fields"] = [{"id": "s0.f0", "category": "user.contact.email", "purposes": ["svc"]}]
        fields.append("s0.f0")
    partners = [
        {"id": f"p{p}", "name": f"p{p}", "role": draw(st.sampled_from(ROLES)), "jurisdiction": "FR"}
        for p in range(draw(st.integers(1, 3)))
    ]
    consents = [
        {
            "id": f"c{c}",
            "purpose": draw(st.sampled_from(sorted(PURPOSES))),
            "mechanism": draw(st.sampled_from(MECHANISMS)),
            "channels": draw(st.lists(st.sampled_from(CONSENT_CHANNELS), min_size=1, max_size=2, unique=True)),
        }
        for c in range(draw(st.integers(0, 3)))
    ]
    nodes = [s["id"] for s in systems] + [p["id"] for p in partners]
    flows = []
    for n in range(draw(st.integers(1, 7))):
        src = draw(st.sampled_from([s["id"] for s in systems]))
        dst = draw(st.sampled_from([x for x in nodes if x != src] or [partners[0]["id"]]))
        kind = draw(st.sampled_from(["contract", "legitimate_interest", "consent", "exemption"]))
        basis: dict[str, Any] = {"kind": kind}
        if kind == "consent" and consents:
            basis["consent"] = draw(st.sampled_from([c["id"] for c in consents]))
        if kind == "exemption":
            basis["exemption"] = f"II.IV.3({draw(st.integers(1, 11))})"
            if draw(st.booleans()):
                basis["evidence_ref"] = "https://legal.example/evidence"
        flows.append(
            {
                "id": f"f{n}",
                "from": src,
                "to": dst,
                "fields": draw(st.lists(st.sampled_from(fields), min_size=1, max_size=3, unique=True)),
                "purpose": draw(st.sampled_from(sorted(PURPOSES))),
                "legal_basis": basis,
                "channel": draw(st.sampled_from(CHANNELS)),
                "trigger": draw(st.sampled_from(["user_action", "scheduled", "continuous", "legal_request"])),
            }
        )
    purposes = [
        {"id": pid, "name": pid, **({"policy_purpose": pp} if pp else {})} for pid, pp in sorted(PURPOSES.items())
    ]
    return {"purposes": purposes, "systems": systems, "partners": partners, "consents": consents, "flows": flows}


def consent_accepted(inv: dict[str, Any], flow: dict[str, Any], origin_kind: str) -> bool:
    """A consent the policy accepts for this use, from docs/interpretation.md (written independently of the
    lineage code): same purpose, a real mechanism (opt-in or separate for messages), the message channel where the
    message leaves, the collection surface for a surface-scoped consent."""
    if flow["legal_basis"]["kind"] != "consent" or "consent" not in flow["legal_basis"]:
        return False
    c = next(c for c in inv["consents"] if c["id"] == flow["legal_basis"]["consent"])
    if c["purpose"] != flow["purpose"]:
        return False
    marketing = PURPOSES[flow["purpose"]] == "MKT.MESSAGES"
    if c["mechanism"] not in ({"opt_in", "separate"} if marketing else {"opt_in", "separate", "banner"}):
        return False
    chans = set(c["channels"])
    if "any" in chans:
        return True
    if flow["channel"] in MESSAGE:
        return flow["channel"] in chans
    if marketing:
        return True
    if chans & {"web", "app"} and origin_kind in {"web", "app"}:
        return origin_kind in chans
    return True


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(inventories())
def test_no_direct_identifier_reaches_a_third_party_unjudged(audit: InProcessAuditor, inv: dict[str, Any]) -> None:
    """For every flow to a recipient outside Creality and every direct identifier on it (declared by the flow's
    source, relayed from upstream, or carried without any path to it): to an advertising, analytics or other
    partner it is an II.III.a error at that field; elsewhere (an ``other`` recipient included: II.III.a is for
    partners placing cookies, pixels or SDKs, issue 13 class 7) the use is covered (a declared purpose of the field, a
    consent the policy accepts, an exemption the validator accepts) or a finding says why not. And every field a
    flow carries although its source neither declares nor receives it is a gap located at that field."""
    found = audit.check(inv)
    at: dict[tuple[str, str], list[Finding]] = {}
    for f in found:
        at.setdefault((f.subject_id, f.attribute), []).append(f)
    fields = {f["id"]: (s, f) for s in inv["systems"] for f in s["fields"]}
    systems = {s["id"]: s for s in inv["systems"]}
    partners = {p["id"]: p for p in inv["partners"]}
    for flow in inv["flows"]:
        target_partner = partners.get(flow["to"])
        external = target_partner is not None or systems[flow["to"]]["operator"] != "first_party"
        on_flow = [f for (sid, _), fs in at.items() if sid == flow["id"] for f in fs]
        for i, fid in enumerate(flow["fields"]):
            system, fdata = fields[fid]
            here = at.get((flow["id"], f"fields.{i}"), [])
            where = f"{fid} on {flow['id']} ({flow['from']} -> {flow['to']})"
            receives = any(fid in g["fields"] for g in inv["flows"] if g["to"] == flow["from"])
            if system["id"] != flow["from"] and not receives:
                assert any(f.rule_id == "creality.lineage.implied_source" for f in here), f"{where}: no gap"
            if not external or fdata["category"] not in DIRECT:
                continue
            if fdata.get("identifiability", "identified") in {"anonymous", "aggregate"}:
                continue
            if target_partner is not None and target_partner["role"] in SHARING:
                assert any(f.clause_id == "II.III.a" and f.severity == "error" for f in here), where
                continue
            if flow["purpose"] in fdata["purposes"] or consent_accepted(inv, flow, system["kind"]):
                continue
            if flow["legal_basis"]["kind"] == "exemption":
                # judged by the exemption validator on this flow: accepted (no finding) or reported there
                continue
            judged = [f for f in here if f.severity == "error"] + [
                f for f in on_flow if f.attribute in FLOW_WIDE and f.severity == "error"
            ]
            assert judged, f"{where}: neither covered nor reported"
