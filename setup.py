"""Only the package list is computed here (everything else is in pyproject.toml): every directory under src/auditor
and under policies/ (shipped as auditor.bundled_policies), so a data directory added later (a new Rego package, a
locale, templates) ships without editing a list, and setuptools does not warn about data in unlisted packages."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages("src", include=["auditor", "auditor.*"]),
        "auditor.bundled_policies",
        *(f"auditor.bundled_policies.{p}" for p in find_namespace_packages("policies")),
    ]
)
