"""
Selectors return data; templates draw it. No selector module reaches for the template engine
or for safe strings, so none can hand a view markup to print.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What drawing markup takes: the template engine, strings marked safe, Django's HTML helpers,
# the template tags that keep drawings, and the shortcut that renders.
DRAWING = (
    "django.template",
    "django.utils.safestring",
    "django.utils.html",
    "django.shortcuts.render",
    "portal.templatetags",
)


def drawing_imports(source: str) -> list[str]:
    """Each name an import in `source` brings in that draws markup, wherever it stands."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [name for name in names if name.startswith(DRAWING)]
    return found


def selector_modules() -> list[Path]:
    return sorted(ROOT.glob("*/selectors.py"))


def test_there_are_selector_modules_to_check():
    names = {path.parent.name for path in selector_modules()}
    assert {"appointments", "chat"} <= names


@pytest.mark.parametrize("path", selector_modules(), ids=lambda path: path.parent.name)
def test_no_selector_draws_markup(path):
    assert drawing_imports(path.read_text()) == []


@pytest.mark.parametrize(
    ("source", "draws"),
    [
        ("from django.utils.safestring import SafeString\n", True),
        ("from django.template.loader import render_to_string\n", True),
        ("def f():\n    from django.utils.html import format_html\n", True),
        ("from django.utils import html\n", True),
        ("import django.template.defaultfilters\n", True),
        ("from django.shortcuts import render, get_object_or_404\n", True),
        ("from portal.templatetags.drawings import Drawings\n", True),
        ("from django.shortcuts import get_object_or_404\n", False),
        ("from django.utils import timezone\n", False),
        ("from portal.formatting import format_date\n", False),
    ],
)
def test_the_check_sees_an_import_that_draws(source, draws):
    assert bool(drawing_imports(source)) is draws
