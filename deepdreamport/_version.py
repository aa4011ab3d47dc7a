"""The package version (read by pyproject.toml and recorded in parity cases and atlas jobs)."""

__version__ = "0.1.0"
