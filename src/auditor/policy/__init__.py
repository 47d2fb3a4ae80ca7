"""Policy evaluation: the policy pack (clauses, Rego modules, rule metadata), input partitions and engines."""

from __future__ import annotations

from auditor.errors import UsageError
from auditor.policy.catalogue import OVERLAYS, POLICY_PACK, PolicyPack, load_pack
from auditor.policy.engine import Engine

ENGINES = ("embedded", "opa", "reference")


def make_engine(name: str, **options: object) -> Engine:
    """The engine called ``name`` (embedded is the default and needs no server)."""
    if name == "embedded":
        from auditor.policy.regorus_engine import RegorusEngine

        return RegorusEngine()
    if name == "opa":
        from auditor.policy.opa_engine import OpaServerEngine, OpaSettings

        settings = options.get("opa")
        if not isinstance(settings, OpaSettings):
            settings = OpaSettings.build(**{k[4:]: v for k, v in options.items() if k.startswith("opa_")})  # type: ignore[arg-type]
        return OpaServerEngine(settings)
    if name == "reference":
        from auditor.policy.reference_engine import ReferenceEngine

        return ReferenceEngine()
    raise UsageError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")


__all__ = ["ENGINES", "OVERLAYS", "POLICY_PACK", "Engine", "PolicyPack", "load_pack", "make_engine"]
