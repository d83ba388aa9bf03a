"""The example app: a FastAPI API that trusts a Better-Auth server's users."""

from .main import create_app

__all__ = ["create_app"]
