"""A control group per hub user: enforced memory, CPU and process limits, and a clean stop.

Every process of a user's server (the server, its kernels, anything they start, even detached)
lives in the user's control group. The kernel enforces the limits on the group as a whole (the
out-of-memory killer acts inside it, ``fork`` fails past the task limit, CPU time is capped
per 100 ms period), and :meth:`UserCgroup.kill` ends every process of it, so a server's stop
(or the idle culler's) leaves nothing behind.

Both kernel interfaces are supported, chosen by what the machine mounts:

- **cgroup v1** (containers, older distributions; this CI machine): one hierarchy per controller
  under ``/sys/fs/cgroup/{memory,pids,cpu}``; the groups are made at ``PARENT/NAME`` in each.
- **cgroup v2** (systemd machines: Debian 11+, Ubuntu 21.10+): the unified hierarchy. The groups
  are made inside the hub's own group, which systemd must delegate to it (``Delegate=yes`` in
  the hub's unit, ``deploy/hepdl-hub.service``); the hub's own processes move to a ``hub`` leaf
  first (cgroup v2 allows processes only in leaves).

Needs root. Units: bytes for memory, CPUs (1.0 = one core) for CPU, processes and threads
("tasks") for the task limit.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CgroupError", "Limits", "UserCgroup", "version"]

_V1_CONTROLLERS = ("memory", "pids", "cpu")
_PERIOD_US = 100_000


class CgroupError(RuntimeError):
    """Control groups are missing or not writable."""


@dataclass(frozen=True)
class Limits:
    """Per-user limits: ``memory`` in bytes, ``cpus`` in cores, ``tasks`` in processes+threads;
    None leaves a limit unset."""

    memory: int | None = None
    cpus: float | None = None
    tasks: int | None = None


def _mountinfo() -> list[tuple[str, str, set[str]]]:
    """(mount point, filesystem type, super options) of every cgroup mount."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        sep = fields.index("-")
        fstype, options = fields[sep + 1], fields[sep + 3] if len(fields) > sep + 3 else ""
        if fstype in ("cgroup", "cgroup2"):
            mounts.append((fields[4], fstype, set(options.split(","))))
    return mounts


def _v1_mounts() -> dict[str, Path]:
    found = {}
    for point, fstype, options in _mountinfo():
        for controller in _V1_CONTROLLERS:
            if fstype == "cgroup" and controller in options:
                found.setdefault(controller, Path(point))
    return found


def _v2_root() -> Path | None:
    for point, fstype, _ in _mountinfo():
        controllers = Path(point) / "cgroup.controllers"
        if fstype == "cgroup2" and controllers.exists() and \
                {"memory", "pids", "cpu"} <= set(controllers.read_text().split()):
            return Path(point)
    return None


def version() -> int | None:
    """1 or 2: the interface whose memory, pids and cpu controllers this machine offers."""
    if len(_v1_mounts()) == len(_V1_CONTROLLERS):
        return 1
    return 2 if _v2_root() is not None else None


def _write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError as err:
        raise CgroupError(f"cannot write {value!r} to {path}: {err} (the hub must run as root, "
                          "and on cgroup v2 with Delegate=yes: deploy/README.md)") from err


def _v2_base(root: Path) -> Path:
    """The hub's own v2 group (its ``hub`` leaf's parent once :func:`_v2_prepare` ran)."""
    own = next(line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines()
               if line.startswith("0::"))
    base = root / own.lstrip("/")
    return base.parent if base.name == "hub" else base


def _v2_prepare(base: Path) -> None:
    """Make the hub's delegated group able to hold child groups with the three controllers:
    its own processes move to a ``hub`` leaf (v2 allows processes only in leaves)."""
    leaf = base / "hub"
    leaf.mkdir(exist_ok=True)
    for pid in (base / "cgroup.procs").read_text().split():
        try:
            _write(leaf / "cgroup.procs", pid)
        except CgroupError:
            if Path(f"/proc/{pid}").exists():
                raise
    _write(base / "cgroup.subtree_control", "+memory +pids +cpu")


class UserCgroup:
    """The control group ``parent/name`` (one per user), in every hierarchy it needs."""

    def __init__(self, name: str, parent: str = "hepdl-hub"):
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"{name!r} is not a control group name")
        self.name, self.parent = name, parent
        self.version = version()
        if self.version == 1:
            self.paths = [mount / parent / name for mount in _v1_mounts().values()]
        elif self.version == 2:
            self._base = _v2_base(_v2_root())
            self.paths = [self._base / parent / name]
        else:
            raise CgroupError("this machine offers no memory, pids and cpu control groups "
                              "(neither cgroup v1 nor a delegated cgroup v2): per-user limits "
                              "cannot be enforced")

    def create(self, limits: Limits) -> None:
        """Make the group (again) and set its limits."""
        paths = self.paths
        # The users' parent group competes for CPU with the hub's processes as one entity; with
        # the default weight (that of a single busy process) a busy hub starves every server
        # (20 servers took 90-125 s to start on 2 cores, measured). Weigh it as 4 busy
        # processes per core: the users, together, get most of the machine under contention.
        weight = 4 * (os.cpu_count() or 1)
        if self.version == 2:
            _v2_prepare(self._base)
            group = self._base / self.parent
            group.mkdir(exist_ok=True)
            _write(group / "cgroup.subtree_control", "+memory +pids +cpu")
            _write(group / "cpu.weight", str(min(100 * weight, 10_000)))
        for path in paths:
            path.mkdir(parents=True, exist_ok=True)
            if self.version == 1 and (path.parent / "cpu.shares").exists():
                _write(path.parent / "cpu.shares", str(min(1024 * weight, 262_144)))

        def set_(filename, value):
            for path in paths:
                if (path / filename).exists():
                    _write(path / filename, value)

        if self.version == 1:
            if limits.memory:
                set_("memory.limit_in_bytes", str(limits.memory))
                set_("memory.memsw.limit_in_bytes", str(limits.memory))   # no escape into swap
            if limits.tasks:
                set_("pids.max", str(limits.tasks))
            if limits.cpus:
                set_("cpu.cfs_period_us", str(_PERIOD_US))
                set_("cpu.cfs_quota_us", str(int(limits.cpus * _PERIOD_US)))
        else:
            if limits.memory:
                set_("memory.max", str(limits.memory))
                set_("memory.swap.max", "0")
            if limits.tasks:
                set_("pids.max", str(limits.tasks))
            if limits.cpus:
                set_("cpu.max", f"{int(limits.cpus * _PERIOD_US)} {_PERIOD_US}")

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a new process writes its pid to (see :meth:`join`)."""
        return [str(path / "cgroup.procs") for path in self.paths]

    @staticmethod
    def join(procs_files: list[str]) -> None:
        """Move the calling process into the group: safe between ``fork`` and ``exec``."""
        pid = str(os.getpid())
        for name in procs_files:
            with open(name, "w") as handle:
                handle.write(pid)

    def pids(self) -> set[int]:
        """Every process in the group now."""
        found = set()
        for path in self.paths:
            try:
                found |= {int(p) for p in (path / "cgroup.procs").read_text().split()}
            except FileNotFoundError:
                pass
        return found

    def kill(self, timeout: float = 10) -> int:
        """SIGKILL every process of the group until none is left; the number killed."""
        killed, end = set(), time.monotonic() + timeout
        while time.monotonic() < end:
            left = self.pids()
            if not left:
                return len(killed)
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        raise CgroupError(f"processes {sorted(self.pids())} of {self.name} survived SIGKILL "
                          f"for {timeout} s")

    def remove(self) -> None:
        """Kill what is left and remove the group."""
        self.kill()
        for path in self.paths:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:                   # EBUSY while the last exits are accounted
                    time.sleep(0.05)
