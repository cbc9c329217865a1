"""The instructor guide's commands are the Makefile's, and the Makefile's are the CLI's.

tests/test_instructor.py runs every grading step through ``hepdl_course.cli``; this file closes
the loop to what an instructor types: each ``make ...`` line of docs/instructor-guide.md expands
(``make -n``) to ``python -m hepdl_course COMMAND ...`` with arguments the CLI accepts.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from hepdl_course.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "instructor-guide.md"
GRADING_TARGETS = {"course-init", "release-course", "collect", "autograde", "formgrader",
                   "feedback", "grades"}
HUB_COURSE_DIR = "/srv/hepdl-hub/grading"      # what the guide exports before its commands


def guide_make_lines() -> list[str]:
    """Every line of a fenced block of the guide that starts with ``make``."""
    lines, fenced = [], False
    for line in GUIDE.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced and line.startswith("make "):
            lines.append(line.strip())
    return lines


def expand(line: str) -> list[list[str]]:
    """The hepdl_course commands that ``make -n`` prints for one guide line, as argv lists."""
    argv = shlex.split(line.replace("~/", str(Path.home()) + "/"))
    env = {**os.environ, "COURSE_DIR": HUB_COURSE_DIR}
    proc = subprocess.run(["make", "-n", "-C", str(ROOT), *argv[1:]], capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, f"`{line}` does not expand:\n{proc.stderr}"
    script = proc.stdout.replace("\\\n", " ")
    commands = []
    for command in script.splitlines():
        match = re.search(r"-m hepdl_course (.*)$", command)
        if match:
            commands.append(shlex.split(match.group(1)))
    return commands


def test_the_guide_says_where_to_run_the_commands_and_which_course_directory():
    text = GUIDE.read_text()
    assert "Run every `make` command from the repository's root" in text
    assert f"export COURSE_DIR={HUB_COURSE_DIR}" in text
    hub_mk = (ROOT / "deploy" / "hub.mk").read_text()
    assert "HEPDL_HUB_STATE ?= /srv/hepdl-hub" in hub_mk and '"$(HEPDL_HUB_STATE)/grading"' in hub_mk, \
        "the guide's hub course directory is not the one `make hub` makes"


def test_the_guide_uses_every_grading_target():
    used = {shlex.split(line)[1] for line in guide_make_lines()}
    assert GRADING_TARGETS <= used, f"targets the guide never shows: {GRADING_TARGETS - used}"


@pytest.mark.parametrize("line", guide_make_lines())
def test_each_guide_command_reaches_the_cli(line):
    target = shlex.split(line)[1]
    commands = expand(line)
    if target not in GRADING_TARGETS:
        return  # install, data: covered by the README's commands
    assert len(commands) == 1, f"`{line}` should run one hepdl_course command, got {commands}"
    args = build_parser().parse_args(commands[0])
    assert args.course_dir == HUB_COURSE_DIR, "the exported COURSE_DIR is not passed on"
    if "ASSIGNMENT=" in line:
        names = shlex.split(line.split("ASSIGNMENT=", 1)[1])[0].split()
        given = getattr(args, "names", None) or [getattr(args, "assignment", None)]
        assert given == names, f"`{line}` passes {given}, not {names}"
    for variable, attribute, value in [("DUEDATE=", "duedate", None), ("FROM=", "from_dir", None),
                                       ("FORCE=1", "force", True), ("SUBMITTED_AT=", "submitted_at", None),
                                       ("GRACE_MINUTES=", "grace_minutes", None)]:
        if variable in line:
            got = getattr(args, attribute)
            assert got if value is None else got == value, f"`{line}`: {variable} is not passed on"


def test_a_grading_target_without_an_assignment_says_what_to_add():
    proc = subprocess.run(["make", "-s", "-C", str(ROOT), "autograde", "VENV=/nonexistent-venv",
                           "-o", "/nonexistent-venv/.installed"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "ASSIGNMENT=" in proc.stdout + proc.stderr
