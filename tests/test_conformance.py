"""Conformance: the embedded engine (regorus), real OPA in-process (reference) and an OPA server (the REST test
harness over real OPA) must agree on every module, every Rego unit test and every inventory.

Everything is discovered, not listed: every module of the pack, every ``test_*`` rule, the sample inventory, every
inventory directory under ``tests/fixtures/`` and generated benchmark inventories (S and M; ``make conformance``
adds L: ``AUDITOR_CONFORMANCE_SIZES=S,M,L``) — so rules and fixtures added later are guarded too. The OPA server
(over REST: the same real OPA as the reference, behind the transport) joins on the sample, the fixtures and S;
``make conformance`` adds it on M and L (``AUDITOR_CONFORMANCE_SERVER_SIZES=S,M,L``): on M it costs ~35 s of the
suite's CPU for the evaluation the reference has just made. A failure here
means regorus and real OPA disagree, or real OPA rejects a module: fix the module, do not relax the test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.conftest import POLICIES, ROOT, SAMPLE, generate_inventory, run_auditor

from auditor.policy import load_pack
from auditor.policy.reference_engine import ReferenceEngine, available
from auditor.policy.regorus_engine import RegorusEngine

# No silent skip: without the real-OPA reference these guarantees would simply not be checked.
if not available():
    pytest.fail("opa-golib-python-bindings is not installed; `make test` installs it", pytrace=False)

FIXTURES = ROOT / "tests" / "fixtures"
SIZES = [s for s in os.environ.get("AUDITOR_CONFORMANCE_SIZES", "S,M").split(",") if s]
SERVER_SIZES = [s for s in os.environ.get("AUDITOR_CONFORMANCE_SERVER_SIZES", "S").split(",") if s]


def inventory_dirs() -> list[Path]:
    """Every directory under tests/fixtures/ holding YAML files (the topmost one of a tree)."""
    found: list[Path] = []
    for d in sorted(p for p in FIXTURES.rglob("*") if p.is_dir()):
        if any(d.glob("*.yaml")) and not any(parent in found for parent in d.parents):
            found.append(d)
    return found


def test_every_module_compiles_on_real_opa() -> None:
    """Real OPA compiles the whole pack, with the generated aggregator (and its category-facts tabulation, which only
    the embedded engine queries): any error names file:line of the culprit."""
    pack = load_pack(POLICIES)
    assert pack.modules, "no Rego modules found"
    ReferenceEngine()._load(pack, [*pack.modules, pack.aggregator(category_facts=True)]).close()


def test_rego_unit_tests_agree_between_regorus_and_real_opa() -> None:
    pack = load_pack(POLICIES)
    embedded = {(r.module, r.name): r for r in RegorusEngine().run_tests(pack)}
    reference = {(r.module, r.name): r for r in ReferenceEngine().run_tests(pack)}
    assert embedded, "no Rego tests found"
    assert embedded.keys() == reference.keys()
    disagree = [
        f"{m}: {n}: regorus {'pass' if embedded[m, n].passed else 'FAIL ' + embedded[m, n].detail}, "
        f"OPA {'pass' if reference[m, n].passed else 'FAIL ' + reference[m, n].detail}"
        for (m, n) in embedded
        if embedded[m, n].passed != reference[m, n].passed
    ]
    assert not disagree, "\n".join(disagree)
    failed = [f"{m}: {n} ({r.detail})" for (m, n), r in reference.items() if not r.passed]
    assert not failed, "Rego tests failing on real OPA:\n" + "\n".join(failed)


def _outputs(target: Path, opa_url: str, server: bool = True) -> dict[str, tuple[int, str, str]]:
    # Generous bounds: these are hang guards, not timings (a busy machine must not fail the suite).
    # --lang fr: the JSON keeps every English field and adds each finding's French text, rendered from the format and
    # arguments the rule returned, so the engines must agree on those too.
    runs = {
        "embedded": run_auditor("check", str(target), "--format", "json", "--lang", "fr", timeout=900),
        "reference": run_auditor(
            "check", str(target), "--format", "json", "--lang", "fr", "--engine", "reference", timeout=900
        ),
    }
    if server:
        runs["opa"] = run_auditor(
            "check", str(target), "--format", "json", "--lang", "fr", "--engine", "opa", "--opa-url", opa_url,
            "--opa-timeout", "600", timeout=900,
        )  # fmt: skip
    return {k: (r.code, r.out, r.err) for k, r in runs.items()}


def _assert_identical(outputs: dict[str, tuple[int, str, str]]) -> None:
    for name, (code, _out, err) in outputs.items():
        assert code in (0, 1, 2), f"--engine {name}: exit {code}: {err.strip()[-600:]}"
        assert "Traceback" not in err
    base = outputs["embedded"]
    for name in [n for n in outputs if n != "embedded"]:
        code, out, err = outputs[name]
        assert code == base[0], f"exit codes differ: embedded {base[0]}, {name} {code}: {err[-400:]}"
        assert out == base[1], f"--format json differs between embedded and {name}"


def test_sample_inventory_identical_on_every_engine(opa_url: str) -> None:
    outputs = _outputs(SAMPLE, opa_url)
    assert outputs["embedded"][0] == 1 and '"findings"' in outputs["embedded"][1]
    _assert_identical(outputs)


@pytest.mark.parametrize("fixture", inventory_dirs(), ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fixture_identical_on_every_engine(fixture: Path, opa_url: str) -> None:
    _assert_identical(_outputs(fixture, opa_url))


@pytest.mark.parametrize("size", SIZES)
def test_generated_inventory_identical_on_every_engine(
    size: str, opa_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    generated = generate_inventory(tmp_path_factory.mktemp("bench") / size, size, 7)
    outputs = _outputs(generated, opa_url, server=size in SERVER_SIZES)
    assert outputs["embedded"][0] == 1, outputs["embedded"][2][-400:]
    _assert_identical(outputs)
