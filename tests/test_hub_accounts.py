"""The hub's building blocks on their own: account names and accounts, control groups, and the
owner check of submissions (hepdl_course.accounts, .cgroups, .submissions). Needs root."""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import sys
import time

import pytest

from hepdl_course.accounts import AccountError, ensure_account, remove_account, system_username
from hepdl_course.cgroups import Limits, UserCgroup
from hepdl_course.submissions import forged_submissions

LINUX_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


@pytest.fixture
def as_root():
    if os.geteuid() != 0:
        pytest.fail("accounts and control groups need root: run the tests as root")


@pytest.mark.parametrize("login, expected", [
    ("alice", "hepdl-alice"), ("Alice-K", "hepdl-alice-k"), ("0xdeadbeef", "hepdl-0xdeadbeef")])
def test_a_github_login_keeps_its_name(login, expected):
    assert system_username(login) == expected


def test_names_follow_linux_rules_and_never_collide():
    logins = ["a" * 39, "a" * 38 + "b", "x.y", "x-y", "X_Y", "ünïcode", "root", "a" * 26, "a" * 27]
    names = [system_username(login) for login in logins]
    assert all(LINUX_NAME.match(n) for n in names), names
    assert len(set(names)) == len(names), f"two logins share an account: {names}"
    assert system_username("a" * 26) == "hepdl-" + "a" * 26           # 32 characters: kept
    assert system_username("x.y") != system_username("x-y")          # changed ones carry a hash
    with pytest.raises(ValueError):
        system_username("")


def test_an_account_is_made_once_private_and_removed(as_root, tmp_path):
    homes = tmp_path / "homes"
    entry = ensure_account("unit-Test01", homes=homes, prefix="hepdl-t-")
    try:
        assert entry.pw_name == "hepdl-t-unit-test01" and entry.pw_gecos == "hepdl-hub unit-Test01"
        home = homes / entry.pw_name
        assert home.is_dir() and (home.stat().st_mode & 0o777) == 0o700 and home.stat().st_uid == entry.pw_uid
        assert (homes.stat().st_mode & 0o777) == 0o711, "the homes folder must not be listable"
        assert ensure_account("unit-Test01", homes=homes, prefix="hepdl-t-").pw_uid == entry.pw_uid
    finally:
        assert remove_account(entry.pw_name)
    assert not remove_account(entry.pw_name)
    with pytest.raises(KeyError):
        pwd.getpwnam(entry.pw_name)


def test_an_account_the_hub_did_not_make_is_never_taken(as_root, tmp_path):
    with pytest.raises(AccountError, match="not made by the hub"):
        ensure_account("daemon", homes=tmp_path, prefix="")
    with pytest.raises(AccountError, match="not made by the hub"):
        remove_account("daemon")


def test_a_control_group_enforces_its_limits_and_ends_every_process(as_root):
    group = UserCgroup(f"unit-{os.getpid()}", parent=f"hepdl-unit-{os.getpid()}")
    group.create(Limits(memory=256 << 20, cpus=0.5, tasks=32))
    files = group.procs_files()

    def run(code: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              preexec_fn=lambda: UserCgroup.join(files), timeout=120)

    try:
        assert run("b = bytearray(512 << 20)").returncode == -9, "512 MB allocated under 256 MB"
        forks = run("import subprocess\nps = []\ntry:\n    [ps.append(subprocess.Popen(['sleep', '30']))"
                    " for _ in range(64)]\nexcept OSError:\n    pass\nprint(len(ps))\n[p.kill() for p in ps]")
        assert int(forks.stdout) < 32, f"{forks.stdout} processes under a limit of 32 tasks"
        spin = run("import time, resource\nt = time.time()\nwhile time.time() - t < 2: pass\n"
                   "print(resource.getrusage(resource.RUSAGE_SELF).ru_utime / (time.time() - t))")
        assert float(spin.stdout) < 0.65, f"a busy process used {spin.stdout} CPU under a limit of 0.5"
        detached = subprocess.Popen(["sleep", "300"], start_new_session=True,
                                    preexec_fn=lambda: UserCgroup.join(files))
        time.sleep(0.2)
        assert detached.pid in group.pids()
    finally:
        group.remove()
        for path in group.paths:
            path.parent.rmdir()
    assert detached.wait(timeout=10) == -9, "a detached process outlived its group"


def test_a_submission_that_claims_another_student_is_found(as_root, tmp_path):
    inbound = tmp_path / "inbound"
    entry = ensure_account("unit-forger", homes=tmp_path / "homes", prefix="hepdl-t-")
    try:
        made = {
            f"{entry.pw_name}+demo+2026-12-03 10:00:00.000000 UTC+abc": entry.pw_uid,   # her own
            "hepdl-t-victim+demo+2026-12-03 10:01:00.000000 UTC+def": entry.pw_uid,     # forged
            "hepdl-t-victim+other+2026-12-03 10:02:00.000000 UTC+ghi": entry.pw_uid,    # another assignment
            "hepdl-t-victim+demo+2026-12-03 09:00:00.000000 UTC+jkl": os.geteuid(),     # the instructor's
        }
        for name, uid in made.items():
            (inbound / name).mkdir(parents=True)
            os.chown(inbound / name, uid, -1)
        found = forged_submissions(inbound, "demo")
        assert [(f.name, claimed, owner) for f, claimed, owner in found] == [
            ("hepdl-t-victim+demo+2026-12-03 10:01:00.000000 UTC+def", "hepdl-t-victim", entry.pw_name)]
    finally:
        remove_account(entry.pw_name)
