"""Confine a process: it may not read protected paths and writes only where it is allowed.

Two mechanisms, used together for a grading kernel (:func:`confine`) and Landlock alone for a
hub student's server (:mod:`hepdl_course.confine`):

- **Landlock** (Linux >= 5.13, :func:`apply_landlock`): the kernel enforces the rules on the process
  and everything it starts, across ``exec``. Landlock only grants access, so hiding a folder
  means granting every sibling of its ancestors (:func:`landlock_plan`). From ABI 4 outgoing
  TCP connections can be refused, from ABI 6 signals to processes outside the sandbox.
- **A Python audit hook** (PEP 578, :func:`audit_hook`): refuses opening, listing and changing
  protected paths, writing outside the writable folders and signals to other processes, from
  Python code; where Landlock is missing it also refuses starting programs (which the hook
  could not follow).

Landlock is called through ``ctypes`` (``syscall`` and ``prctl`` of the C library): the
standard library has no binding and no package on our list offers one.
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys
import threading

__all__ = ["apply_landlock", "audit_hook", "confine", "landlock_plan", "within"]


def within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or inside it (both absolute and normalised).

    >>> within("/srv/course/gradebook.db", "/srv/course"), within("/srv/course2", "/srv/course")
    (True, False)
    """
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


# Landlock (Linux >= 5.13): syscall numbers are the same on every architecture.
_LL_CREATE, _LL_ADD_RULE, _LL_RESTRICT = 444, 445, 446
_PR_SET_NO_NEW_PRIVS = 38


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


# Landlock access rights (ABI 1, then refer = ABI 2 and truncate = ABI 3).
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1, 2, 4, 8
_REFER, _TRUNCATE = 1 << 13, 1 << 14
# /dev: only these, never the disks (a root kernel could otherwise read the gradebook's bytes).
_DEV_WRITABLE = ("null", "zero", "full", "tty", "ptmx", "shm", "pts")
_DEV_READABLE = ("random", "urandom", "fd", "stdin", "stdout", "stderr")
# Secrets an instructor's home may hold; never readable while grading.
_HOME_SECRETS = (".ssh", ".jupyter", ".pgpass", ".netrc", ".git-credentials", ".aws", ".docker",
                 ".config/gcloud", ".local/share/jupyter/runtime", ".local/share/jupyter/nbgrader_cache")


def landlock_plan(protect: list[str], writable: list[str],
                  readable: list[str] = ()) -> list[tuple[str, bool]]:
    """(path, writable) grants: read-only around the protected paths and in ``readable`` (inside a
    protected one), read-write in ``writable``.

    Landlock only grants; to hide a folder, grant every sibling of its ancestors. Entries made
    later directly in an ancestor (a new file in /tmp) are not granted: the kernel writes only in
    its working folder and its own TMPDIR.
    """
    protect = sorted({os.path.realpath(p) for p in protect if p})
    ancestors = set()
    for path in protect + ["/dev/null"]:
        parent = os.path.dirname(path)
        while True:
            ancestors.add(parent)
            if parent == os.path.dirname(parent):
                break
            parent = os.path.dirname(parent)
    plan = []
    for folder in sorted(ancestors):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            child = os.path.join(folder, name)
            if child in ancestors or child in protect:
                continue
            real = os.path.realpath(child)
            if any(within(real, p) or within(p, real) for p in protect):
                continue
            if folder == "/dev":
                if name in _DEV_WRITABLE or name in _DEV_READABLE:
                    plan.append((child, name in _DEV_WRITABLE))
                continue
            plan.append((child, False))
    return (plan + [(os.path.realpath(p), False) for p in readable]
            + [(os.path.realpath(p), True) for p in writable])


def apply_landlock(protect: list[str], writable: list[str], readable: list[str] = (), *,
                   tcp: bool = False) -> str | None:
    """Confine this process and its children (rules of :func:`landlock_plan`); return a
    description (``"Landlock ABI 6"``), or None where the kernel offers no Landlock.

    Outgoing TCP connections are refused unless ``tcp`` (a Jupyter server needs them)."""
    if sys.platform != "linux":
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        abi = syscall(ctypes.c_long(_LL_CREATE), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
        if abi < 1:
            return None
        handled = (1 << 13) - 1                        # ABI 1: execute ... make_sym
        handled |= (_REFER if abi >= 2 else 0) | (_TRUNCATE if abi >= 3 else 0)
        file_rw = handled & (_EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE)
        read_dir, read_file = _EXECUTE | _READ_FILE | _READ_DIR, _EXECUTE | _READ_FILE
        attr = _RulesetAttr(handled, 1 << 1 if abi >= 4 and not tcp else 0,   # refuse outgoing TCP
                            1 << 1 if abi >= 6 else 0)            # no signals to processes outside
        size = ctypes.sizeof(attr) if abi >= 6 else (16 if abi >= 4 else 8)
        ruleset = syscall(ctypes.c_long(_LL_CREATE), ctypes.byref(attr), ctypes.c_size_t(size),
                          ctypes.c_uint32(0))
        if ruleset < 0:
            return None
        try:
            for path, rw in landlock_plan(protect, writable, readable):
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
                    rights = (handled if rw else read_dir) if is_dir else (file_rw if rw else read_file)
                    rule = _PathBeneath(rights, fd)
                    syscall(ctypes.c_long(_LL_ADD_RULE), ctypes.c_long(ruleset), ctypes.c_long(1),
                            ctypes.byref(rule), ctypes.c_uint32(0))
                finally:
                    os.close(fd)
            if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                return None
            if syscall(ctypes.c_long(_LL_RESTRICT), ctypes.c_long(ruleset), ctypes.c_uint32(0)) != 0:
                return None
        finally:
            os.close(ruleset)
        return f"Landlock ABI {abi}"
    except Exception:  # noqa: BLE001 (no Landlock: the audit hook still applies)
        return None


# Audit events (PEP 578) naming paths: event -> (indices of paths read, indices of paths written).
_PATH_EVENTS = {
    "open": ((0,), ()), "os.listdir": ((0,), ()), "os.scandir": ((0,), ()),
    "os.getxattr": ((0,), ()), "os.listxattr": ((0,), ()),
    "sqlite3.connect": ((0,), (0,)), "os.rename": ((0,), (0, 1)), "os.link": ((0,), (1,)),
    "os.symlink": ((), (1,)), "os.remove": ((), (0,)), "os.rmdir": ((), (0,)), "os.mkdir": ((), (0,)),
    "os.truncate": ((), (0,)), "os.chmod": ((), (0,)), "os.chown": ((), (0,)), "os.utime": ((), (0,)),
    "os.setxattr": ((), (0,)), "os.removexattr": ((), (0,)),
    "shutil.copyfile": ((0,), (1,)), "shutil.copytree": ((0,), (1,)), "shutil.rmtree": ((), (0,)),
    "shutil.move": ((0,), (0, 1)),
}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_SPAWN_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                 "os.forkpty", "pty.spawn"}


def audit_hook(protect: list[str], writable: list[str], block_spawn: bool):
    """A Python audit hook: no access to ``protect``, no writing outside ``writable``."""
    protect = [os.path.realpath(p) for p in protect if p]
    writable = [os.path.realpath(p) for p in writable] + ["/dev/null", "/dev/shm"]
    parent = os.getppid()
    busy = threading.local()

    def resolve(value) -> str | None:
        if isinstance(value, int) or value is None:
            return None
        try:
            text = os.fsdecode(value)
        except (TypeError, ValueError):
            return None
        if text.startswith("file:"):            # an SQLite URI
            text = text[len("file:"):].split("?")[0]
        if text in ("", ":memory:"):
            return None
        return os.path.realpath(text)

    def check(event, args):
        reads, writes = _PATH_EVENTS[event]
        if event == "open" and len(args) > 2 and isinstance(args[2], int) and args[2] & _WRITE_FLAGS:
            writes = (0,)
        for index in set(reads) | set(writes):
            path = resolve(args[index]) if index < len(args) else None
            if path is None:
                continue
            inside = any(within(path, w) for w in writable)
            if not inside and any(within(path, p) for p in protect):
                raise PermissionError(f"not allowed while grading: {path}")
            if index in writes and not inside:
                raise PermissionError(f"not allowed while grading: writing {path}")

    def hook(event, args):
        if getattr(busy, "on", False):
            return
        if event in _PATH_EVENTS:
            busy.on = True
            try:
                check(event, args)
            finally:
                busy.on = False
        elif event in ("os.kill", "os.killpg") and args:
            pid = args[0]
            if event == "os.killpg" or pid <= 0 or pid == parent:
                raise PermissionError("not allowed while grading: signals to other processes")
        elif block_spawn and event in _SPAWN_EVENTS:
            raise PermissionError("not allowed while grading: starting programs")

    return hook


def confine(protect: list[str], landlock: bool = True) -> str:
    """Confine this process (the grading kernel): Landlock where the kernel offers it (unless
    ``landlock`` is false), and always an audit hook. It may read what is neither protected nor
    a secret of the home folder, and write only in its working folder and its TMPDIR. Returns
    what applies, for the log."""
    home = os.path.expanduser("~")
    protect = list(protect) + [os.path.join(home, name) for name in _HOME_SECRETS]
    writable = [os.getcwd()] + ([os.environ["TMPDIR"]] if os.environ.get("TMPDIR") else [])
    confined = apply_landlock(protect, writable) if landlock else None
    sys.addaudithook(audit_hook(protect, writable, block_spawn=confined is None))
    return confined or "audit hook only (Landlock unavailable): starting programs is refused"
