from auditor.cli import entry_point

entry_point()
