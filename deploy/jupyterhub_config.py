"""JupyterHub for a school: GitHub login, nbgrader, released material only (deploy/README.md).

Start it with ``make hub`` (or ``jupyterhub -f deploy/jupyterhub_config.py``). Every setting a
school changes comes from an environment variable; nothing secret lives in the repository.

=============================  =================================================================
``GITHUB_CLIENT_ID``           the GitHub OAuth app's client id (read by oauthenticator)
``GITHUB_CLIENT_SECRET``       its client secret (read by oauthenticator)
``OAUTH_CALLBACK_URL``         ``https://HOST/hub/oauth_callback``, as registered in the app
``HEPDL_HUB_ORG``              who may log in: ``org`` or ``org:team``, comma-separated
``HEPDL_HUB_INSTRUCTORS``      GitHub logins of the instructors (may open the formgrader)
``HEPDL_HUB_ADMINS``           GitHub logins of the hub's admins
``HEPDL_HUB_STATE``            folder outside the repository for secrets, database, exchange,
                               the published course (default ``/srv/hepdl-hub``, mode 0711)
``HEPDL_HUB_IP`` / ``_PORT``   where the hub listens (default ``127.0.0.1:8000``)
``HEPDL_HUB_COURSE_ID``        nbgrader course id (default ``hepdl``)
``HEPDL_HUB_IDLE_TIMEOUT``     seconds before an idle server is stopped (default 3600)
``HEPDL_HUB_MEM_LIMIT``        memory per user's server, enforced (default ``2G``)
``HEPDL_HUB_CPU_LIMIT``        CPUs per user's server, enforced (default ``1``)
``HEPDL_HUB_TASKS_LIMIT``      processes and threads per user's server, enforced (default 1024)
``HEPDL_HUB_HOMES``            folder of the users' homes (default ``/home``)
``HEPDL_HUB_ACCOUNT_PREFIX``   prefix of the users' Linux accounts (default ``hepdl-``)
``HEPDL_HUB_CGROUP``           control group holding the users' groups (default ``hepdl-hub``)
``GITHUB_URL``                 GitHub's address (default ``https://github.com``; the tests point
                               it at a local mock)
=============================  =================================================================

Every user (student or instructor) gets a Linux account of their own, made on first login
(``hepdl-LOGIN``, ``hepdl_course.accounts``), and their server runs as that account, without
capabilities, in a control group that enforces the limits and ends every process at the stop
(``hepdl_course.hub_spawner``); the hub therefore runs as root. What students get: on every
spawn their home receives any missing file of the released ``lessons/`` and ``preexercises/``
(their own edits are kept), and ``HEPDL_DATA_DIR`` points at a copy of the student-size data
sets. The published copy
(``STATE/course``) is made from the repository's released folders only, and is refused if a file
holds a solution region, a hidden test or a gradebook. Instructors grade in the ``formgrader``
hub service (``/services/formgrader/``), reachable only by the ``instructors`` group; students'
servers run with nbgrader's formgrader and create-assignment extensions disabled and locked.
Every user's server is also confined by Landlock (``hepdl_course.confine``, see PROTECTED), a
second wall behind the file permissions.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import sys
from pathlib import Path

from hepdl_course.kernels import culling_config

c = get_config()  # noqa: F821

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent                      # the course's virtual environment
STATE = Path(os.environ.get("HEPDL_HUB_STATE") or "/srv/hepdl-hub").expanduser().resolve()
COURSE_ID = os.environ.get("HEPDL_HUB_COURSE_ID", "hepdl")
RELEASED = ("lessons", "preexercises")
FORBIDDEN = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS", "gradebook.db")
HOMES = Path(os.environ.get("HEPDL_HUB_HOMES") or "/home")

if os.environ.get("HEPDL_HUB_SYSTEM_USERS"):
    raise SystemExit("HEPDL_HUB_SYSTEM_USERS is gone: every user now has a Linux account of their "
                     "own (the shared account let students read each other's tokens); unset it")
if not hasattr(os, "geteuid") or os.geteuid() != 0:
    raise SystemExit("the hub must run as root: it makes a Linux account per user and runs each "
                     "server as that account (`sudo make hub`, deploy/README.md). To try the "
                     "course alone, without a hub, run `make lab`.")
os.umask(0o077)            # whatever the hub writes (database, logs) is the hub's alone


def _names(var: str) -> set[str]:
    return {n.strip().lower() for n in os.environ.get(var, "").split(",") if n.strip()}


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _secret_file(path: Path, nbytes: int = 32) -> str:
    """Read a secret, generating it (owner-only, 0600) on first start."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(nbytes))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SystemExit(f"{path} is readable by others (mode {mode:o}): run `chmod 600 {path}`")
    return path.read_text().strip()


def _reachable(path: Path, what: str) -> None:
    """Refuse to start when the users' accounts could not reach ``path`` (a folder on the way
    lacks the others' execute bit, as /root has)."""
    for folder in [*reversed(path.parents), path]:
        if folder.exists() and not folder.stat().st_mode & stat.S_IXOTH:
            raise SystemExit(f"{what} {path} is out of the users' reach: {folder} is not "
                             f"searchable by others (mode {stat.S_IMODE(folder.stat().st_mode):o}). "
                             f"Put it under /srv or /opt, or run `chmod o+x {folder}`")


_reachable(BIN, "the course's Python environment")
_reachable(Path(sys.executable).resolve(), "the course's Python interpreter")
_reachable(Path(sys.base_prefix) / "lib", "the Python standard library")
_reachable(REPO / "src", "the course's package")
_reachable(STATE.parent, "the hub's state folder")
if REPO in (STATE, *STATE.parents):
    raise SystemExit(f"HEPDL_HUB_STATE={STATE} is inside the repository {REPO}: secrets and the "
                     "database must live outside it; choose another folder")
_private_dir(STATE)
STATE.chmod(0o711)                      # the users reach the course and the exchange below
(STATE / "secrets").mkdir(exist_ok=True)
(STATE / "secrets").chmod(0o700)


# The sources with the solutions and hidden tests, and the history that holds them: the owner's only.
for _name in ("solutions", "tests", ".git"):
    if (REPO / _name).exists():
        (REPO / _name).chmod(0o700)


# --- the released material, published once per change ------------------------------------------

def _check_released(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.name == "gradebook.db":
            raise SystemExit(f"{path}: a gradebook in released material; remove it")
        if path.is_file() and path.suffix in (".ipynb", ".py", ".md", ".txt"):
            text = path.read_text(errors="replace")
            for marker in FORBIDDEN[:2]:
                if marker in text:
                    raise SystemExit(f"{path} holds {marker!r}: it is not a student version. "
                                     "Regenerate the released folders with `make release`.")


def publish_course(repo: Path = REPO, course: Path = STATE / "course") -> Path:
    """Copy the released notebooks and the student-size data sets into ``course`` (read-only).

    The copy is remade when the repository's released folders or data changed (by mtime).
    """
    sources = [repo / name for name in RELEASED]
    data = sorted(p for p in (repo / "datasets").glob("*/student") if p.is_dir())
    missing = [str(p) for p in sources if not p.is_dir()]
    if missing:
        raise SystemExit(f"no released material at {missing}: run `make release` first")
    if not data:
        raise SystemExit("no student-size data sets: run "
                         "`python -m hepdl.datasets build --size student` first")
    stamp = json.dumps(sorted(
        (str(p), p.stat().st_mtime_ns) for root in (*sources, *data) for p in [root, *root.rglob("*")]))
    stamp_file = course / ".published"
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return course
    tmp = course.with_name(course.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    for src in sources:
        shutil.copytree(src, tmp / src.name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        _check_released(tmp / src.name)
    for src in data:                     # datasets/NAME/student, and the card datasets/NAME/README.md
        shutil.copytree(src, tmp / "datasets" / src.parent.name / "student")
        card = src.parent / "README.md"
        if card.exists():
            shutil.copy2(card, tmp / "datasets" / src.parent.name / "README.md")
    for path in [tmp, *tmp.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    if course.exists():
        for path in [course, *course.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(course)
    tmp.chmod(0o755)
    tmp.rename(course)
    stamp_file.write_text(stamp)
    stamp_file.chmod(0o444)
    course.chmod(0o555)
    return course


COURSE = publish_course()


# --- nbgrader: exchange, the students' settings, the instructors' course directory --------------

EXCHANGE = STATE / "exchange"
EXCHANGE.mkdir(exist_ok=True)
EXCHANGE.chmod(0o1777)                   # everyone submits; nobody removes another's files

COMMON_CONFIG = STATE / "jupyter-common"       # everyone's servers: where the exchange is
STUDENT_CONFIG = STATE / "jupyter-student"     # students' servers only: instructor tools off
COMMON_CONFIG.mkdir(exist_ok=True)
(STUDENT_CONFIG / "labconfig").mkdir(parents=True, exist_ok=True)
INSTRUCTOR_ONLY = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"]
QUIET = ["@jupyterlab/apputils-extension:announcements"]       # no news pop-up in class
(STUDENT_CONFIG / "labconfig" / "page_config.json").write_text(json.dumps(
    {"disabledExtensions": {name: True for name in INSTRUCTOR_ONLY + QUIET},
     "lockedExtensions": {name: True for name in INSTRUCTOR_ONLY}}, indent=1))
(STUDENT_CONFIG / "jupyter_server_config.json").write_text(json.dumps(
    {"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": False}}}, indent=1))
# Kernels talk to their server over Unix sockets in the user's private runtime folder, not over
# loopback ports that every account on the machine can connect to (iopub would show outputs).
# A kernel with no open tab is shut down after 10 idle minutes (hepdl_course.kernels), so that
# the lesson a student left does not hold the memory the next one needs.
(COMMON_CONFIG / "jupyter_server_config.json").write_text(json.dumps(
    {"KernelManager": {"transport": "ipc"}, **culling_config()}, indent=1))
(COMMON_CONFIG / "nbgrader_config.py").write_text(
    "c = get_config()  # noqa: F821\n"
    f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
    f"c.Exchange.root = {str(EXCHANGE)!r}\n")
for path in [COMMON_CONFIG, STUDENT_CONFIG, *COMMON_CONFIG.rglob("*"), *STUDENT_CONFIG.rglob("*")]:
    path.chmod(0o755 if path.is_dir() else 0o644)

# The formgrader's course directory. `make hub` fills it with `hepdl-course init`; a bare one
# (settings only) is made here so that the service starts.
GRADING = _private_dir(STATE / "grading")
if not (GRADING / "nbgrader_config.py").exists():
    (GRADING / "source").mkdir(exist_ok=True)
    (GRADING / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.CourseDirectory.root = {str(GRADING)!r}\n"
        f"c.Exchange.root = {str(EXCHANGE)!r}\n"
        "from hepdl_course.preprocessors import feedback_preprocessors  # noqa: E402\n"
        "c.GenerateFeedback.preprocessors = feedback_preprocessors()   # no hidden tests shown\n")


# --- authentication: GitHub, restricted to an organisation or team ------------------------------

ORGS = _names("HEPDL_HUB_ORG")
INSTRUCTORS = _names("HEPDL_HUB_INSTRUCTORS")
ADMINS = _names("HEPDL_HUB_ADMINS")
if not ORGS and not INSTRUCTORS and not ADMINS:
    raise SystemExit("nobody may log in: set HEPDL_HUB_ORG (a GitHub organisation or org:team) "
                     "and HEPDL_HUB_INSTRUCTORS (GitHub logins); see deploy/README.md")
for var in ("GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "OAUTH_CALLBACK_URL"):
    if not os.environ.get(var):
        raise SystemExit(f"{var} is not set: register a GitHub OAuth app (deploy/README.md) and "
                         "export its client id, secret and callback URL")

c.JupyterHub.authenticator_class = "oauthenticator.github.GitHubOAuthenticator"
c.GitHubOAuthenticator.allowed_organizations = ORGS
c.GitHubOAuthenticator.allowed_users = INSTRUCTORS | ADMINS
c.GitHubOAuthenticator.admin_users = ADMINS
c.GitHubOAuthenticator.scope = ["read:org"]          # to check the organisation membership
c.GitHubOAuthenticator.enable_auth_state = False

c.JupyterHub.load_groups = {"instructors": {"users": sorted(INSTRUCTORS)}}
c.JupyterHub.load_roles = [
    {"name": "instructor", "groups": ["instructors"],
     "scopes": ["access:services!service=formgrader", "self"]},
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
]


# --- the hub itself: one machine, SQLite, the proxy from npm, secrets outside the repository -----

c.JupyterHub.ip = os.environ.get("HEPDL_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("HEPDL_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("HEPDL_HUB_API_PORT", "8081"))
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "secrets" / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.JupyterHub.data_files_path = str(Path(sys.prefix) / "share" / "jupyterhub")
c.ConfigurableHTTPProxy.auth_token = _secret_file(STATE / "secrets" / "proxy_auth_token")
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%s" % os.environ.get("HEPDL_HUB_PROXY_PORT", "8001")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
_proxy = os.environ.get("HEPDL_HUB_PROXY") or str(REPO / "deploy" / ".node" / "bin" / "configurable-http-proxy")
if not Path(_proxy).exists() and not shutil.which(_proxy):
    raise SystemExit(f"configurable-http-proxy not found at {_proxy}: run `make hub-deps`")
c.ConfigurableHTTPProxy.command = [_proxy]
c.JupyterHub.cleanup_servers = True
c.JupyterHub.concurrent_spawn_limit = 50
c.JupyterHub.active_server_limit = int(os.environ.get("HEPDL_HUB_MAX_SERVERS", "0"))
c.JupyterHub.allow_named_servers = False


# --- the students' servers -----------------------------------------------------------------------

c.JupyterHub.spawner_class = "hepdl_course.hub_spawner.CourseSpawner"
c.CourseSpawner.homes = str(HOMES)
c.CourseSpawner.account_prefix = os.environ.get("HEPDL_HUB_ACCOUNT_PREFIX", "hepdl-")
c.CourseSpawner.cgroup_parent = os.environ.get("HEPDL_HUB_CGROUP", "hepdl-hub")
c.CourseSpawner.tasks_limit = int(os.environ.get("HEPDL_HUB_TASKS_LIMIT", "1024"))
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/preexercises"
c.Spawner.mem_limit = os.environ.get("HEPDL_HUB_MEM_LIMIT", "2G")      # enforced by the control
c.Spawner.cpu_limit = float(os.environ.get("HEPDL_HUB_CPU_LIMIT", "1"))  # group (and by KubeSpawner)
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    "HEPDL_DATA_DIR": str(COURSE / "datasets"),
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PATH": f"{BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
}


def _copy_missing(src: Path, dst: Path, uid: int | None, gid: int | None) -> None:
    """Copy every file of ``src`` that ``dst`` lacks (a student's own edits are kept)."""
    for path in [src, *sorted(src.rglob("*"))]:
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(exist_ok=True)
            target.chmod(0o755)
        elif not target.exists():
            shutil.copyfile(path, target)
            target.chmod(0o644)
        else:
            continue
        if uid is not None:
            os.chown(target, uid, gid)


def pre_spawn_hook(spawner) -> None:
    """Make the user's account (first login), give its home the released material and students
    the student settings; start the server confined by Landlock as well."""
    name = spawner.user.name
    instructor = name in INSTRUCTORS or name in ADMINS
    entry = spawner.ensure_account()
    home, uid, gid = Path(entry.pw_dir), entry.pw_uid, entry.pw_gid
    for folder in RELEASED:
        _copy_missing(COURSE / folder, home / folder, uid, gid)
    tmp = home / ".tmp"                                  # /tmp is not writable under Landlock
    tmp.mkdir(exist_ok=True)
    os.chown(tmp, uid, gid)
    paths = [str(COMMON_CONFIG)] if instructor else [str(STUDENT_CONFIG), str(COMMON_CONFIG)]
    spawner.environment["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
    spawner.environment["TMPDIR"] = str(tmp)
    spawner.notebook_dir = str(home)
    spawner.cmd = [sys.executable, "-m", "hepdl_course.confine",
                   *[f"--protect={p}" for p in PROTECTED],
                   *[f"--readable={p}" for p in (COURSE, COMMON_CONFIG, STUDENT_CONFIG)],
                   f"--writable={home}", f"--writable={EXCHANGE}", f"--writable={spawner.runtime_dir}",
                   "--", *c.Spawner.cmd]


c.Spawner.pre_spawn_hook = pre_spawn_hook

# What a user's server may not read even where a file's permissions would let it (Landlock, the
# second wall): the sources with solutions and hidden tests, the git history that holds them, and
# the hub's state (gradebook, secrets, database; the published course, the settings and the
# exchange are let back in). The hub account's home (its credentials, the OAuth settings file, an
# instructors' grading folder) is root's, mode 0700: the users cannot even list it, so Landlock
# (which runs as the user) leaves it out.
PROTECTED = [REPO / "solutions", REPO / "tests", REPO / ".git", STATE]


# --- services: the formgrader (instructors only) and the idle culler -----------------------------

_formgrader_port = int(os.environ.get("HEPDL_HUB_FORMGRADER_PORT", "8082"))
c.JupyterHub.services = [
    {
        "name": "formgrader",
        "url": f"http://127.0.0.1:{_formgrader_port}",
        "command": [str(BIN / "jupyterhub-singleuser"), f"--port={_formgrader_port}",
                    f"--ServerApp.root_dir={GRADING}", "--allow-root",
                    "--ServerApp.terminals_enabled=False"],
        "cwd": str(GRADING),
        "environment": {"JUPYTERHUB_DEFAULT_URL": "/formgrader",
                        "PATH": f"{BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin"},
        "oauth_no_confirm": True,
    },
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                    "--timeout=%s" % os.environ.get("HEPDL_HUB_IDLE_TIMEOUT", "3600"),
                    "--cull-every=300"],
    },
]
