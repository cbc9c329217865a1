"""The hub's spawner: each user's server as the user's own Linux account, in its own control group.

:class:`CourseSpawner` is JupyterHub's ``LocalProcessSpawner`` with three changes, the set-up of
The Littlest JupyterHub on one machine without its systemd dependency:

1. The server runs as the account :func:`hepdl_course.accounts.system_username` names (created on
   first start, home 0700), not as the hub's: another user's files, ``/proc/PID/environ`` (the
   API tokens) and terminals are then out of reach, and the process has no capabilities (no raw
   sockets to sniff the loopback) and ``no_new_privs`` (no set-uid program gives them back).
2. Every process of the server is in the user's control group (:mod:`hepdl_course.cgroups`):
   ``mem_limit``, ``cpu_limit`` and :attr:`tasks_limit` are enforced, and :meth:`stop` ends every
   process of the group, detached ones included.
3. ``JUPYTER_RUNTIME_DIR`` is a private folder with a short path, where the kernels' sockets
   live when the server's kernels use the ``ipc`` transport (deploy/jupyterhub_config.py): their
   ports are then not open to other users on the loopback.

Used with ``c.JupyterHub.spawner_class = "hepdl_course.hub_spawner.CourseSpawner"``; the hub
must run as root.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import pwd
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from traitlets import Integer, Unicode

from hepdl_course.accounts import PREFIX, ensure_account, system_username
from hepdl_course.cgroups import Limits, UserCgroup

__all__ = ["CourseSpawner", "no_new_privs"]

_PR_SET_NO_NEW_PRIVS = 38


def no_new_privs() -> None:
    """Set ``no_new_privs`` on the calling process (and everything it starts)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")


class CourseSpawner(LocalProcessSpawner):
    """A local server per user, as the user's own account, limited by a control group."""

    account_prefix = Unicode(PREFIX, help="prefix of the users' Linux account names").tag(config=True)
    homes = Unicode("/home", help="folder of the users' homes").tag(config=True)
    tasks_limit = Integer(512, help="most processes and threads of one user's server").tag(config=True)
    cgroup_parent = Unicode("hepdl-hub", help="control group holding the users' groups").tag(config=True)
    runtime_root = Unicode("/run/hepdl-hub", help="parent of the users' private runtime folders "
                           "(kernel sockets)").tag(config=True)

    @property
    def account(self) -> str:
        """The Linux account this user's server runs as."""
        return system_username(self.user.name, self.account_prefix)

    def ensure_account(self) -> pwd.struct_passwd:
        """The user's account, created on first use (``useradd``, so one at a time: it blocks)."""
        return ensure_account(self.user.name, homes=self.homes, prefix=self.account_prefix)

    @property
    def cgroup(self) -> UserCgroup:
        return UserCgroup(self.account, self.cgroup_parent)

    @property
    def runtime_dir(self) -> Path:
        return Path(self.runtime_root) / self.account

    def user_env(self, env: dict) -> dict:
        entry = pwd.getpwnam(self.account)
        env.update(USER=self.account, LOGNAME=self.account, HOME=entry.pw_dir,
                   SHELL=entry.pw_shell or "/bin/sh", JUPYTER_RUNTIME_DIR=str(self.runtime_dir))
        return env

    def make_preexec_fn(self, name: str):
        setuid = set_user_setuid(self.account)
        procs = self._procs_files

        def preexec():
            UserCgroup.join(procs)          # as root, before the privileges go
            setuid()
            no_new_privs()

        return preexec

    async def start(self):
        entry = self.ensure_account()
        root = Path(self.runtime_root)
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        self.runtime_dir.mkdir(exist_ok=True)
        os.chown(self.runtime_dir, entry.pw_uid, entry.pw_gid)
        self.runtime_dir.chmod(0o700)
        group = self.cgroup
        await asyncio.to_thread(group.kill)            # anything left by an earlier server
        group.create(Limits(memory=self.mem_limit or None, cpus=self.cpu_limit or None,
                            tasks=self.tasks_limit or None))
        self._procs_files = group.procs_files()
        return await super().start()

    async def stop(self, now: bool = False):
        await super().stop(now=now)
        killed = await asyncio.to_thread(self._end_group)
        if killed:
            self.log.info("stopped %d process(es) left in %s's control group", killed, self.user.name)

    def _end_group(self) -> int:
        group = self.cgroup
        killed = group.kill()
        group.remove()
        return killed
