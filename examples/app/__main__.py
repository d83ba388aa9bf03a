"""``python -m examples.app``: serve the example app."""

from .main import main

main()
