"""Output formats. Every formatter returns text; the CLI owns I/O and exit codes."""
