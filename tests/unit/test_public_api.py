"""The public API is listed, sorted, importable and documented; the version is the package's."""

import importlib.metadata
import inspect

import fastapi_better_auth
from fastapi_better_auth import models, testing


def test_all_is_sorted_and_importable() -> None:
    names = fastapi_better_auth.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(fastapi_better_auth, name), name


def test_every_public_name_has_a_docstring() -> None:
    undocumented = []
    for module in (fastapi_better_auth, models, testing):
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and not inspect.getdoc(
                obj
            ):
                undocumented.append(f"{module.__name__}.{name}")
    assert undocumented == []


def test_version_matches_distribution_metadata() -> None:
    assert fastapi_better_auth.__version__ == importlib.metadata.version(
        "fastapi-better-auth-kit"
    )
