"""
Which way the imports run. `policies` decides and knows nothing of the apps that act on its
decisions; `appointments` knows nothing of `chat`; `chat` may use both. The shared kernel in
`portal/` (the user, sign-in, the shell, mail, time zones, formatting) imports no app; only the
composition root, `portal/project/` (settings, root URLs, WSGI, the demo command), may.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = {"portal", "appointments", "chat", "policies"}
# What each part may not import.
FORBIDDEN = {
    "policies": {"appointments", "chat"},
    "appointments": {"chat"},
    "chat": set(),
    "portal": {"appointments", "chat", "policies"},
    "portal.project": set(),
}


def part_of(module: str) -> str:
    if module == "portal.project" or module.startswith("portal.project."):
        return "portal.project"
    return module.split(".", 1)[0]


def modules():
    for app in sorted(APPS):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            yield ".".join(relative.parts), path


def imported(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement names, wherever it stands (also inside functions)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def violations() -> list[str]:
    found = []
    for module, path in modules():
        forbidden = FORBIDDEN[part_of(module)]
        for line, name in imported(path):
            if name.split(".", 1)[0] in forbidden:
                found.append(f"{path.relative_to(ROOT)}:{line} {module} imports {name}")
    return found


def test_imports_run_one_way():
    assert violations() == []


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from chat.selectors import unread_total\n", "portal.context_processors", True),
        ("def f():\n    from appointments import models\n", "policies.admin", True),
        ("import chat.models\n", "appointments.views", True),
        ("from appointments.models import Provider\n", "chat.views", False),
        ("from chat import urls\n", "portal.project.urls", False),
    ],
)
def test_the_check_sees_an_import_against_the_direction(tmp_path, source, module, expected):
    path = tmp_path / "module.py"
    path.write_text(source)
    forbidden = FORBIDDEN[part_of(module)]
    caught = any(name.split(".", 1)[0] in forbidden for _, name in imported(path))
    assert caught is expected
