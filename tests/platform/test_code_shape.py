"""The shape rules of issue 18, held for the application code (not migrations, tests, bench or seed commands).

- No module over 450 lines and no function over 60 lines: a long one is split by concern into named steps.
- No import of the project's own modules inside a function, except in `AppConfig.ready()` (where Django wants
  signal receivers and registries wired): an import hidden in a function is how a lower layer reaches up a
  layer and dodges the cycle the import-linter contracts forbid.

A failure names every offender with its size, so the message is the to-do list.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hybridcloud", "inventory", "migration", "containers")
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60


def _application_modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or relative.name.startswith("seed_"):
                continue
            text = path.read_text()
            yield relative, text.count("\n"), ast.parse(text, filename=str(relative))


MODULES = list(_application_modules())


def _functions(tree):
    """Every function with the name of the class it is defined in ("" at module level)."""
    stack = [(tree, "")]
    while stack:
        node, owner = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield child, owner
                stack.append((child, owner))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, child.name))
            else:
                stack.append((child, owner))


def _is_project_import(node) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] in PACKAGES
    if isinstance(node, ast.Import):
        return any(alias.name.split(".")[0] in PACKAGES for alias in node.names)
    return False


def test_modules_exist():
    assert len(MODULES) > 100


def test_no_module_over_450_lines():
    long = [f"{path}: {lines} lines" for path, lines, _tree in MODULES if lines > MAX_MODULE_LINES]
    assert not long, "modules over 450 lines:\n" + "\n".join(long)


def test_no_function_over_60_lines():
    long = sorted(
        f"{path}:{fn.lineno} {fn.name}: {fn.end_lineno - fn.lineno + 1} lines"
        for path, _lines, tree in MODULES
        for fn, _owner in _functions(tree)
        if fn.end_lineno - fn.lineno + 1 > MAX_FUNCTION_LINES
    )
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


def test_no_function_local_import_of_project_code_outside_ready():
    hidden = sorted(
        {
            f"{path}:{node.lineno} in {fn.name}()"
            for path, _lines, tree in MODULES
            for fn, owner in _functions(tree)
            if not (fn.name == "ready" and owner.endswith("Config"))
            for node in ast.walk(fn)
            if _is_project_import(node)
        }
    )
    assert not hidden, "imports hidden in functions:\n" + "\n".join(hidden)


@pytest.mark.parametrize(
    "source, expected",
    [
        ("def f():\n    from inventory.models import Host\n", True),
        ("def f():\n    import json\n", False),
        ("class AppConfig:\n    def ready(self):\n        from . import signals\n", False),
    ],
)
def test_the_local_import_rule_sees_what_it_should(source, expected):
    tree = ast.parse(source)
    found = any(
        _is_project_import(node)
        for fn, owner in _functions(tree)
        if not (fn.name == "ready" and owner.endswith("Config"))
        for node in ast.walk(fn)
    )
    assert found is expected
