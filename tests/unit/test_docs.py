"""Docs cannot rot: Python in the docs lives in files the suite runs or type-checks."""

import re
from pathlib import Path

import fastapi_better_auth

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def test_python_in_docs_is_included_from_files() -> None:
    inline = []
    for page in [*DOCS.rglob("*.md"), ROOT / "README.md"]:
        for language, body in FENCE.findall(page.read_text()):
            if language == "python" and not body.strip().startswith("--8<--"):
                inline.append(page.relative_to(ROOT).as_posix())
    # the README shows the quickstart inline (GitHub renders no includes); it must match the file
    assert inline == ["README.md"]
    quickstart = (ROOT / "examples" / "quickstart.py").read_text()
    readme_code = next(
        body
        for language, body in FENCE.findall((ROOT / "README.md").read_text())
        if language == "python"
    )
    assert readme_code.strip() in quickstart


def test_every_included_file_exists() -> None:
    for page in DOCS.rglob("*.md"):
        for include in re.findall(r'--8<-- "([^"]+?)(?::[\w-]+)?"', page.read_text()):
            assert (ROOT / include).is_file(), (
                f"{page.name} includes a missing {include}"
            )


def test_every_public_name_appears_in_the_reference_or_guides() -> None:
    text = "\n".join(page.read_text() for page in DOCS.rglob("*.md"))
    assert "::: fastapi_better_auth" in text
    missing = [
        name
        for name in fastapi_better_auth.__all__
        if name != "__version__" and name not in text
    ]
    # the reference page renders all of __all__; guides should still mention the main names
    assert len(missing) < len(fastapi_better_auth.__all__) / 2, missing
