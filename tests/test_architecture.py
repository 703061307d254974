"""The core package ``sudata`` imports nothing above it.

Layers, bottom up: ``sudata`` (core library) → ``orchestration`` (the Dagster code location) and
``portal`` (the HTTP service) → ``cli`` and the tools (``samplegen``). A module of the core that imports
a layer above it, or the frameworks those layers are built on, fails here with file, line and import.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "sudata"

# Top-level packages the core must not import (dagster* also covers dagster_dbt, dagster_webserver, …).
FORBIDDEN = ("orchestration", "portal", "cli", "samplegen", "fastapi")
FORBIDDEN_PREFIXES = ("dagster",)


def _forbidden(module: str) -> bool:
    top = module.split(".")[0]
    return top in FORBIDDEN or top.startswith(FORBIDDEN_PREFIXES)


def _absolute(node: ast.ImportFrom, path: Path, root: Path) -> str:
    """The absolute module an ``ImportFrom`` names, relative imports resolved against the file's package."""
    if not node.level:
        return node.module or ""
    package = list(path.relative_to(root).parent.parts)
    base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
    if node.level - 1 > len(package):
        return ".." + (node.module or "")  # climbs out of the checkout: never allowed
    return ".".join([*base, *([node.module] if node.module else [])])


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (function-local and ``importlib.import_module("…")`` too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, _absolute(node, path, root)))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return sorted(found)


def violations(package: Path, root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted(package.rglob("*.py")):
        for line, module in imported_modules(path, root):
            own = module.split(".")[0] == package.name  # a package may import itself
            if module.startswith("..") or (_forbidden(module) and not own):
                out.append(f"{path.relative_to(root)}:{line}: imports {module}")
    return out


def test_core_imports_nothing_above_it():
    assert list(CORE.rglob("*.py")), "the core package has no modules?"
    assert violations(CORE) == []


def test_the_sample_generator_needs_only_the_core():
    # samplegen is a tool beside the pipeline: it reads the registry, never the pipeline or the portal
    assert violations(ROOT / "samplegen") == []


def test_the_check_catches_every_kind_of_import(tmp_path):
    pkg = tmp_path / "sudata"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "ok.py").write_text("import json\nfrom sudata.store import PublishedStore\nfrom . import settings\n")
    (pkg / "sub" / "bad.py").write_text(
        "from orchestration.definitions import defs\n"
        "def f():\n"
        "    import dagster_dbt\n"
        "    from fastapi import FastAPI\n"
        "    import importlib\n"
        "    importlib.import_module('portal.app')\n"
        "from ...cli import main\n"
        "from samplegen import generate\n"
    )
    found = violations(pkg, tmp_path)
    assert found == [
        "sudata/sub/bad.py:1: imports orchestration.definitions",
        "sudata/sub/bad.py:3: imports dagster_dbt",
        "sudata/sub/bad.py:4: imports fastapi",
        "sudata/sub/bad.py:6: imports portal.app",
        "sudata/sub/bad.py:7: imports cli",
        "sudata/sub/bad.py:8: imports samplegen",
    ]


def test_the_operation_package_needs_only_the_core():
    # applications and the zone are domain logic: the portal and the command import them, never the reverse
    assert list((ROOT / "operation").rglob("*.py")), "the operation package has no modules?"
    assert violations(ROOT / "operation") == []
