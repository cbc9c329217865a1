"""One Linux account per hub user: its name, its creation on first login, its removal.

The school's hub (deploy/jupyterhub_config.py) runs each user's server as that user's own
account, so that the kernel's files, processes and ``/proc`` entries are the kernel's alone.
Account names follow Linux's rules (``useradd``: lower-case letters, digits and ``-``, at most
32 characters, starting with a letter) and carry a prefix, so that a GitHub login can never
name a system account (``root``, ``daemon``) or the hub's own::

    >>> system_username("Alice-K")
    'hepdl-alice-k'
    >>> system_username("a-login-of-thirty-nine-characters-long1")
    'hepdl-a-login-of-thirty-75ac1010'

A login that had to be changed (shortened, or holding a character Linux refuses) gets a hash of
the original at the end, so that two logins never share an account. The account's comment
(GECOS) field records ``hepdl-hub LOGIN``; an existing account without it is never taken over.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import subprocess
from pathlib import Path

__all__ = ["AccountError", "MARK", "PREFIX", "ensure_account", "remove_account", "system_username"]

PREFIX = "hepdl-"
MARK = "hepdl-hub"               # the comment field of every account the hub made
MAX_NAME = 32                    # Linux's (useradd's) limit
_INVALID = re.compile(r"[^a-z0-9-]")


class AccountError(RuntimeError):
    """An account cannot be made or used (a name taken by someone else, useradd failing)."""


def system_username(login: str, prefix: str = PREFIX) -> str:
    """The Linux account name of hub user ``login`` (a GitHub login, any case)."""
    if not login:
        raise ValueError("an empty login has no account")
    lowered = login.lower()
    name = prefix + _INVALID.sub("-", lowered)
    if name == prefix + lowered and len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(login.encode()).hexdigest()[:8]
    return f"{name[:MAX_NAME - len(digest) - 1].rstrip('-')}-{digest}"


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise AccountError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")


def ensure_account(login: str, *, homes: str | os.PathLike = "/home", prefix: str = PREFIX,
                   shell: str = "/bin/bash") -> pwd.struct_passwd:
    """The account of ``login``, created with a private home (mode 0700) if it does not exist.

    Needs root (``useradd``). The account has no password (it cannot log in except through the
    hub) and its own group. Raises :class:`AccountError` when the name belongs to an account the
    hub did not make.
    """
    name = system_username(login, prefix)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        home = Path(homes) / name
        if not Path(homes).is_dir():
            Path(homes).mkdir(parents=True)
            Path(homes).chmod(0o711)             # each user reaches their own home only
        _run(["useradd", "--create-home", "--home-dir", str(home), "--shell", shell,
              "--user-group", "--comment", f"{MARK} {login}", "--key", "UMASK=077", name])
        entry = pwd.getpwnam(name)
    else:
        if not entry.pw_gecos.startswith(MARK):
            raise AccountError(f"the account {name!r} exists and was not made by the hub (its "
                               f"comment is {entry.pw_gecos!r}): rename it, or choose another "
                               "prefix with HEPDL_HUB_ACCOUNT_PREFIX")
    home = Path(entry.pw_dir)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    home.chmod(0o700)
    return entry


def remove_account(name: str) -> bool:
    """Remove an account the hub made, its home and its group; False if there was none."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return False
    if not entry.pw_gecos.startswith(MARK):
        raise AccountError(f"{name!r} was not made by the hub; not removing it")
    _run(["userdel", "--remove", name])
    return True
