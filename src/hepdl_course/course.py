"""The course's assignments: where their sources are and what `assignment.toml` says of them."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hepdl.common.tiers import DEFAULT_TIER, TIERS, check_tier

__all__ = ["SECTIONS", "Assignment", "AssignmentError", "assignments", "find", "repo_root"]

SECTIONS = ("preexercises", "lessons")
#: The notebook parameter that holds the tier; the executor sets it, assignment.toml does not.
TIER_PARAMETER = "SIZE"


class AssignmentError(ValueError):
    """An assignment folder or its `assignment.toml` is malformed."""


def repo_root(start: str | os.PathLike | None = None) -> Path:
    """The course checkout: the nearest folder holding ``solutions/`` and ``pyproject.toml``."""
    env = os.environ.get("HEPDL_COURSE_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "solutions").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "solutions").is_dir():
        return checkout
    raise FileNotFoundError(
        "Not inside the course checkout (no solutions/ and pyproject.toml found above "
        f"{here}); cd into it or set HEPDL_COURSE_ROOT."
    )


@dataclass(frozen=True)
class Assignment:
    """One assignment: a folder ``solutions/NAME/`` with ``NAME.ipynb`` and ``assignment.toml``."""

    name: str
    root: Path
    section: str
    order: int
    minutes: int
    deterministic: bool
    budget_seconds: float
    budget_memory_mb: float
    student_seconds: float | None = None
    student_memory_mb: float | None = None
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    expect: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def source_dir(self) -> Path:
        return self.root / "solutions" / self.name

    @property
    def notebook(self) -> Path:
        return self.source_dir / f"{self.name}.ipynb"

    @property
    def release_dir(self) -> Path:
        return self.root / self.section / self.name

    def tier_parameters(self, tier: str) -> dict[str, Any]:
        """Papermill parameters of ``tier``: ``SIZE = tier``, then ``[parameters.<tier>]`` of
        assignment.toml (none for ``student``, whose values are the notebook's own defaults)."""
        return {TIER_PARAMETER: check_tier(tier), **self.parameters.get(tier, {})}


def _load(root: Path, folder: Path) -> Assignment:
    name = folder.name
    toml_path = folder / "assignment.toml"
    where = f"{toml_path.relative_to(root)}"
    if not (folder / f"{name}.ipynb").is_file():
        raise AssignmentError(f"{folder.relative_to(root)}: expected the notebook {name}.ipynb")
    if not toml_path.is_file():
        raise AssignmentError(f"{folder.relative_to(root)}: missing assignment.toml (see CONTRIBUTING.md)")
    try:
        data = tomllib.loads(toml_path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise AssignmentError(f"{where}: not valid TOML ({err})") from err
    section = data.get("section")
    if section not in SECTIONS:
        raise AssignmentError(f"{where}: section must be one of {SECTIONS}, got {section!r}")
    budget = data.get("budget", {})
    for key in ("seconds", "memory_mb"):
        if not isinstance(budget.get(key), (int, float)) or budget[key] <= 0:
            raise AssignmentError(f"{where}: [budget] {key} must be a positive number")
    student = data.get("student", {})
    for key in ("seconds", "memory_mb"):
        if key in student and (not isinstance(student[key], (int, float)) or student[key] <= 0):
            raise AssignmentError(f"{where}: [student] {key} must be a positive number")
    parameters = data.get("parameters", {})
    for tier, values in parameters.items():
        if tier not in TIERS or tier == DEFAULT_TIER or not isinstance(values, dict):
            raise AssignmentError(f"{where}: [parameters.{tier}] is not a table of a tier "
                                  f"other than {DEFAULT_TIER!r} (one of {TIERS})")
        if TIER_PARAMETER in values:
            raise AssignmentError(f"{where}: remove {TIER_PARAMETER} from [parameters.{tier}]: "
                                  f"the executor sets {TIER_PARAMETER} = {tier!r} itself")
    expect = {}
    for key, band in data.get("expect", {}).items():
        if (not isinstance(band, list) or len(band) != 2
                or not all(isinstance(v, (int, float)) for v in band) or band[0] > band[1]):
            raise AssignmentError(f"{where}: [expect] {key} must be [low, high], got {band!r}")
        expect[key] = (float(band[0]), float(band[1]))
    return Assignment(
        name=name,
        root=root,
        section=section,
        order=int(data.get("order", 0)),
        minutes=int(data.get("minutes", 0)),
        deterministic=bool(data.get("deterministic", False)),
        budget_seconds=float(budget["seconds"]),
        budget_memory_mb=float(budget["memory_mb"]),
        student_seconds=float(student["seconds"]) if "seconds" in student else None,
        student_memory_mb=float(student["memory_mb"]) if "memory_mb" in student else None,
        parameters=parameters,
        expect=expect,
    )


def assignments(root: str | os.PathLike | None = None) -> list[Assignment]:
    """Every assignment of the course, pre-exercises first, then lessons, each by `order`."""
    root = repo_root(root)
    found = [
        _load(root, folder)
        for folder in sorted((root / "solutions").iterdir())
        if folder.is_dir() and not folder.name.startswith((".", "_"))
    ]
    return sorted(found, key=lambda a: (SECTIONS.index(a.section), a.order, a.name))


def find(name: str, root: str | os.PathLike | None = None) -> Assignment:
    """The assignment called ``name`` (only its own folder is read)."""
    root = repo_root(root)
    folder = root / "solutions" / name
    if not folder.is_dir():
        known = sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
        raise KeyError(f"no assignment {name!r}; known: {', '.join(known)}")
    return _load(root, folder)
