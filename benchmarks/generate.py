#!/usr/bin/env python3
"""Deterministic synthetic inventory generator for the auditor benchmarks (PRODUCT.md §7).

    python benchmarks/generate.py --size S|M|L|XL --seed N --out DIR [--force] [--stats]

Writes an inventory in format v1 (``src/auditor/inventory/schema.json``) laid out like a real estate::

    DIR/organization.yaml   DIR/purposes.yaml   DIR/consents.yaml   DIR/partners.yaml
    DIR/systems/<system-id>.yaml     one system with its fields and the flows leaving it

Guarantees (checked on S and M by loading every file with ``yaml.safe_load`` and the schema validator):

* Same ``--size`` and ``--seed`` give byte-identical files, whatever PYTHONHASHSEED: one
  ``random.Random(seed)`` draws the plan and a 64-bit sub-seed per system (``random.Random(seed ^ 0x5EED)``
  for partners.yaml); no clock, no ``hash()``, no set iteration; ASCII output with ``\n`` line endings.
* Exact counts: systems, fields and flows are exactly the numbers of the size (every system has >= 4 fields,
  ~40 on average from M up, 20 for S); 25 purposes (22 with a ``policy_purpose`` of CLAUSES.md §B.2, 3
  undeclared: ai-training, which has a consent, ad-profiling and data-brokerage, which have none); 10
  consents; partners = max(9, round(systems / 20)), the first nine covering advertiser, analytics,
  cloud_storage, processor, payment, counterparty, authority, research_institute, social.
  Files: the 4 top files plus one per system (``systems/<system-id>.yaml``: version, systems, flows).
* Every file validates against the schema; ids are unique across the inventory (purposes, systems, fields,
  partners, consents, flows); field ids are ``<system-id>.<name>``, flow ids ``flow.<system-id>.<NNN>``;
  every reference resolves: flow from (a system) / to (a system or a partner) / fields / purpose,
  legal_basis.consent, transfer.separate_consent, field purposes, consent purpose and collected_by,
  partner embedded_in, cookie purpose. A flow's fields are unique and belong to its source system or were
  received by it through an earlier flow (multi-hop field lineage).
* Levels: 0 collection points (app, web, firmware), 1 edge backends, 2 core services / CRM / SaaS,
  3 datastores, 4 raw warehouses, 5 marts / BI. Forward flows go from level k to a level > k or to a
  partner, so without the back edges the system graph is a DAG whose longest path has at most 6 edges
  (level 0 .. 5, then a partner; 6 is reached in every inventory checked). Back edges ("sync loops")
  number max(1, round(0.5 % of flows)); each goes from a system of level k (1..4, or a later one if
  that had no sender yet) back to one of its senders of level k - 1, so cycles stay small strongly
  connected components (seed 1: largest 2 systems in S, 4 in M, 16 in L).
* Seeded problems, each present at least once in every inventory: undisclosed categories (user.location.*,
  user.name, user.financial.*, user.biometric; ~3 % of fields), fields without purposes (~2 %), fields and
  flows with an undeclared purpose (~1.5 % / ~2 %, ad-profiling or data-brokerage at least once), TLS 1.0
  systems (3 %), indefinite retention (3 %), systems without security / retention / dsr (2 % each),
  partial security / dsr blocks (5 % / 4 %), advertiser partners receiving an e-mail address, flows with
  ``tls: false`` (~1.5 %) or without legal basis (~4 %). Also (rates, not guaranteed in S): cross-border
  flows (~20-25 % of flows, CN/EU/US) without a transfer block (~3 % of them) or with mechanism ``none``,
  weak credential hashing, pre-ticked / bundled consents, cookies firing before consent.
  System-level problems are exact counts, max(1, round(rate * systems)); sets that would hide each other
  (no security / TLS 1.0 / partial security, no retention / indefinite, no dsr / partial dsr) are disjoint.

The YAML is written by a small hand-rolled emitter (``yaml.dump`` is far too slow at XL); systems are
streamed one file at a time, only a bounded per-system summary is kept in memory.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

Emit = Callable[[str], None]

# (systems, fields, flows)
SIZES: dict[str, tuple[int, int, int]] = {
    "S": (30, 600, 150),
    "M": (300, 12_000, 3_000),
    "L": (2_000, 80_000, 20_000),
    "XL": (10_000, 400_000, 100_000),
}

JURISDICTIONS = ("CN", "EU", "US")
JURISDICTION_WEIGHTS = (35, 30, 35)
REGIONS = {
    "CN": ("cn-north-1", "cn-east-2", "cn-south-1"),
    "EU": ("eu-west-1", "eu-central-1", "eu-west-3"),
    "US": ("us-east-1", "us-west-2"),
}

# ---------------------------------------------------------------------------------------------------------
# YAML scalar emission

_SAFE_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./@-]*(?: [A-Za-z0-9_./@-]+)*\Z")
_RESERVED = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null", "none", "nan", "inf", "empty"})


def q(s: str) -> str:
    """A YAML scalar for the string ``s``: plain when unambiguous, else JSON double-quoted (valid YAML)."""
    if _SAFE_PLAIN.match(s) and s.lower() not in _RESERVED:
        return s
    return json.dumps(s, ensure_ascii=True)


def b(v: bool) -> str:
    return "true" if v else "false"


def flow_seq(items: list[str]) -> str:
    """Flow sequence of items that are already safe plain scalars (ids, enum values)."""
    return "[" + ", ".join(items) + "]"


# ---------------------------------------------------------------------------------------------------------
# Vocabulary

# purpose id, name, policy_purpose (None: undeclared), data_use, requires_consent, core
PURPOSES: list[tuple[str, str, str | None, str, bool, bool]] = [
    ("facilitate", "Facilitate the use of the services", "FACILITATE", "essential.service", False, True),
    (
        "mkt-messages",
        "Commercial messages by e-mail, SMS or push",
        "MKT.MESSAGES",
        "marketing.communications",
        True,
        False,
    ),
    ("improve", "Improve our services", "IMPROVE", "functional.service.improve", False, False),
    (
        "personalize-xservice",
        "Personalised content in our other services",
        "PERSONALIZE.XSERVICE",
        "personalize.content.profiled",
        False,
        False,
    ),
    ("survey", "Surveys", "SURVEY", "functional.service.improve", False, False),
    ("update", "Software updates", "UPDATE", "essential.service.upgrades", False, True),
    ("deid-analytics", "Analyse the de-identified user base", "DEID.ANALYTICS", "analytics.reporting", False, False),
    ("deid-commercial", "Commercial use of de-identified data", "DEID.COMMERCIAL", "third_party_sharing", False, False),
    (
        "cookie-identity",
        "Remember the user's identity",
        "COOKIE.IDENTITY",
        "essential.service.authentication",
        False,
        True,
    ),
    ("cookie-prefs", "Save the user's preferences", "COOKIE.PREFS", "personalize.system", False, False),
    (
        "cookie-analytics",
        "Analyse how the services are used",
        "COOKIE.ANALYTICS",
        "analytics.reporting.content_performance",
        False,
        False,
    ),
    ("cookie-ads", "Optimise advertising", "COOKIE.ADS", "marketing.advertising.first_party.targeted", False, False),
    (
        "partner-analytics",
        "Partner analytics of service usage",
        "PARTNER.ANALYTICS",
        "analytics.reporting",
        False,
        False,
    ),
    (
        "partner-ads",
        "Partner advertising of interest",
        "PARTNER.ADS",
        "marketing.advertising.third_party.targeted",
        False,
        False,
    ),
    (
        "partner-ad-measure",
        "Measure advertising effectiveness",
        "PARTNER.AD_MEASURE",
        "analytics.reporting.ad_performance",
        False,
        False,
    ),
    ("cloud-storage", "Cloud storage services", "CLOUD.STORAGE", "essential.service", False, True),
    ("counterparty", "Communicate with third parties, buy goods", "COUNTERPARTY", "essential.service", False, True),
    ("security", "Security and stability", "SECURITY", "essential.service.security", False, True),
    ("fault", "Fault finding and handling", "FAULT", "essential.service.operations.support", False, True),
    (
        "incident-notify",
        "Inform users of a security incident",
        "INCIDENT.NOTIFY",
        "essential.service.notifications",
        False,
        True,
    ),
    ("regulator-report", "Report to regulators", "REGULATOR.REPORT", "essential.legal_obligation", False, False),
    ("dsr", "Data-subject requests", "DSR", "essential.legal_obligation", False, True),
    # undeclared purposes (no policy_purpose): need prior consent (II.IV.2.e)
    ("ai-training", "Train machine-learning models", None, "train_ai_system", True, False),
    ("ad-profiling", "Advertising profiles", None, "marketing.advertising.profiling", True, False),
    ("data-brokerage", "Sale of data to brokers", None, "third_party_sharing", True, False),
]
UNDECLARED = ("ai-training", "ad-profiling", "data-brokerage")

# id, purpose, channels, mechanism, scope, withdrawal
CONSENTS: list[tuple[str, str, list[str], str, list[str], bool]] = [
    ("consent.mkt-email", "mkt-messages", ["email"], "opt_in", ["processing"], True),
    ("consent.mkt-sms", "mkt-messages", ["sms"], "opt_in", ["processing"], True),
    ("consent.mkt-push", "mkt-messages", ["push"], "policy_acceptance", ["processing"], False),
    ("consent.cookie-analytics", "cookie-analytics", ["web"], "banner", ["processing"], True),
    ("consent.cookie-ads", "cookie-ads", ["web", "app"], "banner", ["processing"], True),
    ("consent.partner-ads", "partner-ads", ["web", "app"], "banner", ["processing", "sharing"], True),
    ("consent.partner-analytics", "partner-analytics", ["web", "app"], "banner", ["sharing"], True),
    ("consent.xborder", "facilitate", ["app", "web"], "separate", ["cross_border"], True),
    ("consent.ai-training", "ai-training", ["app"], "opt_in", ["processing"], True),
    ("consent.survey", "survey", ["email"], "pre_ticked", ["processing"], False),
]
CONSENT_FOR_CHANNEL = {"email": "consent.mkt-email", "sms": "consent.mkt-sms", "push": "consent.mkt-push"}


@dataclass(frozen=True)
class Cat:
    key: str
    names: tuple[str, ...]
    direct: bool  # DIRECT_ID for the partner rules
    collection: str
    ident: str
    prot: str  # cred | direct | content | other
    purposes: tuple[str, ...]
    join: bool = False
    disclosed: bool = True


CATS: list[Cat] = [
    Cat(
        "user.contact.email",
        ("email", "contact_email", "login_email", "billing_email"),
        True,
        "user_provided",
        "identified",
        "direct",
        ("facilitate", "mkt-messages", "incident-notify", "dsr"),
    ),
    Cat(
        "user.contact.phone_number",
        ("phone", "mobile_number", "contact_phone"),
        True,
        "user_provided",
        "identified",
        "direct",
        ("facilitate", "mkt-messages", "security"),
    ),
    Cat(
        "user.contact.address",
        ("postal_address", "shipping_address"),
        True,
        "user_provided",
        "identified",
        "direct",
        ("counterparty", "facilitate"),
    ),
    Cat(
        "user.contact",
        ("contact_details",),
        True,
        "user_provided",
        "identified",
        "direct",
        ("facilitate", "counterparty"),
    ),
    Cat(
        "user.unique_id",
        ("user_id", "account_id", "member_id"),
        True,
        "derived",
        "identified",
        "direct",
        ("facilitate", "security", "dsr"),
        join=True,
    ),
    Cat(
        "user.account.username",
        ("username", "nickname"),
        True,
        "user_provided",
        "identified",
        "direct",
        ("facilitate",),
    ),
    Cat(
        "user.authorization.password",
        ("password_hash", "passphrase_hash"),
        False,
        "user_provided",
        "identified",
        "cred",
        ("security", "facilitate"),
    ),
    Cat(
        "user.authorization.credentials",
        ("security_answer", "recovery_answer"),
        False,
        "user_provided",
        "identified",
        "cred",
        ("security",),
    ),
    Cat(
        "user.device.ip_address",
        ("ip_address", "client_ip"),
        False,
        "observed",
        "pseudonymous",
        "other",
        ("security", "fault", "facilitate"),
    ),
    Cat(
        "user.device.network",
        ("network_info", "wifi_info"),
        False,
        "observed",
        "pseudonymous",
        "other",
        ("fault", "cloud-storage", "facilitate"),
    ),
    Cat("user.device.carrier", ("carrier",), False, "observed", "pseudonymous", "other", ("fault", "improve")),
    Cat(
        "user.behavior.browsing_history",
        ("browsing_history", "page_views"),
        False,
        "observed",
        "pseudonymous",
        "other",
        ("improve", "cookie-analytics", "partner-analytics"),
    ),
    Cat(
        "user.telemetry",
        ("app_usage", "print_telemetry", "operation_log", "crash_report"),
        False,
        "observed",
        "pseudonymous",
        "other",
        ("improve", "fault", "update"),
    ),
    Cat(
        "user.behavior.clickstream",
        ("clicks", "click_events"),
        False,
        "observed",
        "pseudonymous",
        "other",
        ("cookie-analytics", "improve", "partner-ad-measure"),
    ),
    Cat(
        "user.behavior",
        ("access_origin", "referrer", "session_log"),
        False,
        "observed",
        "pseudonymous",
        "other",
        ("improve", "cookie-analytics"),
    ),
    Cat(
        "system.operations",
        ("request_log", "service_metrics"),
        False,
        "observed",
        "aggregate",
        "other",
        ("fault", "security"),
    ),
    Cat(
        "user.device.cookie",
        ("cookie_data",),
        False,
        "observed",
        "pseudonymous",
        "other",
        ("cookie-identity", "cookie-prefs", "cookie-ads"),
    ),
    Cat(
        "user.device.cookie_id",
        ("cookie_id", "visitor_id"),
        False,
        "observed",
        "pseudonymous",
        "other",
        ("cookie-identity", "cookie-analytics", "cookie-ads", "partner-ads"),
        join=True,
    ),
    Cat(
        "user.account.settings",
        ("preferences", "language"),
        False,
        "user_provided",
        "pseudonymous",
        "other",
        ("cookie-prefs", "facilitate"),
    ),
    Cat(
        "user.privacy_preferences",
        ("consent_choice", "privacy_settings"),
        False,
        "user_provided",
        "pseudonymous",
        "other",
        ("cookie-prefs", "dsr"),
    ),
    Cat(
        "user.device",
        ("device_model", "os_type", "device_settings", "printer_model"),
        False,
        "observed",
        "pseudonymous",
        "other",
        ("facilitate", "update", "fault"),
    ),
    Cat(
        "user.device.device_id",
        ("android_id", "idfa", "guid", "openudid"),
        False,
        "observed",
        "pseudonymous",
        "other",
        ("partner-ads", "partner-analytics", "improve"),
        join=True,
    ),
    Cat(
        "user.device.device_id.mac",
        ("mac_address",),
        True,
        "observed",
        "identified",
        "direct",
        ("security", "facilitate"),
        join=True,
    ),
    Cat(
        "user.device.device_id.imei",
        ("imei",),
        True,
        "observed",
        "identified",
        "direct",
        ("security", "update"),
        join=True,
    ),
    Cat("user.device.device_id.imsi", ("imsi",), True, "observed", "identified", "direct", ("security",), join=True),
    Cat(
        "user.unique_id.pseudonymous",
        ("pseudo_id", "ad_id"),
        False,
        "derived",
        "pseudonymous",
        "other",
        ("partner-ads", "deid-analytics"),
        join=True,
    ),
    Cat("user.device.installed_apps", ("installed_apps",), False, "observed", "pseudonymous", "other", ("improve",)),
    Cat(
        "user.content.private",
        ("uploaded_model", "print_file", "media_upload"),
        False,
        "user_stored",
        "identified",
        "content",
        ("cloud-storage", "facilitate"),
    ),
    Cat(
        "user.content.public",
        ("published_model", "public_post"),
        False,
        "public_by_user",
        "identified",
        "content",
        ("facilitate", "personalize-xservice"),
    ),
    Cat("user.content.self_image", ("avatar_photo",), False, "user_provided", "identified", "content", ("facilitate",)),
    Cat(
        "user.social",
        ("shared_content", "follows"),
        False,
        "user_shared",
        "identified",
        "other",
        ("counterparty", "personalize-xservice"),
    ),
    Cat(
        "user.demographic.profile",
        ("interest_profile", "segment"),
        False,
        "derived",
        "pseudonymous",
        "other",
        ("personalize-xservice", "deid-analytics", "cookie-ads"),
    ),
]
UNDISCLOSED_CATS: list[Cat] = [
    Cat(
        "user.location.precise",
        ("gps_location", "precise_location"),
        False,
        "observed",
        "identified",
        "other",
        ("facilitate", "improve"),
        disclosed=False,
    ),
    Cat(
        "user.location.imprecise",
        ("city", "coarse_location"),
        False,
        "observed",
        "pseudonymous",
        "other",
        ("improve",),
        disclosed=False,
    ),
    Cat(
        "user.name",
        ("full_name", "first_name", "last_name"),
        True,
        "user_provided",
        "identified",
        "direct",
        ("facilitate", "counterparty"),
        disclosed=False,
    ),
    Cat(
        "user.financial.bank_account",
        ("bank_account",),
        True,
        "user_provided",
        "identified",
        "direct",
        ("counterparty",),
        disclosed=False,
    ),
    Cat("user.biometric", ("face_template",), True, "observed", "identified", "direct", ("security",), disclosed=False),
]
CAT_BY_KEY = {c.key: c for c in CATS}
EMAIL = CAT_BY_KEY["user.contact.email"]

# category weights per group of systems (unlisted categories of CATS get weight 0)
_GROUP_WEIGHTS: dict[str, dict[str, int]] = {
    "collect": {
        "user.contact.email": 4,
        "user.contact.phone_number": 3,
        "user.unique_id": 3,
        "user.account.username": 2,
        "user.authorization.password": 1,
        "user.device.ip_address": 4,
        "user.device.network": 3,
        "user.device.carrier": 2,
        "user.behavior.browsing_history": 4,
        "user.telemetry": 6,
        "user.behavior.clickstream": 4,
        "user.behavior": 3,
        "user.device.cookie": 3,
        "user.device.cookie_id": 4,
        "user.account.settings": 2,
        "user.privacy_preferences": 2,
        "user.device": 6,
        "user.device.device_id": 4,
        "user.device.device_id.mac": 2,
        "user.device.device_id.imei": 2,
        "user.device.device_id.imsi": 1,
        "user.device.installed_apps": 1,
        "user.content.private": 3,
        "user.content.public": 1,
        "user.content.self_image": 1,
        "user.social": 1,
    },
    "backend": {
        "user.contact.email": 5,
        "user.contact.phone_number": 3,
        "user.contact.address": 2,
        "user.contact": 1,
        "user.unique_id": 6,
        "user.account.username": 3,
        "user.authorization.password": 2,
        "user.authorization.credentials": 1,
        "user.device.ip_address": 4,
        "user.device.network": 2,
        "user.telemetry": 5,
        "user.behavior": 2,
        "system.operations": 4,
        "user.account.settings": 3,
        "user.privacy_preferences": 2,
        "user.device": 4,
        "user.device.device_id": 3,
        "user.device.device_id.mac": 2,
        "user.device.device_id.imei": 1,
        "user.content.private": 3,
        "user.content.public": 2,
        "user.social": 2,
        "user.demographic.profile": 1,
    },
    "crm": {
        "user.contact.email": 8,
        "user.contact.phone_number": 6,
        "user.contact.address": 4,
        "user.contact": 2,
        "user.unique_id": 5,
        "user.account.username": 2,
        "user.account.settings": 2,
        "user.privacy_preferences": 4,
        "user.demographic.profile": 4,
        "user.behavior": 2,
        "user.unique_id.pseudonymous": 2,
    },
    "store": {
        "user.contact.email": 4,
        "user.contact.phone_number": 2,
        "user.contact.address": 2,
        "user.unique_id": 6,
        "user.account.username": 2,
        "user.authorization.password": 2,
        "user.authorization.credentials": 1,
        "user.device.ip_address": 2,
        "user.telemetry": 4,
        "system.operations": 3,
        "user.device": 3,
        "user.device.device_id": 2,
        "user.device.device_id.imei": 1,
        "user.content.private": 6,
        "user.content.public": 3,
        "user.content.self_image": 1,
        "user.social": 2,
        "user.account.settings": 2,
    },
    "warehouse": {
        "user.unique_id": 2,
        "user.unique_id.pseudonymous": 6,
        "user.contact.email": 1,
        "user.behavior.browsing_history": 5,
        "user.telemetry": 7,
        "user.behavior.clickstream": 5,
        "user.behavior": 4,
        "system.operations": 3,
        "user.device": 4,
        "user.device.device_id": 4,
        "user.device.cookie_id": 3,
        "user.demographic.profile": 5,
        "user.device.carrier": 1,
        "user.device.installed_apps": 1,
    },
}
_GROUP_TABLE: dict[str, tuple[list[Cat], list[int]]] = {}
for _g, _w in _GROUP_WEIGHTS.items():
    _cats = [c for c in CATS if c.key in _w]
    _GROUP_TABLE[_g] = (_cats, list(accumulate(_w[c.key] for c in _cats)))

# system kinds per level: (kind, operator, group, name bases)
LEVEL_SHARE = (0.12, 0.18, 0.28, 0.20, 0.12, 0.10)
LEVEL_FLOW_WEIGHT = (1.0, 1.4, 1.2, 1.0, 0.9, 0.5)
LEVEL_FIELD_WEIGHT = (0.8, 0.7, 1.1, 1.3, 1.2, 0.8)
KINDS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "app": ("app", "first_party", "collect", ("mobile-app", "printer-app", "slicer-app")),
    "web": ("web", "first_party", "collect", ("web-portal", "store-web", "community-web")),
    "firmware": ("firmware", "first_party", "collect", ("printer-firmware", "scanner-firmware")),
    "edge": ("backend", "first_party", "backend", ("api-gateway", "ingest", "auth-service", "device-gateway")),
    "core": (
        "backend",
        "first_party",
        "backend",
        (
            "user-service",
            "order-service",
            "print-service",
            "community-service",
            "notification-service",
            "payment-service",
            "model-service",
        ),
    ),
    "crm": ("crm", "first_party", "crm", ("crm", "support-desk")),
    "saas2": ("saas", "processor", "backend", ("helpdesk-saas", "email-saas")),
    "datastore": (
        "datastore",
        "first_party",
        "store",
        ("user-db", "order-db", "object-store", "model-store", "log-store", "cache"),
    ),
    "lake": ("warehouse", "first_party", "warehouse", ("raw-lake", "event-warehouse")),
    "mart": ("warehouse", "first_party", "warehouse", ("analytics-mart", "bi-mart")),
    "saas5": ("saas", "processor", "warehouse", ("bi-saas", "experiment-saas")),
}
TEAMS = (
    "team-identity",
    "team-commerce",
    "team-devices",
    "team-cloud",
    "team-community",
    "team-data",
    "team-growth",
    "team-platform",
    "team-support",
)

PARTNER_ROLES = (
    "advertiser",
    "analytics",
    "cloud_storage",
    "processor",
    "payment",
    "counterparty",
    "authority",
    "research_institute",
    "social",
)
PARTNER_ROLE_WEIGHTS = (20, 20, 12, 15, 8, 8, 5, 5, 7)
PARTNER_NAMES = {
    "advertiser": "adnet",
    "analytics": "metrics",
    "cloud_storage": "cloudstore",
    "processor": "mailer",
    "payment": "payco",
    "counterparty": "marketplace",
    "authority": "regulator",
    "research_institute": "lab",
    "social": "socialnet",
}
# partner role choice per source level: (roles, cumulative weights)
_PARTNER_BY_LEVEL: list[tuple[tuple[str, ...], list[int]]] = [
    (("analytics", "advertiser", "social"), [5, 8, 10]),
    (("cloud_storage", "processor", "authority"), [5, 9, 10]),
    (
        ("processor", "payment", "counterparty", "cloud_storage", "advertiser", "authority", "social"),
        [4, 6, 8, 10, 12, 13, 14],
    ),
    (("cloud_storage", "research_institute", "advertiser"), [6, 8, 10]),
    (("analytics", "advertiser", "research_institute", "cloud_storage"), [4, 7, 9, 10]),
    (("analytics", "advertiser", "research_institute", "cloud_storage"), [4, 7, 9, 10]),
]
# target level choice per source level: (targets, cumulative weights); "p" = partner
_TARGET_BY_LEVEL: list[tuple[tuple[int | str, ...], list[int]]] = [
    ((1, 2, "p"), [85, 90, 100]),
    ((2, 3, "p"), [85, 95, 100]),
    ((3, 4, "p"), [65, 80, 100]),
    ((4, 5, "p"), [75, 85, 100]),
    ((5, "p"), [80, 100]),
    (("p",), [1]),
]

# problem rates
P_UNDISCLOSED = 0.03
P_NO_PURPOSE = 0.02
P_FIELD_UNDECLARED = 0.015
P_FLOW_UNDECLARED = 0.02
P_AD_EMAIL = 0.08  # of the flows to advertisers
P_NO_LEGAL_BASIS = 0.04
P_NO_TRANSFER = 0.03

FORWARD_CAP = 24  # fields remembered per receiving system for multi-hop forwarding
SOURCES_CAP = 6  # upstream senders remembered per system (targets of sync loops)

# flag bits for system-level problems
(
    F_TLS10,
    F_NO_SEC,
    F_PART_SEC,
    F_INDEF,
    F_NO_RET,
    F_NO_DSR,
    F_PART_DSR,
    F_AD_EMAIL,
    F_UNDECL,
    F_BACK,
    F_FIELD_PROBLEMS,
    F_FLOW_PROBLEMS,
) = (1 << i for i in range(12))


def allocate(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Integers proportional to ``weights``, each >= ``minimum``, summing exactly to ``total``."""
    n = len(weights)
    rest = total - minimum * n
    if rest < 0:
        raise ValueError("total too small for the minimum")
    s = sum(weights)
    raw = [rest * w / s for w in weights]
    out = [int(x) for x in raw]
    short = rest - sum(out)
    order = sorted(range(n), key=lambda i: (out[i] - raw[i], i))  # largest fractional part first
    for i in order[:short]:
        out[i] += 1
    return [o + minimum for o in out]


@dataclass
class Sys:
    idx: int
    sid: str
    name: str
    level: int
    kind_key: str
    juris: str
    n_fields: int
    n_flows: int
    seed: int
    flags: int
    deid: bool
    team: str


@dataclass
class Partner:
    pid: str
    role: str
    juris: str


@dataclass
class Plan:
    systems: list[Sys]
    partners: list[Partner]
    by_level: list[list[int]]
    by_level_juris: dict[tuple[int, str], list[int]]
    partners_by_role: dict[str, list[int]]
    partners_by_role_juris: dict[tuple[str, str], list[int]]
    collect_ui: list[int]  # web/app systems


def make_plan(size: str, seed: int) -> Plan:
    n_sys, n_fields, n_flows = SIZES[size]
    rng = random.Random(seed)
    level_counts = allocate(n_sys, list(LEVEL_SHARE), minimum=1)
    levels: list[int] = []
    for lvl, c in enumerate(level_counts):
        levels += [lvl] * c
    kind_keys: list[str] = []
    pos_in_level = 0
    prev = -1
    for lvl in levels:
        pos_in_level = pos_in_level + 1 if lvl == prev else 0
        prev = lvl
        if lvl == 0:
            k = (
                ("app", "web", "firmware")[pos_in_level]
                if pos_in_level < 3
                else rng.choices(("app", "web", "firmware"), (40, 35, 25))[0]
            )
        elif lvl == 1:
            k = "edge"
        elif lvl == 2:
            k = "crm" if pos_in_level == 0 else rng.choices(("core", "crm", "saas2"), (70, 15, 15))[0]
        elif lvl == 3:
            k = "datastore"
        elif lvl == 4:
            k = "lake"
        else:
            k = rng.choices(("mart", "saas5"), (60, 40))[0]
        kind_keys.append(k)
    juris = rng.choices(JURISDICTIONS, JURISDICTION_WEIGHTS, k=n_sys)
    fw = [LEVEL_FIELD_WEIGHT[lvl] * rng.uniform(0.6, 1.4) for lvl in levels]
    fl = [LEVEL_FLOW_WEIGHT[lvl] * rng.uniform(0.5, 1.5) for lvl in levels]
    n_f = allocate(n_fields, fw, minimum=4)
    n_fl = allocate(n_flows, fl, minimum=0)

    flags = [0] * n_sys

    def mark(bit: int, rate: float, pool: list[int]) -> None:
        k = min(len(pool), max(1, round(rate * n_sys)))
        for i in rng.sample(pool, k):
            flags[i] |= bit

    everyone = list(range(n_sys))

    def without(bits: int) -> list[int]:
        return [i for i in everyone if not flags[i] & bits]

    # disjoint where one problem would hide another (no security block hides TLS 1.0, ...)
    mark(F_NO_SEC, 0.02, everyone)
    mark(F_TLS10, 0.03, without(F_NO_SEC))
    mark(F_PART_SEC, 0.05, without(F_NO_SEC | F_TLS10))
    mark(F_NO_RET, 0.02, everyone)
    mark(F_INDEF, 0.03, without(F_NO_RET))
    mark(F_NO_DSR, 0.02, everyone)
    mark(F_PART_DSR, 0.04, without(F_NO_DSR))
    flags[rng.choice(everyone)] |= F_FIELD_PROBLEMS
    with_flows = [i for i in range(n_sys) if n_fl[i] > 0]
    l2 = [i for i in with_flows if levels[i] == 2]
    flags[rng.choice(l2 or with_flows)] |= F_AD_EMAIL
    mid = [i for i in with_flows if 1 <= levels[i] <= 4]
    undecl_pool = [i for i in mid or with_flows if not flags[i] & F_AD_EMAIL]
    flags[rng.choice(undecl_pool)] |= F_UNDECL
    flags[rng.choice(with_flows)] |= F_FLOW_PROBLEMS
    # back edges: one per chosen system, exact count max(1, round(0.5 % of flows))
    # (levels 1-4: they nearly always have an upstream sender, and a later system can take over if not)
    back_pool = mid or with_flows
    for i in rng.sample(back_pool, min(len(back_pool), max(1, round(0.005 * n_flows)))):
        flags[i] |= F_BACK

    systems: list[Sys] = []
    for i in range(n_sys):
        kk = kind_keys[i]
        base = rng.choice(KINDS[kk][3])
        sid = f"{base}-{i:05d}"
        name = base.replace("-", " ").title().replace("Api", "API").replace("Crm", "CRM") + f" {i:05d}"
        deid = kk == "mart" and rng.random() < 0.5
        systems.append(
            Sys(
                i,
                sid,
                name,
                levels[i],
                kk,
                juris[i],
                n_f[i],
                n_fl[i],
                rng.getrandbits(64),
                flags[i],
                deid,
                rng.choice(TEAMS),
            )
        )

    n_part = max(len(PARTNER_ROLES), round(n_sys / 20))
    partners: list[Partner] = []
    for j in range(n_part):
        role = PARTNER_ROLES[j] if j < len(PARTNER_ROLES) else rng.choices(PARTNER_ROLES, PARTNER_ROLE_WEIGHTS)[0]
        pj = rng.choices(JURISDICTIONS, (25, 30, 45))[0]
        partners.append(Partner(f"partner-{PARTNER_NAMES[role]}-{j:04d}", role, pj))

    by_level: list[list[int]] = [[] for _ in LEVEL_SHARE]
    by_lj: dict[tuple[int, str], list[int]] = {}
    for s in systems:
        by_level[s.level].append(s.idx)
        by_lj.setdefault((s.level, s.juris), []).append(s.idx)
    pbr: dict[str, list[int]] = {r: [] for r in PARTNER_ROLES}
    pbrj: dict[tuple[str, str], list[int]] = {}
    for j, p in enumerate(partners):
        pbr[p.role].append(j)
        pbrj.setdefault((p.role, p.juris), []).append(j)
    collect_ui = [s.idx for s in systems if s.kind_key in ("app", "web")]
    return Plan(systems, partners, by_level, by_lj, pbr, pbrj, collect_ui)


# ---------------------------------------------------------------------------------------------------------
# Small files


def emit_organization(size: str, seed: int) -> str:
    L = [
        f"# synthetic inventory generated by benchmarks/generate.py --size {size} --seed {seed}\n",
        "version: 1\n",
        "organization:\n",
        "  name: Synthetic Printing Co. Ltd\n",
        f"  address: {q('1 Innovation Road, Shenzhen, Guangdong, China')}\n",
        "  jurisdiction: CN\n",
        "  contact_email: privacy@example.com\n",
        '  dsr_intake: [privacy@example.com, "https://example.com/privacy/requests"]\n',
        "  dpo:\n    name: Data Protection Officer\n    email: dpo@example.com\n",
        "  eu_representative:\n    name: EU Rep GmbH\n    email: eurep@example.eu\n"
        f"    address: {q('Hauptstrasse 1, 10115 Berlin, Germany')}\n",
        f"  policy_version: {q('2024-05')}\n",
        "  classification_scheme: [public, internal, confidential, restricted]\n",
        "  secure_sdlc_ref: docs/security/sdlc.md\n",
        "  confidentiality_agreement_ref: hr/nda-template.pdf\n",
        "  training_ref: hr/privacy-training-2024.pdf\n",
        "  incident_response:\n",
        "    plan_ref: docs/security/incident-response.md\n",
        "    team: [security-oncall, legal, dpo, comms]\n",
        "    notify_template_fields: [situation, impact, measures, advice, remedies, contact]\n",
        "    notify_channels: [email, push, public_notice]\n",
        "    notify_sla_hours: 72\n",
        "    regulator_procedures:\n",
        "      - jurisdiction: CN\n        authority: Cyberspace Administration of China\n"
        "        procedure_ref: docs/ir/cac.md\n",
        "      - jurisdiction: EU\n        authority: CNIL\n        procedure_ref: docs/ir/cnil.md\n"
        "        deadline_hours: 72\n",
    ]
    return "".join(L)


def emit_purposes() -> str:
    L = ["version: 1\n", "purposes:\n"]
    for pid, name, pp, use, req, core in PURPOSES:
        L.append(f"  - id: {pid}\n    name: {q(name)}\n")
        if pp is not None:
            L.append(f"    policy_purpose: {pp}\n")
        else:
            L.append(f"    description: {q('Not declared by the privacy policy.')}\n")
        L.append(f"    data_use: {use}\n    requires_consent: {b(req)}\n    core: {b(core)}\n")
    return "".join(L)


def emit_consents(plan: Plan) -> str:
    ui = plan.collect_ui
    L = ["version: 1\n", "consents:\n"]
    for n, (cid, purpose, channels, mech, scope, withdrawal) in enumerate(CONSENTS):
        L.append(f"  - id: {cid}\n    purpose: {purpose}\n    channels: {flow_seq(channels)}\n    mechanism: {mech}\n")
        if ui:
            L.append(f"    collected_by: {plan.systems[ui[n % len(ui)]].sid}\n")
        if n % 4 != 3:
            L.append(f"    proof_ref: consent-logs/{cid.split('.', 1)[1]}\n")
        L.append(f"    withdrawal: {b(withdrawal)}\n    scope: {flow_seq(scope)}\n")
    return "".join(L)


def emit_partners(plan: Plan, rng: random.Random) -> str:
    L = ["version: 1\n", "partners:\n"]
    ui = plan.collect_ui
    for j, p in enumerate(plan.partners):
        operator = "processor" if p.role in ("cloud_storage", "processor", "payment") else "third_party"
        L.append(
            f"  - id: {p.pid}\n    name: {q(PARTNER_NAMES[p.role].title() + f' {j:04d}')}\n"
            f"    role: {p.role}\n    operator: {operator}\n    jurisdiction: {p.juris}\n"
            f"    region: {rng.choice(REGIONS[p.juris])}\n"
        )
        if rng.random() < 0.9 or p.role == "authority":
            L.append(f"    dpa_ref: contracts/dpa/{p.pid}.pdf\n")
        L.append(f"    own_policy_url: {q(f'https://{p.pid}.example.net/privacy')}\n")
        L.append(f"    dsr_api: {b(rng.random() < 0.7)}\n")
        if p.role in ("advertiser", "analytics", "social") and ui:
            emb = sorted(rng.sample(ui, min(len(ui), rng.randint(1, 3))))
            L.append(f"    embedded_in: {flow_seq([plan.systems[i].sid for i in emb])}\n")
            L.append("    cookies:\n")
            ctype, purpose = {
                "advertiser": ("advertising", "partner-ads"),
                "analytics": ("analytics", "partner-analytics"),
                "social": ("advertising", "partner-ads"),
            }[p.role]
            for c in range(rng.randint(1, 3)):
                max_age = rng.choice((30, 180, 390, 395, 730))
                L.append(
                    f"      - name: _{PARTNER_NAMES[p.role]}{j}_{c}\n        type: {ctype}\n"
                    f"        max_age_days: {max_age}\n        first_party: {b(rng.random() < 0.3)}\n"
                    f"        fires_before_consent: {b(rng.random() < 0.05)}\n"
                    f"        purpose: {purpose}\n"
                )
    return "".join(L)


# ---------------------------------------------------------------------------------------------------------
# System files

_TLS_OK = ('"1.2"', '"1.3"')
_SEC_OPTIONAL = (
    "encryption_at_rest",
    "isolation",
    "mfa_admin",
    "need_to_know",
    "access_groups",
    "monitoring",
    "audit_log",
    "backup",
    "baseline_ref",
)
_RET_DAYS = (30, 90, 180, 365, 395, 730, 1095, 1825)
_TARGET_PURPOSE = {
    "edge": ("facilitate", "facilitate", "facilitate", "security", "fault", "update"),
    "core": (
        "facilitate",
        "facilitate",
        "facilitate",
        "facilitate",
        "security",
        "fault",
        "update",
        "dsr",
        "survey",
        "counterparty",
    ),
    "crm": ("mkt-messages", "mkt-messages", "survey", "facilitate", "dsr"),
    "saas2": ("fault", "facilitate", "incident-notify"),
    "datastore": ("facilitate", "facilitate", "improve", "security", "fault"),
    "lake": ("improve", "deid-analytics", "personalize-xservice", "fault", "improve"),
    "mart": ("deid-analytics", "improve", "personalize-xservice"),
    "saas5": ("improve", "deid-analytics"),
}
_PARTNER_PURPOSE = {
    "advertiser": ("partner-ads", "partner-ads", "partner-ads", "partner-ad-measure"),
    "analytics": ("partner-analytics",),
    "cloud_storage": ("cloud-storage",),
    "processor": ("mkt-messages", "mkt-messages", "incident-notify", "facilitate"),
    "payment": ("counterparty",),
    "counterparty": ("counterparty",),
    "authority": ("regulator-report",),
    "research_institute": ("deid-analytics", "deid-commercial"),
    "social": ("counterparty", "partner-ads"),
}
_CONSENT_FOR_PURPOSE = {
    "partner-ads": "consent.partner-ads",
    "partner-ad-measure": "consent.partner-ads",
    "partner-analytics": "consent.partner-analytics",
    "cookie-ads": "consent.cookie-ads",
    "cookie-analytics": "consent.cookie-analytics",
    "ai-training": "consent.ai-training",
    "survey": "consent.survey",
}
_CONTRACT = frozenset({"facilitate", "counterparty", "cloud-storage", "update", "dsr"})
_LEGIT = frozenset(
    {
        "improve",
        "deid-analytics",
        "deid-commercial",
        "personalize-xservice",
        "incident-notify",
        "ad-profiling",
        "data-brokerage",
    }
)


class Generator:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        n = len(plan.systems)
        self.inbound: list[list[tuple[str, bool]] | None] = [None] * n  # fields received (id, direct)
        self.sources: list[list[int]] = [[] for _ in range(n)]
        self.stats: dict[str, int] = {}
        self.pending_back = 0  # sync loops owed by flagged systems that had no upstream sender yet

    def count(self, key: str, k: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + k

    # --- one system -------------------------------------------------------------------------------------
    def system_text(self, s: Sys) -> str:
        r = random.Random(s.seed)
        kind, operator, group, _ = KINDS[s.kind_key]
        L: list[str] = ["version: 1\n", "systems:\n"]
        a = L.append
        a(f"  - id: {s.sid}\n    name: {q(s.name)}\n")
        if r.random() < 0.3:
            a(f"    description: {q(f'{kind.title()} run by {s.team} in {s.juris}')}\n")
        a(
            f"    owner_team: {s.team}\n    kind: {kind}\n    operator: {operator}\n"
            f"    region: {r.choice(REGIONS[s.juris])}\n    jurisdiction: {s.juris}\n"
        )
        if s.level == 0:
            sj = [s.juris] + [j for j in JURISDICTIONS if j != s.juris and r.random() < 0.4]
            a(f"    subject_jurisdictions: {flow_seq(sj)}\n")
        a("    processes_personal_data: true\n")
        if s.deid:
            a("    deidentifies: true\n")
        if kind in ("app", "web"):
            a(
                f"    consent_banner:\n      reject_first_layer: {b(r.random() < 0.85)}\n"
                f"      silence_means_refusal: {b(r.random() < 0.9)}\n"
                f"      choice_ttl_days: {r.choice((180, 180, 180, 365, 395))}\n"
            )
        self._security(s, r, a)
        self._retention(s, r, a)
        self._dsr(s, r, a)

        # fields
        cats_tbl, cum = _GROUP_TABLE[group]
        top = cum[-1]
        used: dict[str, int] = {}
        fids: list[str] = []
        direct: list[bool] = []
        emails: list[int] = []
        a("    fields:\n")
        deid = s.deid
        lvl = s.level
        rand = r.random
        for fi in range(s.n_fields):
            forced = fi if s.flags & F_FIELD_PROBLEMS else -1
            if fi == 0 and s.flags & F_AD_EMAIL:
                c = EMAIL
            elif forced == 1 or rand() < P_UNDISCLOSED:
                c = UNDISCLOSED_CATS[int(rand() * len(UNDISCLOSED_CATS))]
                self.count("fields_undisclosed_category")
            else:
                c = cats_tbl[bisect(cum, rand() * top)]
            base = c.names[int(rand() * len(c.names))]
            k = used.get(base, 0) + 1
            used[base] = k
            name = base if k == 1 else f"{base}_{k}"
            fid = f"{s.sid}.{name}"
            fids.append(fid)
            direct.append(c.direct)
            if c is EMAIL:
                emails.append(fi)
            collection = c.collection if lvl == 0 or rand() >= 0.25 else "derived"
            if deid:
                ident = ("deidentified", "aggregate", "anonymous")[int(rand() * 3)]
            elif lvl >= 4 and not c.direct and rand() < 0.2:
                ident = "deidentified"
            else:
                ident = c.ident
            x = rand()
            if c.prot == "cred":
                prot = "hashed_salted" if x < 0.94 else ("hashed_weak" if x < 0.99 else "plain")
                if x >= 0.94:
                    self.count("fields_weak_credential")
            elif c.prot == "direct":
                prot = (
                    "encrypted"
                    if x < 0.35
                    else "tokenized"
                    if x < 0.45 and lvl >= 3
                    else "masked"
                    if x < 0.5
                    else "plain"
                )
            elif c.prot == "content":
                prot = "encrypted" if x < 0.5 else "plain"
            else:
                prot = "encrypted" if x < 0.15 else "plain"
            a(
                f"      - id: {fid}\n        name: {name}\n        category: {c.key}\n"
                f"        collection: {collection}\n        identifiability: {ident}\n"
                f"        protection: {prot}\n"
            )
            if c.direct:
                a(f"        masked_in_logs: {b(rand() < 0.9)}\n        classification: restricted\n")
            elif rand() < 0.6:
                a("        classification: internal\n")
            if c.join:
                a("        join_key: true\n")
            if forced == 2 or rand() < P_NO_PURPOSE:
                self.count("fields_without_purpose")
            else:
                pool = c.purposes
                if len(pool) == 1:
                    ps = [pool[0]]
                else:
                    n_p = 1 + (rand() < 0.4) + (rand() < 0.1)
                    ps = r.sample(pool, min(n_p, len(pool)))
                if forced == 3 or rand() < P_FIELD_UNDECLARED:
                    ps.append(UNDECLARED[1 + int(rand() * 2)] if forced == 3 else UNDECLARED[int(rand() * 3)])
                    self.count("fields_undeclared_purpose")
                a(f"        purposes: {flow_seq(ps)}\n")

        # flows leaving this system
        if s.n_flows:
            a("flows:\n")
            self._flows(s, r, a, fids, direct, emails)
        self.inbound[s.idx] = None  # free what this system received
        return "".join(L)

    def _security(self, s: Sys, r: random.Random, a: Emit) -> None:
        emit = a
        if s.flags & F_NO_SEC:
            self.count("systems_without_security")
            return
        tls = '"1.0"' if s.flags & F_TLS10 else _TLS_OK[int(r.random() < 0.4)]
        if s.flags & F_TLS10:
            self.count("systems_tls_1_0")
        keep = set(_SEC_OPTIONAL)
        if s.flags & F_PART_SEC:
            for k in r.sample(_SEC_OPTIONAL, r.randint(2, 4)):
                keep.discard(k)
            self.count("systems_partial_security")
        out = [f"    security:\n      tls_min: {tls}\n"]
        if "encryption_at_rest" in keep:
            out.append(f"      encryption_at_rest: {b(r.random() < 0.95)}\n")
        if "isolation" in keep:
            iso = ("network", "network", "tenant", "dedicated", "none")[int(r.random() * 5)]
            out.append(f"      isolation: {iso}\n")
        if "mfa_admin" in keep:
            out.append(f"      mfa_admin: {b(r.random() < 0.95)}\n")
        if "need_to_know" in keep:
            out.append(f"      need_to_know: {b(r.random() < 0.96)}\n")
        if "access_groups" in keep:
            out.append(f"      access_groups: [{s.team}-admins, sre]\n")
        if "monitoring" in keep:
            out.append("      monitoring: true\n")
        if "audit_log" in keep:
            out.append(f"      audit_log: {b(r.random() < 0.95)}\n")
        if "backup" in keep:
            out.append(f"      backup:\n        enabled: true\n        encrypted: {b(r.random() < 0.9)}\n")
        if "baseline_ref" in keep:
            out.append("      baseline_ref: docs/security/baseline-v3.md\n")
        emit("".join(out))

    def _retention(self, s: Sys, r: random.Random, a: Emit) -> None:
        emit = a
        if s.flags & F_NO_RET:
            self.count("systems_without_retention")
            return
        if s.flags & F_INDEF:
            self.count("systems_indefinite_retention")
            emit("    retention:\n      indefinite: true\n")
            return
        days = r.choice(_RET_DAYS)
        txt = f"    retention:\n      days: {days}\n"
        if days >= 1095 or r.random() < 0.2:
            txt += f"      legal_ref: legal/retention/{s.kind_key}.md\n"
        emit(txt)

    def _dsr(self, s: Sys, r: random.Random, a: Emit) -> None:
        emit = a
        if s.flags & F_NO_DSR:
            self.count("systems_without_dsr")
            return
        if s.flags & F_PART_DSR:
            self.count("systems_partial_dsr")
            emit("    dsr:\n      access: true\n")
            return
        txt = (
            f"    dsr:\n      access: true\n      rectify: {b(r.random() < 0.97)}\n"
            f"      delete: {b(r.random() < 0.97)}\n      propagates: {b(r.random() < 0.85)}\n"
        )
        if s.level >= 4 and r.random() < 0.3:
            txt += "      delete_exception_ref: legal/dsr-exceptions.md\n"
        emit(txt)

    # --- flows --------------------------------------------------------------------------------------------
    def _pick_system(self, r: random.Random, level: int, juris: str) -> int:
        p = self.plan
        same = p.by_level_juris.get((level, juris))
        pool = same if same and r.random() < 0.75 else p.by_level[level]
        return pool[int(r.random() * len(pool))]

    def _pick_partner(self, r: random.Random, role: str, juris: str) -> int:
        p = self.plan
        same = p.partners_by_role_juris.get((role, juris))
        pool = same if same and r.random() < 0.5 else p.partners_by_role[role]
        return pool[int(r.random() * len(pool))]

    def _flows(self, s: Sys, r: random.Random, a: Emit, fids: list[str], direct: list[bool], emails: list[int]) -> None:
        emit = a
        plan = self.plan
        systems = plan.systems
        partners = plan.partners
        nondirect = [i for i, d in enumerate(direct) if not d]
        directs = [i for i, d in enumerate(direct) if d]
        received = self.inbound[s.idx] or []
        received_nd = [x for x in received if not x[1]]
        own_direct = dict(zip(fids, direct, strict=True))
        recv_direct = dict(received)
        targets_t, targets_cum = _TARGET_BY_LEVEL[s.level]
        roles_t, roles_cum = _PARTNER_BY_LEVEL[s.level]
        rand = r.random
        want_back = bool(s.flags & F_BACK) or self.pending_back > 0
        adjacent = [i for i in self.sources[s.idx] if systems[i].level == s.level - 1]
        force_flow_problems = bool(s.flags & F_FLOW_PROBLEMS)
        for k in range(s.n_flows):
            fid = f"flow.{s.sid}.{k + 1:03d}"
            back = False
            force_ad = k == 0 and bool(s.flags & F_AD_EMAIL)
            force_undecl = (k == 1 or s.n_flows == 1) and bool(s.flags & F_UNDECL) and not force_ad
            to_sys = -1
            to_part = -1
            if force_ad:
                to_part = self._pick_partner(r, "advertiser", s.juris)
            elif k == s.n_flows - 1 and want_back and adjacent:
                # sync loop back to a sender one level up: no forward path between them passes through a
                # third system, so each loop stays a small strongly connected component
                if not s.flags & F_BACK:
                    self.pending_back -= 1
                want_back = False
                to_sys = adjacent[int(rand() * len(adjacent))]
                back = True
            else:
                t = targets_t[bisect(targets_cum, rand() * targets_cum[-1])]
                if t == "p":
                    role = roles_t[bisect(roles_cum, rand() * roles_cum[-1])]
                    to_part = self._pick_partner(r, role, s.juris)
                else:
                    assert isinstance(t, int)
                    to_sys = self._pick_system(r, t, s.juris)
            if to_part >= 0:
                partner = partners[to_part]
                role = partner.role
                to_id = partner.pid
                to_juris = partner.juris
                purposes = _PARTNER_PURPOSE[role]
            else:
                tsys = systems[to_sys]
                role = ""
                to_id = tsys.sid
                to_juris = tsys.juris
                purposes = ("facilitate",) if back else _TARGET_PURPOSE[tsys.kind_key]
            purpose = purposes[int(rand() * len(purposes))]
            if force_undecl or (not back and rand() < P_FLOW_UNDECLARED):
                purpose = UNDECLARED[int(rand() * 3)] if not force_undecl else "ad-profiling"
                self.count("flows_undeclared_purpose")
                if purpose != "ai-training":
                    self.count("flows_undeclared_purpose_without_consent")

            # fields
            ad_like = role in ("advertiser", "analytics", "social")
            pool = nondirect if ad_like and nondirect else list(range(len(fids)))
            n_sel = min(len(pool), (1, 1, 2, 2, 3, 3, 4, 5, 6)[int(rand() * 9)])
            chosen = [fids[i] for i in sorted(r.sample(pool, n_sel))]
            if ad_like and (force_ad or (role == "advertiser" and rand() < P_AD_EMAIL)):
                src = emails or directs
                if src:
                    e = fids[src[int(rand() * len(src))]]
                    if e not in chosen:
                        chosen.append(e)
                    self.count("flows_email_to_advertiser" if emails else "flows_direct_id_to_ad_partner")
            fwd_pool = received_nd if ad_like else received
            if fwd_pool and not s.deid and not back and rand() < 0.3:
                for fw_id, _d in r.sample(fwd_pool, min(len(fwd_pool), 1 + (rand() < 0.4))):
                    if fw_id not in chosen:
                        chosen.append(fw_id)
                        self.count("flows_forwarding_upstream_field")
            if to_sys >= 0 and not back:
                inb = self.inbound[to_sys]
                if inb is None:
                    inb = self.inbound[to_sys] = []
                for cf in chosen:
                    d = own_direct.get(cf)
                    if d is None:
                        d = recv_direct.get(cf, True)
                    if len(inb) < FORWARD_CAP:
                        inb.append((cf, d))
                    elif rand() < 0.2:
                        inb[int(rand() * FORWARD_CAP)] = (cf, d)
                srcs = self.sources[to_sys]
                if len(srcs) < SOURCES_CAP and s.idx not in srcs:
                    srcs.append(s.idx)
            if back:
                self.count("flows_back_edge")

            out = [f"  - id: {fid}\n"]
            if back:
                out.append(f"    description: {q(f'Sync loop back to {to_id}')}\n")
            out.append(f"    from: {s.sid}\n    to: {to_id}\n    fields: {flow_seq(chosen)}\n    purpose: {purpose}\n")

            # channel / trigger
            if purpose == "mkt-messages":
                channel = ("email", "email", "sms", "push")[int(rand() * 4)]
            elif s.level == 0:
                channel = "sdk" if ad_like else ("app" if s.kind_key != "web" else "web")
            elif to_part >= 0:
                channel = "api" if rand() < 0.6 else "batch"
            else:
                channel = ("stream", "batch", "api")[int(rand() * 3)]
            if role == "authority":
                trigger = "legal_request"
            elif purpose == "incident-notify":
                trigger = "incident"
            elif s.level == 0:
                trigger = "user_action" if rand() < 0.6 else "continuous"
            else:
                trigger = "continuous" if channel == "stream" else "scheduled"

            # legal basis
            if (k == 0 and force_flow_problems) or rand() < P_NO_LEGAL_BASIS:
                self.count("flows_without_legal_basis")
            elif purpose == "mkt-messages":
                cid = CONSENT_FOR_CHANNEL.get(channel, "consent.mkt-email")
                out.append(f"    legal_basis:\n      kind: consent\n      consent: {cid}\n")
            elif purpose in _CONSENT_FOR_PURPOSE:
                cid = _CONSENT_FOR_PURPOSE[purpose]
                out.append(f"    legal_basis:\n      kind: consent\n      consent: {cid}\n")
            elif purpose in ("security", "fault"):
                out.append(
                    '    legal_basis:\n      kind: exemption\n      exemption: "II.IV.3(8)"\n'
                    f"      evidence_ref: docs/exemptions/{purpose}.md\n"
                )
            elif purpose in ("regulator-report", "dsr") and to_part >= 0:
                out.append("    legal_basis:\n      kind: legal_obligation\n")
            elif purpose in _CONTRACT:
                out.append("    legal_basis:\n      kind: contract\n")
            elif purpose in _LEGIT:
                out.append(
                    "    legal_basis:\n      kind: "
                    + ("legitimate_interest\n" if rand() < 0.6 else "declared_purpose\n")
                )
            else:
                out.append("    legal_basis:\n      kind: declared_purpose\n")
            out.append(f"    channel: {channel}\n    trigger: {trigger}\n")
            x = rand()
            if x < 0.015 or (k == 0 and force_flow_problems):
                out.append("    tls: false\n")
                self.count("flows_without_tls")
            elif x >= 0.045:
                out.append("    tls: true\n")

            # cross-border transfer
            if to_juris != s.juris:
                self.count("flows_cross_border")
                if rand() < P_NO_TRANSFER:
                    self.count("flows_cross_border_without_transfer")
                else:
                    out.append(self._transfer(r, s.juris, to_juris, fid, channel))
            emit("".join(out))
        if want_back and s.flags & F_BACK:
            self.pending_back += 1  # no upstream sender yet: a later system closes the loop instead

    def _transfer(self, r: random.Random, src: str, dst: str, fid: str, channel: str) -> str:
        x = r.random()
        sep = False
        if src == "CN":
            mech = (
                "pipl_standard_contract"
                if x < 0.5
                else "cac_assessment"
                if x < 0.75
                else "pipl_certification"
                if x < 0.87
                else "consent"
                if x < 0.95
                else "none"
            )
            sep = r.random() < 0.92
        elif src == "EU":
            if dst == "US":
                mech = (
                    "adequacy"
                    if x < 0.35
                    else "scc"
                    if x < 0.75
                    else "bcr"
                    if x < 0.85
                    else "art49_consent"
                    if x < 0.9
                    else "art49_contract"
                    if x < 0.95
                    else "none"
                )
            else:
                mech = (
                    "scc"
                    if x < 0.7
                    else "bcr"
                    if x < 0.8
                    else "art49_contract"
                    if x < 0.9
                    else "art49_consent"
                    if x < 0.95
                    else "none"
                )
        else:
            mech = "contract_necessity" if x < 0.4 else "scc" if x < 0.7 else "legal_mandate" if x < 0.8 else "none"
        if mech == "none":
            self.count("flows_cross_border_mechanism_none")
        out = [f"    transfer:\n      mechanism: {mech}\n"]
        if mech not in ("none", "consent", "art49_consent", "adequacy"):
            out.append(f"      ref: contracts/transfers/{src.lower()}-{dst.lower()}-{mech}.pdf\n")
        if (
            mech in ("scc", "bcr", "pipl_standard_contract", "cac_assessment", "pipl_certification")
            and r.random() < 0.85
        ):
            out.append(f"      tia_ref: assessments/{fid}.pdf\n")
        if sep:
            out.append("      separate_consent: consent.xborder\n")
        freq = "continuous" if channel == "stream" else "regular" if channel == "batch" else "occasional"
        out.append(f"      frequency: {freq}\n")
        return "".join(out)


# ---------------------------------------------------------------------------------------------------------


def write(path: Path, text: str) -> int:
    data = text.encode("ascii")
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def clear_outputs(out: Path) -> None:
    """Remove only files this generator writes (a previous run of another size may have left more)."""
    for name in ("organization.yaml", "purposes.yaml", "consents.yaml", "partners.yaml"):
        (out / name).unlink(missing_ok=True)
    sysdir = out / "systems"
    if sysdir.is_dir():
        for p in sysdir.iterdir():
            if p.suffix == ".yaml" and p.is_file():
                p.unlink()


def generate(size: str, seed: int, out: Path) -> dict[str, int]:
    plan = make_plan(size, seed)
    top_rng = random.Random(seed ^ 0x5EED)
    out.mkdir(parents=True, exist_ok=True)
    sysdir = out / "systems"
    sysdir.mkdir(exist_ok=True)
    nbytes = write(out / "organization.yaml", emit_organization(size, seed))
    nbytes += write(out / "purposes.yaml", emit_purposes())
    nbytes += write(out / "consents.yaml", emit_consents(plan))
    nbytes += write(out / "partners.yaml", emit_partners(plan, top_rng))
    files = 4
    gen = Generator(plan)
    n_fields = n_flows = 0
    for s in plan.systems:
        nbytes += write(sysdir / f"{s.sid}.yaml", gen.system_text(s))
        files += 1
        n_fields += s.n_fields
        n_flows += s.n_flows
    stats = {
        "systems": len(plan.systems),
        "fields": n_fields,
        "flows": n_flows,
        "partners": len(plan.partners),
        "purposes": len(PURPOSES),
        "consents": len(CONSENTS),
        "files": files,
        "bytes": nbytes,
    }
    stats.update(sorted(gen.stats.items()))
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a deterministic synthetic auditor inventory.")
    ap.add_argument("--size", choices=sorted(SIZES, key=lambda k: SIZES[k][0]), required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--force", action="store_true", help="overwrite generator files in a non-empty DIR")
    ap.add_argument("--stats", action="store_true", help="also print the seeded-problem counts as JSON")
    args = ap.parse_args(argv)
    out: Path = args.out
    if out.exists() and any(out.iterdir()):
        if not args.force:
            print(f"error: {out} is not empty (use --force to overwrite)", file=sys.stderr)
            return 2
        clear_outputs(out)
    t0 = time.perf_counter()
    st = generate(args.size, args.seed, out)
    dt = time.perf_counter() - t0
    print(
        f"size={args.size} seed={args.seed} systems={st['systems']} fields={st['fields']} "
        f"flows={st['flows']} partners={st['partners']} files={st['files']} bytes={st['bytes']} "
        f"seconds={dt:.2f}"
    )
    if args.stats:
        print(json.dumps(st, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
