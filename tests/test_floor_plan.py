"""The floor plan of ``hepdl`` (``src/hepdl/README.md``): which package may import which.

* a detector room (``hepdl.<room>``) imports ``hepdl.common`` and itself, never another room
  nor ``hepdl.datasets``;
* ``hepdl.common`` and the package root (``hepdl/__init__.py``) import no room and not
  ``hepdl.datasets``;
* Keras (and TensorFlow, PyTorch, JAX) is imported inside functions, or at the top of modules
  that no package ``__init__`` imports (they are imported on their own);
* ``hepdl.datasets`` finds the rooms itself: every room folder defines ``DATASETS``.

Imports are read with :mod:`ast` from every module under ``src/hepdl``, at any depth (inside
functions too): ``import``, ``from ... import`` (relative ones resolved) and calls of
``importlib.import_module("hepdl.x")`` or ``__import__("hepdl.x")``. A failure names the file,
the line and the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
#: Subpackages of hepdl that are not detector rooms.
NOT_ROOMS = ("common", "datasets")
#: Frameworks imported lazily (they take seconds to import and pick a backend).
HEAVY = ("keras", "tensorflow", "torch", "jax")

RULE_ROOM = ("a room imports only hepdl.common and itself: move what both rooms need to "
             "hepdl.common")
RULE_ROOM_DATASETS = ("a room never imports hepdl.datasets (the registry imports the rooms): "
                      "take the data, or its path, as an argument")
RULE_COMMON = "hepdl.common imports no room and not hepdl.datasets: the rooms build on it"
RULE_ROOT = "hepdl/__init__.py imports only hepdl.common, so that `import hepdl` stays light"
RULE_COMPUTED = ("import_module with a computed name cannot be checked: name the module in a "
                 "string")
RULE_HEAVY = ("a module that a package __init__ imports (directly or not) imports {name} at its "
              "top: import it inside the functions that need it")


def module_name(path: Path, src: Path) -> str:
    """Dotted name of the module in ``path`` (``hepdl.tracking`` for its ``__init__.py``)."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str | None, level: int, path: Path, src: Path) -> str:
    if level == 0:
        return module or ""
    package = module_name(path, src).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[:len(package) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _is_import_call(func: ast.expr) -> bool:
    return ((isinstance(func, ast.Name) and func.id in ("import_module", "__import__"))
            or (isinstance(func, ast.Attribute) and func.attr == "import_module"))


def _function_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside function bodies (not run when the module is imported)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inside.update(id(child) for child in ast.walk(node) if child is not node)
    return inside


def imports_of(path: Path, src: Path, *, top_level_only: bool = False):
    """``(line, dotted name or None)`` of every import in ``path``; None: a computed name.

    ``from hepdl import datasets`` gives ``hepdl.datasets``: the imported name may be a module.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _function_nodes(tree) if top_level_only else set()
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, path, src)
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and _is_import_call(node.func):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((node.lineno, arg.value))
            else:
                found.append((node.lineno, None))
    return sorted(found, key=lambda item: item[0])


def subpackage(name: str) -> str | None:
    """``tracking`` for ``hepdl.tracking.formats``; None outside hepdl or for ``hepdl`` itself."""
    parts = name.split(".")
    return parts[1] if parts[0] == "hepdl" and len(parts) > 1 else None


def room_folders(src: Path) -> set[str]:
    """The folders of ``src/hepdl`` that are rooms: packages other than common and datasets."""
    return {p.parent.name for p in (src / "hepdl").glob("*/__init__.py")} - set(NOT_ROOMS)


def violations(src: Path) -> list[str]:
    """Every broken rule of the floor plan under ``src/hepdl``, as ``file:line: import: rule``."""
    rooms = room_folders(src)
    problems = []
    for path in sorted((src / "hepdl").rglob("*.py")):
        rel = path.relative_to(src)
        owner = subpackage(module_name(path, src)) or ""
        if owner == "datasets":
            continue  # the registry imports the rooms, by design
        for line, name in imports_of(path, src):
            if name is None:
                problems.append(f"{rel}:{line}: {RULE_COMPUTED}")
                continue
            target = subpackage(name)
            if target is None or target == owner:
                continue
            if owner in rooms and target in rooms:
                rule = RULE_ROOM
            elif owner in rooms and target == "datasets":
                rule = RULE_ROOM_DATASETS
            elif owner == "common" and (target in rooms or target == "datasets"):
                rule = RULE_COMMON
            elif owner == "" and (target in rooms or target == "datasets"):
                rule = RULE_ROOT
            else:
                continue
            problems.append(f"{rel}:{line}: imports {name}: {rule}")
    return problems + heavy_violations(src)


def _file_of(name: str, src: Path) -> Path | None:
    base = src.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def heavy_violations(src: Path) -> list[str]:
    """Top-level imports of Keras and co. in modules that a package ``__init__`` pulls in."""
    inits = sorted((src / "hepdl").rglob("__init__.py"))
    todo, seen, problems = list(inits), set(), []
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for line, name in imports_of(path, src, top_level_only=True):
            if name is None:
                continue
            top = name.split(".")[0]
            if top in HEAVY:
                problems.append(f"{path.relative_to(src)}:{line}: imports {name}: "
                                + RULE_HEAVY.format(name=top))
            elif top == "hepdl":
                # "from hepdl.x import y": y may be a module (hepdl.x.y) or a name in hepdl.x
                for candidate in (name, name.rsplit(".", 1)[0]):
                    file = _file_of(candidate, src)
                    if file is not None:
                        todo.append(file)
    return problems


# --------------------------------------------------------------------------------------------
# the course's package


def test_the_package_keeps_its_floor_plan():
    problems = violations(SRC)
    assert not problems, "the floor plan of hepdl is broken (src/hepdl/README.md):\n" + "\n".join(
        problems)


def test_the_registry_finds_every_room_and_each_declares_its_data_sets():
    import importlib

    from hepdl import datasets
    from hepdl.common.registry import DatasetSpec

    folders = room_folders(SRC)
    assert folders, "no room folder found under src/hepdl"
    assert set(datasets.ROOMS) == folders, (
        f"hepdl.datasets found the rooms {sorted(datasets.ROOMS)} but src/hepdl has the room "
        f"folders {sorted(folders)}: a room folder without DATASETS is not a room; define "
        "DATASETS = [...] in its __init__.py")
    for room in sorted(folders):
        specs = importlib.import_module(f"hepdl.{room}").DATASETS
        assert isinstance(specs, list) and specs, f"hepdl.{room}.DATASETS must be a non-empty list"
        assert all(isinstance(spec, DatasetSpec) for spec in specs), (
            f"hepdl.{room}.DATASETS must hold hepdl.common.registry.DatasetSpec entries")
        assert "DATASETS" in importlib.import_module(f"hepdl.{room}").__all__, (
            f"hepdl.{room}.__all__ must list DATASETS")
    names = [spec.name for room in folders
             for spec in importlib.import_module(f"hepdl.{room}").DATASETS]
    assert sorted(names) == sorted(datasets.REGISTRY)


# --------------------------------------------------------------------------------------------
# the checker itself, on a small made-up package


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "hepdl" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def broken(tmp_path) -> Path:
    return _write(tmp_path, {
        "__init__.py": "from hepdl.common import io\nfrom hepdl import alpha\n",
        "common/__init__.py": "",
        "common/io.py": "def f():\n    from hepdl import datasets\n",
        "datasets/__init__.py": "import importlib\nimportlib.import_module(f'hepdl.{x}')\n",
        "alpha/__init__.py": "from hepdl.alpha import heavy\nDATASETS = []\n",
        "alpha/heavy.py": "import numpy\nimport keras\n",
        "alpha/deep.py": ("import importlib\n\n\ndef g():\n"
                          "    return importlib.import_module('hepdl.beta.x')\n\n\n"
                          "def h(name):\n    return importlib.import_module(name)\n"),
        "alpha/relative.py": "from ..datasets import REGISTRY\nfrom . import deep\n",
        "beta/__init__.py": "DATASETS = []\n",
        "beta/lazy.py": "def k():\n    import keras\n    return keras\n",
    })


def test_the_checker_names_file_line_and_rule(broken):
    got = violations(broken)
    assert f"hepdl/__init__.py:2: imports hepdl.alpha: {RULE_ROOT}" in got
    assert f"hepdl/common/io.py:2: imports hepdl.datasets: {RULE_COMMON}" in got
    assert f"hepdl/alpha/deep.py:5: imports hepdl.beta.x: {RULE_ROOM}" in got
    assert f"hepdl/alpha/deep.py:9: {RULE_COMPUTED}" in got
    assert (f"hepdl/alpha/relative.py:1: imports hepdl.datasets.REGISTRY: "
            f"{RULE_ROOM_DATASETS}") in got
    assert (f"hepdl/alpha/heavy.py:2: imports keras: {RULE_HEAVY.format(name='keras')}"
            in got)
    assert len(got) == 6, got  # datasets may compute names; beta imports Keras lazily


def test_room_folders_are_the_packages_but_common_and_datasets(broken):
    assert room_folders(broken) == {"alpha", "beta"}
