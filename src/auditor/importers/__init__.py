"""Importers: build an inventory in this project's format from another tool's files (``auditor import ...``)."""
