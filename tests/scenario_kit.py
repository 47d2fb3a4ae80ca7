"""Small inventories as Python data for the lineage-accuracy tests: a compliant base (no error with every overlay
on) and builders for the systems, partners and flows a test adds to it. Every value is written out: a test reads
as the inventory it audits."""

from __future__ import annotations

import copy
from typing import Any

ORGANIZATION: dict[str, Any] = {
    "name": "Example SAS",
    "address": "1 rue de la Paix, Paris",
    "jurisdiction": "FR",
    "contact_email": "cs@creality.com",
    "dsr_intake": ["cs@creality.com"],
    "dpo": {"name": "DPO", "email": "dpo@example.com"},
    "classification_scheme": ["internal", "confidential"],
    "secure_sdlc_ref": "https://wiki.example/sdlc",
    "confidentiality_agreement_ref": "https://wiki.example/nda",
    "training_ref": "https://wiki.example/training",
    "incident_response": {
        "plan_ref": "https://wiki.example/ir",
        "team": ["security-oncall"],
        "notify_template_fields": ["situation", "impact", "measures", "advice", "remedies", "contact"],
        "notify_channels": ["email", "public_notice"],
        "notify_sla_hours": 72,
        "regulator_procedures": [{"jurisdiction": "EU", "authority": "CNIL", "deadline_hours": 72}],
    },
}

STORE_SECURITY: dict[str, Any] = {
    "tls_min": "1.2",
    "encryption_at_rest": True,
    "isolation": "tenant",
    "mfa_admin": True,
    "need_to_know": True,
    "access_groups": ["platform"],
    "monitoring": True,
    "audit_log": True,
    "backup": {"enabled": True, "encrypted": True},
    "baseline_ref": "https://wiki.example/baseline",
}

RIGHTS: dict[str, Any] = {"access": True, "rectify": True, "delete": True, "propagates": True}


def field(fid: str, category: str, purposes: list[str], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": fid,
        "category": category,
        "collection": "user_provided",
        "identifiability": "identified",
        "protection": "plain",
        "masked_in_display": True,
        "masked_in_logs": True,
        "classification": "confidential",
        "subjects": ["customer"],
        "purposes": purposes,
    }
    data.update(extra)
    return data


def app(fields: list[dict[str, Any]], kind: str = "app", sid: str = "app") -> dict[str, Any]:
    """A client collection point in France."""
    return {
        "id": sid,
        "name": sid,
        "kind": kind,
        "operator": "first_party",
        "owner_team": "mobile",
        "jurisdiction": "FR",
        "subject_jurisdictions": ["FR"],
        "security": {"tls_min": "1.2", "encryption_at_rest": True},
        "retention": {"days": 30},
        "dsr": dict(RIGHTS),
        "fields": fields,
    }


def store(sid: str, fields: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """A server-side store in France with every security, retention and rights fact stated."""
    data: dict[str, Any] = {
        "id": sid,
        "name": sid,
        "kind": "backend",
        "operator": "first_party",
        "owner_team": "platform",
        "jurisdiction": "FR",
        "security": dict(STORE_SECURITY),
        "retention": {"days": 365},
        "dsr": dict(RIGHTS),
    }
    if fields:
        data["fields"] = fields
    data.update(extra)
    return data


def partner(pid: str, role: str, operator: str = "third_party", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": pid,
        "name": pid,
        "role": role,
        "operator": operator,
        "jurisdiction": "FR",
        "dpa_ref": f"https://legal.example/{pid}-agreement",
        "own_policy_url": f"https://{pid}.example/privacy",
        "dsr_api": True,
    }
    data.update(extra)
    return data


def flow(fid: str, src: str, dst: str, fields: list[str], purpose: str, basis: dict[str, Any], **extra: Any) -> dict:
    data: dict[str, Any] = {
        "id": fid,
        "from": src,
        "to": dst,
        "fields": fields,
        "purpose": purpose,
        "legal_basis": basis,
        "channel": "api",
        "trigger": "user_action",
        "tls": True,
    }
    data.update(extra)
    return data


def base() -> dict[str, Any]:
    """A compliant inventory: an app in France sends the user's e-mail to a backend for support. `--law all` gives
    no error on it (one GDPR records warning: the app states no security measures for RoPA column (g))."""
    return copy.deepcopy(
        {
            "organization": ORGANIZATION,
            "purposes": [{"id": "support", "name": "Support", "policy_purpose": "FACILITATE", "core": True}],
            "systems": [
                app([field("app.email", "user.contact.email", ["support"])]),
                store("backend"),
            ],
            "partners": [],
            "consents": [],
            "flows": [
                flow("app-to-backend", "app", "backend", ["app.email"], "support", {"kind": "contract"}),
            ],
        }
    )


def system_of(inv: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in inv["systems"] if s["id"] == sid)
