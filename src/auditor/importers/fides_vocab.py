"""The one mapping table from fideslang's vocabulary to this project's (documented in docs/fides.md, checked by
tests/test_fides_import.py against fideslang's default taxonomy and the policy pack's vocabulary).

Data categories need no table: the inventory's categories *are* fideslang keys, extended by the policy's own custom
children (``user.device.device_id.imei``...), so a fideslang category is copied as it is. Everything else is here.

The rule when a fideslang key has no exact counterpart: leave it unmapped rather than guess. An unmapped data use
gives a purpose with no ``policy_purpose``, which the policy treats as undeclared (prior consent needed, II.IV.2.e):
the import can make an inventory stricter than the truth, never laxer.
"""

from __future__ import annotations

# fideslang data use -> the policy's purpose (vocab.rego `policy_purposes`, CLAUSES.md §B.2), or None: no purpose the
# policy declares. Every key of fideslang's default taxonomy is listed, so none falls through by accident; a custom
# data use (a `data_use` resource with a parent_key) takes the entry of its nearest listed ancestor.
DATA_USE_PURPOSE: dict[str, str | None] = {
    "analytics": "DEID.ANALYTICS",
    "analytics.reporting": "DEID.ANALYTICS",
    "analytics.reporting.ad_performance": "PARTNER.AD_MEASURE",
    "analytics.reporting.campaign_insights": "PARTNER.AD_MEASURE",
    "analytics.reporting.content_performance": "COOKIE.ANALYTICS",
    "analytics.reporting.system": "FAULT",
    "analytics.reporting.system.performance": "FAULT",
    "collect": None,  # collecting for its own sake: never declared (CLAUSES.md §B.2)
    "employment": None,
    "employment.recruitment": None,
    "essential": "FACILITATE",
    "essential.fraud_detection": "SECURITY",
    "essential.legal_obligation": "LEGAL.OBLIGATION",
    "essential.service": "FACILITATE",
    "essential.service.authentication": "FACILITATE",
    "essential.service.notifications": "FACILITATE",
    "essential.service.notifications.email": "FACILITATE",
    "essential.service.notifications.sms": "FACILITATE",
    "essential.service.operations": "FACILITATE",
    "essential.service.operations.improve": "IMPROVE",
    "essential.service.operations.support": "FAULT",
    "essential.service.payment_processing": "COUNTERPARTY",
    "essential.service.security": "SECURITY",
    "essential.service.upgrades": "UPDATE",
    "finance": None,
    "functional": "FACILITATE",
    "functional.service": "FACILITATE",
    "functional.service.improve": "IMPROVE",
    "functional.storage": "COOKIE.PREFS",
    "functional.storage.privacy_preferences": "COOKIE.PREFS",
    "marketing": None,
    "marketing.advertising": "COOKIE.ADS",
    "marketing.advertising.first_party": "COOKIE.ADS",
    "marketing.advertising.first_party.contextual": "COOKIE.ADS",
    "marketing.advertising.first_party.targeted": "COOKIE.ADS",
    "marketing.advertising.frequency_capping": "COOKIE.ADS",
    "marketing.advertising.negative_targeting": "COOKIE.ADS",
    "marketing.advertising.profiling": None,  # profiling for ads: never declared (CLAUSES.md §B.2)
    "marketing.advertising.serving": "COOKIE.ADS",
    "marketing.advertising.third_party": "PARTNER.ADS",
    "marketing.advertising.third_party.targeted": "PARTNER.ADS",
    "marketing.communications": "MKT.MESSAGES",
    "marketing.communications.email": "MKT.MESSAGES",
    "marketing.communications.sms": "MKT.MESSAGES",
    "operations": None,
    "personalize": None,
    "personalize.content": None,
    "personalize.content.limited": None,
    "personalize.content.profiled": "PERSONALIZE.XSERVICE",
    "personalize.content.profiling": "PERSONALIZE.XSERVICE",
    "personalize.profiling": "PERSONALIZE.XSERVICE",
    "personalize.system": "COOKIE.PREFS",
    "sales": None,
    "third_party_sharing": None,  # sharing that is not a legal obligation needs consent (II.IV.2.e)
    "third_party_sharing.legal_obligation": "LEGAL.OBLIGATION",
    "train_ai_system": None,  # never declared (CLAUSES.md §B.2)
}

# PrivacyDeclaration.legal_basis_for_processing -> flow legal_basis.kind. "Consent" names no consent record: the
# import cannot say which consent covers the flow, so the rules report it until the inventory names one.
LEGAL_BASIS: dict[str, str] = {
    "Consent": "consent",
    "Contract": "contract",
    "Legal obligations": "legal_obligation",
    "Vital interests": "vital_interest",
    "Public interest": "public_interest",
    "Legitimate interests": "legitimate_interest",
}

# System.legal_basis_for_transfers (free strings in fideslang; these are the values Fides offers) -> transfer
# mechanism. "Supplementary Measures" and anything else are not a mechanism on their own: left for the user.
TRANSFER_MECHANISM: dict[str, str] = {
    "Adequacy Decision": "adequacy",
    "SCCs": "scc",
    "BCRs": "bcr",
}

# System.system_type (free text in fideslang; compared lower-case, with '-' and '_' as spaces) -> system kind.
# Another value needs `meta: {kind: ...}` on the system; the import refuses to guess.
SYSTEM_KIND: dict[str, str] = {
    "service": "backend",
    "backend": "backend",
    "api": "backend",
    "microservice": "backend",
    "application": "app",
    "app": "app",
    "mobile app": "app",
    "mobile application": "app",
    "website": "web",
    "web": "web",
    "web application": "web",
    "web app": "web",
    "database": "datastore",
    "datastore": "datastore",
    "data store": "datastore",
    "storage": "datastore",
    "data warehouse": "warehouse",
    "warehouse": "warehouse",
    "saas": "saas",
    "crm": "crm",
    "firmware": "firmware",
    "device": "firmware",
}

# System.system_type values that make the system a third party of ours: it becomes a partner (so do systems with a
# vendor_id, Fides's link to a vendor list).
THIRD_PARTY_TYPES: frozenset[str] = frozenset({"third party", "vendor", "partner", "external"})

# A partner's role from the data uses of its privacy declarations (the first prefix that matches, in this order), or
# from its responsibility: a Processor with none of these uses is a `processor`, anything else `other`.
PARTNER_ROLE_BY_USE: tuple[tuple[str, str], ...] = (
    ("marketing.advertising", "advertiser"),
    ("analytics.reporting.ad_performance", "advertiser"),
    ("analytics.reporting.campaign_insights", "advertiser"),
    ("analytics", "analytics"),
    ("essential.service.payment_processing", "payment"),
    ("third_party_sharing.legal_obligation", "authority"),
)

# System.responsibility -> operator of a system (first_party unless Fides says it only processes for us) or of a
# partner (processor when Fides says Processor or Sub-Processor, else third_party).
PROCESSOR_RESPONSIBILITIES: frozenset[str] = frozenset({"Processor", "Sub-Processor"})

# Data uses whose purposes are core to the service (purpose `core: true`): the `essential` tree.
CORE_USE_ROOT = "essential"


def ancestors(key: str) -> list[str]:
    """``key`` then its dotted ancestors, nearest first: "a.b.c" -> ["a.b.c", "a.b", "a"]."""
    parts = key.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def covers(general: str, specific: str) -> bool:
    """A category (or use) key covers itself and everything below it."""
    return specific == general or specific.startswith(general + ".")


__all__ = [
    "CORE_USE_ROOT",
    "DATA_USE_PURPOSE",
    "LEGAL_BASIS",
    "PARTNER_ROLE_BY_USE",
    "PROCESSOR_RESPONSIBILITIES",
    "SYSTEM_KIND",
    "THIRD_PARTY_TYPES",
    "TRANSFER_MECHANISM",
    "ancestors",
    "covers",
]
