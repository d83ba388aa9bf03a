"""Files mypy checks and pytest never runs."""
