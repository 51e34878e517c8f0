"""The hook contract stays honest: every hook is documented, explained and tested, and every
name the public API promises exists."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
from rapport import hookspecs

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
HOOKS_DOC = ROOT / "docs" / "plugins" / "hooks.md"


def hook_specs() -> dict[str, object]:
    """Every function of rapport.hookspecs marked with ``@hookspec``."""
    return {
        name: function
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, f"{hookspecs.PROJECT}_spec")
    }


def test_the_hookspec_module_declares_hooks():
    assert len(hook_specs()) >= 20
    assert "handle_event" in hook_specs() and "resolve_caller" in hook_specs()


def _test_function_names() -> set[str]:
    names: set[str] = set()
    for path in TESTS.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names.update(
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("test_hook_")
        )
    return names


def test_every_hook_has_a_test():
    tested = _test_function_names()
    missing = sorted(name for name in hook_specs() if f"test_hook_{name}" not in tested)
    assert not missing, "hooks without a test_hook_<name> function under tests/: " + ", ".join(
        missing
    )
    unknown = sorted(t for t in tested if t.removeprefix("test_hook_") not in hook_specs())
    assert not unknown, "test_hook_ functions naming no hook: " + ", ".join(unknown)


def _documented_sections() -> dict[str, str]:
    """``### name`` heading → the text up to the next heading of level 2 or 3."""
    text = HOOKS_DOC.read_text(encoding="utf-8")
    sections: dict[str, str] = {}
    parts = re.split(r"^(#{2,3}) +(.+?) *$", text, flags=re.MULTILINE)
    # parts: [preamble, level, title, body, level, title, body, ...]
    for level, title, body in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        if level == "###":
            sections[title.strip("` ")] = body
    return sections


def test_every_hook_is_documented_with_an_example():
    sections = _documented_sections()
    undocumented = sorted(set(hook_specs()) - set(sections))
    assert not undocumented, f"hooks without a '### <name>' section in {HOOKS_DOC}: {undocumented}"
    stale = sorted(set(sections) - set(hook_specs()))
    assert not stale, f"sections of {HOOKS_DOC} that name no hook: {stale}"
    without_example = sorted(
        name for name, body in sections.items() if not re.search(r"^```python$", body, re.M)
    )
    assert not without_example, f"hook sections without a ```python example: {without_example}"


def test_documented_examples_are_valid_python():
    for name, body in _documented_sections().items():
        for example in re.findall(r"^```python\n(.*?)^```", body, flags=re.M | re.S):
            try:
                ast.parse(example)
            except SyntaxError as exc:  # pragma: no cover - the message is the point
                pytest.fail(f"example of {name} in {HOOKS_DOC.name} does not parse: {exc}")


def test_every_hook_has_a_docstring():
    for name, function in hook_specs().items():
        doc = inspect.getdoc(function) or ""
        assert len(doc) >= 30, f"hook {name} has no real docstring"
        options = getattr(function, f"{hookspecs.PROJECT}_spec")
        if options.get("firstresult"):
            assert "first" in doc.lower(), f"{name} is first-result: its docstring must say so"


def test_every_name_in_the_public_api_exists():
    import rapport.api

    missing = [name for name in rapport.api.__all__ if not hasattr(rapport.api, name)]
    assert not missing, f"rapport.api.__all__ names what the module lacks: {missing}"
    assert len(set(rapport.api.__all__)) == len(rapport.api.__all__), "__all__ has duplicates"


def test_every_api_name_the_hook_docstrings_mention_exists():
    """A hook docstring that says "return rapport.api.X values" must be right about X."""
    import rapport.api

    mentioned: dict[str, list[str]] = {}
    for name, function in hook_specs().items():
        for api_name in re.findall(r"rapport\.api\.(\w+)", inspect.getdoc(function) or ""):
            mentioned.setdefault(api_name, []).append(name)
    missing = {n: hooks for n, hooks in mentioned.items() if n not in rapport.api.__all__}
    assert not missing, f"names the hook docstrings promise but rapport.api lacks: {missing}"
