"""The same clause judged the same way at every level (issue 13, class 11).

A rule about a flow, a rule about the field it carries and the lineage rule about where the field ends up must not
disagree about one use of the data. For every exemption item of II.IV.3 and every kind of consent, a correct use
added to a compliant inventory yields no error anywhere in it, and an incorrect use still yields an error. The
expectations below were written from the policy text before the tool was run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests import scenario_kit as kit
from tests.inprocess import InProcessAuditor

Scenario = Callable[[bool], dict[str, Any]]


@pytest.fixture(scope="module")
def audit() -> InProcessAuditor:
    return InProcessAuditor()


def errors(audit: InProcessAuditor, inv: dict[str, Any]) -> list[str]:
    return [f"{f.rule_id} {f.subject_id} {f.attribute}: {f.message}" for f in audit.check(inv) if f.severity == "error"]


def test_the_base_inventory_is_compliant(audit: InProcessAuditor) -> None:
    assert errors(audit, kit.base()) == []


# ------------------------------------------------------------------------------------------- II.IV.3 exemptions


def exemption(n: int, evidence: str = "https://legal.example/register#entry", **extra: Any) -> dict[str, Any]:
    """``evidence=""``: no evidence_ref at all."""
    return {
        "kind": "exemption",
        "exemption": f"II.IV.3({n})",
        **({"evidence_ref": evidence} if evidence else {}),
        **extra,
    }


def undeclared(pid: str, **extra: Any) -> dict[str, Any]:
    """A purpose the policy does not declare (no policy_purpose): only the exemption lets it go without consent."""
    return {"id": pid, "name": pid, **extra}


def to_authority(n: int, correct: bool) -> dict[str, Any]:
    """(1)-(3), (11): the user's e-mail answered to an authority on its request. Incorrect: for (1), (2) and (11) no
    evidence or statute is cited (an error for every item); for (3), a standing export to a non-authority."""
    inv = kit.base()
    purpose = f"legal_{n}"
    inv["purposes"].append(undeclared(purpose))
    kit.system_of(inv, "app")["fields"][0]["purposes"].append(purpose)  # collected for it too: the field level
    inv["partners"].append(kit.partner("police", "authority"))
    inv["partners"].append(kit.partner("broker", "other"))
    evidence = "Code de procédure pénale, art. 60-1" if n == 11 else "https://legal.example/requisitions#2024-17"
    basis = exemption(n, evidence if correct or n == 3 else "")
    to, trigger = ("police", "legal_request") if correct or n != 3 else ("broker", "scheduled")
    inv["flows"].append(kit.flow("legal-answer", "backend", to, ["app.email"], purpose, basis, trigger=trigger))
    return inv


def vital(correct: bool) -> dict[str, Any]:
    """(4): a safety team told about a user in danger during an incident; consent could not be asked."""
    inv = kit.base()
    inv["purposes"].append(undeclared("protect_life"))
    kit.system_of(inv, "app")["fields"][0]["purposes"].append("protect_life")
    inv["systems"].append(kit.store("safety-desk"))
    basis = exemption(4, "https://wiki.example/incident-2024-3", **({"consent_impracticable": True} if correct else {}))
    inv["flows"].append(
        kit.flow("danger-alert", "backend", "safety-desk", ["app.email"], "protect_life", basis, trigger="incident")
    )
    return inv


def public_data(n: int, correct: bool) -> dict[str, Any]:
    """(5) a profile the user made public, (6) a public record, indexed by a community service. Incorrect: the
    e-mail (provided, not public) travels under the same exemption."""
    inv = kit.base()
    inv["purposes"].append(undeclared("community_index"))
    collection = "public_by_user" if n == 5 else "public_record"
    category = "user.content.public" if n == 5 else "user.contact"
    public = kit.field("app.public_profile", category, ["community_index"], collection=collection)
    kit.system_of(inv, "app")["fields"].append(public)
    inv["systems"].append(kit.store("community"))
    fields = ["app.public_profile"] if correct else ["app.public_profile", "app.email"]
    if not correct:
        kit.system_of(inv, "app")["fields"][0]["purposes"].append("community_index")
    inv["flows"].append(kit.flow("index-public", "app", "community", fields, "community_index", exemption(n)))
    return inv


def contract(correct: bool) -> dict[str, Any]:
    """(7): what the contract the user asked for needs (a core purpose). Incorrect: a purpose that is not core."""
    inv = kit.base()
    inv["purposes"].append(undeclared("warranty", core=correct))
    kit.system_of(inv, "app")["fields"][0]["purposes"].append("warranty")
    inv["flows"].append(kit.flow("warranty-claim", "app", "backend", ["app.email"], "warranty", exemption(7)))
    return inv


def faults(correct: bool) -> dict[str, Any]:
    """(8): crash reports to the first party for fault handling. Incorrect: the e-mail goes with them."""
    inv = kit.base()
    inv["purposes"].append({"id": "crash_diagnostics", "name": "Crashes", "policy_purpose": "FAULT", "core": True})
    crash = kit.field("app.crash", "user.telemetry", ["crash_diagnostics"], collection="observed")
    crash["identifiability"] = "pseudonymous"
    kit.system_of(inv, "app")["fields"].append(crash)
    fields = ["app.crash"]
    if not correct:
        fields.append("app.email")
        kit.system_of(inv, "app")["fields"][0]["purposes"].append("crash_diagnostics")
    inv["flows"].append(
        kit.flow("crash-report", "app", "backend", fields, "crash_diagnostics", exemption(8), trigger="incident")
    )
    return inv


def news(correct: bool) -> dict[str, Any]:
    """(9): never applicable to Creality, so a citation is always *needs review* (a warning, never a pass); without
    evidence it is an error."""
    inv = kit.base()
    inv["purposes"].append(undeclared("press"))
    kit.system_of(inv, "app")["fields"][0]["purposes"].append("press")
    basis = exemption(9, "https://legal.example/press" if correct else "")
    inv["flows"].append(kit.flow("press-feed", "app", "backend", ["app.email"], "press", basis))
    return inv


def research(correct: bool) -> dict[str, Any]:
    """(10): aggregate statistics to a university institute. Incorrect: the e-mail goes too."""
    inv = kit.base()
    inv["purposes"].append(undeclared("public_study"))
    stats = kit.field("stats.failure_rates", "user.telemetry", ["public_study"], collection="derived")
    stats["identifiability"] = "aggregate"
    inv["systems"].append(kit.store("stats", [stats]))
    inv["partners"].append(kit.partner("university", "research_institute"))
    fields = ["stats.failure_rates"]
    if not correct:
        fields.append("app.email")
        kit.system_of(inv, "app")["fields"][0]["purposes"].append("public_study")
        inv["flows"].append(kit.flow("app-to-stats", "app", "stats", ["app.email"], "support", {"kind": "contract"}))
    inv["flows"].append(
        kit.flow("study-extract", "stats", "university", fields, "public_study", exemption(10), trigger="scheduled")
    )
    return inv


EXEMPTIONS: dict[str, Scenario] = {
    "II.IV.3(1)": lambda ok: to_authority(1, ok),
    "II.IV.3(2)": lambda ok: to_authority(2, ok),
    "II.IV.3(3)": lambda ok: to_authority(3, ok),
    "II.IV.3(4)": vital,
    "II.IV.3(5)": lambda ok: public_data(5, ok),
    "II.IV.3(6)": lambda ok: public_data(6, ok),
    "II.IV.3(7)": contract,
    "II.IV.3(8)": faults,
    "II.IV.3(9)": news,
    "II.IV.3(10)": research,
    "II.IV.3(11)": lambda ok: to_authority(11, ok),
}


@pytest.mark.parametrize("item", EXEMPTIONS)
def test_a_correctly_used_exemption_yields_no_error_anywhere(audit: InProcessAuditor, item: str) -> None:
    assert errors(audit, EXEMPTIONS[item](True)) == []


@pytest.mark.parametrize("item", EXEMPTIONS)
def test_an_incorrectly_used_exemption_still_yields_an_error(audit: InProcessAuditor, item: str) -> None:
    assert errors(audit, EXEMPTIONS[item](False)) != []


def test_every_exemption_item_is_in_the_matrix() -> None:
    assert set(EXEMPTIONS) == {f"II.IV.3({n})" for n in range(1, 12)}


# ---------------------------------------------------------------------------------------------------- consents


def consent(cid: str, purpose: str, mechanism: str, channels: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "purpose": purpose,
        "channels": channels,
        "mechanism": mechanism,
        "collected_by": "app",
        "proof_ref": "https://wiki.example/consent-log",
        "withdrawal": True,
        "scope": ["processing"],
        **extra,
    }


def marketing(mechanism: str, channel: str, consent_channels: list[str]) -> dict[str, Any]:
    """II.IV.1.a: the user's e-mail or phone goes to a CRM run by a processor (an internal batch feed) and the
    message leaves from there on its channel. The field is not collected for marketing: the consent carries it."""
    inv = kit.base()
    contact = "app.phone" if channel == "sms" else "app.email"
    if contact == "app.phone":
        phone = kit.field("app.phone", "user.contact.phone_number", ["support"])
        kit.system_of(inv, "app")["fields"].append(phone)
        inv["flows"][0]["fields"].append("app.phone")
    inv["purposes"].append({"id": "offers", "name": "Offers", "policy_purpose": "MKT.MESSAGES"})
    inv["consents"].append(consent("c-offers", "offers", mechanism, consent_channels))
    inv["systems"].append(kit.store("crm", operator="processor", kind="crm", dpa_ref="https://legal.example/crm-dpa"))
    basis = {"kind": "consent", "consent": "c-offers"}
    inv["flows"].append(kit.flow("feed-crm", "backend", "crm", [contact], "offers", basis, channel="batch"))
    inv["systems"].append(
        kit.store("sender", operator="processor", kind="saas", dpa_ref="https://legal.example/sender-dpa")
    )
    inv["flows"].append(kit.flow("send-offers", "crm", "sender", [contact], "offers", basis, channel=channel))
    return inv


def web_analytics(mechanism: str) -> dict[str, Any]:
    """II.III.a with a cookie banner: the web site's analytics cookie id to an analytics processor."""
    inv = kit.base()
    inv["purposes"].append({"id": "audience", "name": "Audience", "policy_purpose": "PARTNER.ANALYTICS"})
    cookie_id = kit.field("web.cookie_id", "user.device.cookie_id", ["support"], collection="observed")
    cookie_id["identifiability"] = "pseudonymous"
    web = kit.store("web", [cookie_id], kind="web", subject_jurisdictions=["FR"])
    web["consent_banner"] = {"reject_first_layer": True, "silence_means_refusal": True, "choice_ttl_days": 180}
    inv["systems"].append(web)
    inv["consents"].append(consent("c-audience", "audience", mechanism, ["web"], collected_by="web"))
    cookie = {
        "name": "_au",
        "type": "analytics",
        "max_age_days": 390,
        "first_party": True,
        "fires_before_consent": False,
        "purpose": "audience",
    }
    inv["partners"].append(
        kit.partner("audience-tool", "analytics", "processor", embedded_in=["web"], cookies=[cookie])
    )
    basis = {"kind": "consent", "consent": "c-audience"}
    inv["flows"].append(
        kit.flow("web-audience", "web", "audience-tool", ["web.cookie_id"], "audience", basis, channel="sdk")
    )
    return inv


def undeclared_use(mechanism: str) -> dict[str, Any]:
    """II.IV.2.e: a purpose the policy does not declare (model training) on the user's prior consent."""
    inv = kit.base()
    inv["purposes"].append(undeclared("train_models", requires_consent=True))
    kit.system_of(inv, "app")["fields"][0]["purposes"].append("train_models")
    inv["consents"].append(consent("c-train", "train_models", mechanism, ["app"]))
    basis = {"kind": "consent", "consent": "c-train"}
    inv["systems"].append(kit.store("ml"))
    inv["flows"].append(kit.flow("train-feed", "backend", "ml", ["app.email"], "train_models", basis))
    return inv


CONSENTS: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[], dict[str, Any]]]] = {
    # kind: (correct use, incorrect use)
    "opt_in e-mail offers": (
        lambda: marketing("opt_in", "email", ["email"]),
        lambda: marketing("policy_acceptance", "email", ["email"]),
    ),
    "separate SMS offers": (
        lambda: marketing("separate", "sms", ["sms"]),
        lambda: marketing("separate", "sms", ["email"]),  # the message leaves on a channel nobody agreed to
    ),
    "banner analytics cookie": (lambda: web_analytics("banner"), lambda: web_analytics("pre_ticked")),
    "opt_in undeclared purpose": (lambda: undeclared_use("opt_in"), lambda: undeclared_use("pre_ticked")),
}


@pytest.mark.parametrize("kind", CONSENTS)
def test_a_correctly_used_consent_yields_no_error_anywhere(audit: InProcessAuditor, kind: str) -> None:
    assert errors(audit, CONSENTS[kind][0]()) == []


@pytest.mark.parametrize("kind", CONSENTS)
def test_an_incorrectly_used_consent_still_yields_an_error(audit: InProcessAuditor, kind: str) -> None:
    assert errors(audit, CONSENTS[kind][1]()) != []


def test_an_sms_channel_mismatch_is_reported_where_the_message_leaves_not_on_the_internal_feed(
    audit: InProcessAuditor,
) -> None:
    """Issue 13 class 4: consent channels are judged where the message leaves to the person."""
    found = [f for f in audit.check(marketing("separate", "sms", ["email"])) if f.severity == "error"]
    assert {(f.rule_id, f.subject_id) for f in found} == {
        ("creality.purposes.marketing_channel_not_consented", "send-offers")
    }
