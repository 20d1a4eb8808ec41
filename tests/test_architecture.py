"""
Which way the imports run. `policies` decides and knows nothing of the apps that act on its
decisions (it holds no rows: a practice's policies are rows of `appointments`); `appointments`
knows nothing of `chat`; `chat` may use both. The shared kernel in `portal/` (the user, sign-in,
the shell, mail, time zones, formatting) imports no app, nor the composition root; only the
composition root, `portal/project/` (settings, root URLs, WSGI, the demo command), may.

An import is any way one module reaches another by name: `import` and `from ... import`
(anywhere, inside functions too), `importlib.import_module`, `import_string`,
`apps.get_model`, a model named in a string by a relation (`ForeignKey("chat.Message")`) and
a definition named by `portal.mirrors.mirrors`.
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
    "portal": {"appointments", "chat", "policies", "portal.project"},
    "portal.project": set(),
}
# Calls that reach a module, or an app's model, by a name in a string.
BY_NAME = {"import_module", "import_string", "mirrors"}
RELATIONS = {"ForeignKey", "OneToOneField", "ManyToManyField"}


def part_of(module: str) -> str:
    if module == "portal.project" or module.startswith("portal.project."):
        return "portal.project"
    return module.split(".", 1)[0]


def modules():
    for app in sorted(APPS):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            yield ".".join(relative.parts), path


def called(node: ast.Call) -> str:
    function = node.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""


def first_string(node: ast.Call) -> str | None:
    if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def imported(path: Path) -> list[tuple[int, str]]:
    """Every module the file reaches by name, wherever it stands (also inside functions)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and (name := first_string(node)) is not None:
            if called(node) in BY_NAME:
                found.append((node.lineno, name))
            elif called(node) == "get_model" or (called(node) in RELATIONS and "." in name):
                # An app label ("chat", or "chat.Message"): its models module.
                found.append((node.lineno, f"{name.split('.', 1)[0]}.models"))
    return found


def reaches(forbidden: set[str], name: str) -> bool:
    return part_of(name) in forbidden or name.split(".", 1)[0] in forbidden


def violations() -> list[str]:
    found = []
    for module, path in modules():
        forbidden = FORBIDDEN[part_of(module)]
        for line, name in imported(path):
            if reaches(forbidden, name):
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
        ("import importlib\nimportlib.import_module('chat.views')\n", "appointments.x", True),
        ("from importlib import import_module\nimport_module('chat')\n", "portal.x", True),
        ("x = import_string('appointments.views.f')\n", "policies.x", True),
        ("Message = apps.get_model('chat', 'Message')\n", "appointments.x", True),
        ("Message = apps.get_model('chat.Message')\n", "appointments.x", True),
        ("Group = apps.get_model('auth', 'Group')\n", "portal.practice", False),
        ("a = models.ForeignKey('appointments.Provider')\n", "policies.models", True),
        ("a = models.ForeignKey('self')\n", "policies.models", False),
        ("@mirrors('chat.selectors.f')\ndef g(): pass\n", "appointments.sql", True),
        ("from portal.project import settings\n", "portal.mail", True),
        ("import portal.project.urls\n", "portal.views", True),
        ("from portal import mail\n", "portal.project.urls", False),
    ],
)
def test_the_check_sees_an_import_against_the_direction(tmp_path, source, module, expected):
    path = tmp_path / "module.py"
    path.write_text(source)
    forbidden = FORBIDDEN[part_of(module)]
    caught = any(reaches(forbidden, name) for _, name in imported(path))
    assert caught is expected
