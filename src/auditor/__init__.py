"""auditor: a privacy policy encoded as Rego, checked against a YAML data inventory."""

__version__ = "0.1.0"
