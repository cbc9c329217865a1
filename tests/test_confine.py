"""hepdl_course.confine: the launcher that keeps a hub student's server out of protected folders."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from conftest import no_landlock

PROBE = r"""
import json, os, socket, sys
protected, readable, writable, port = sys.argv[1:5]
out = {}
def attempt(name, action):
    try:
        action()
        out[name] = "allowed"
    except OSError as err:
        out[name] = type(err).__name__
attempt("read_protected", lambda: open(os.path.join(protected, "secret.txt")).read())
attempt("list_protected", lambda: os.listdir(protected))
attempt("read_let_back", lambda: open(os.path.join(readable, "notes.txt")).read())
attempt("write_let_back", lambda: open(os.path.join(readable, "new.txt"), "w").write("x"))
attempt("write_own", lambda: open(os.path.join(writable, "own.txt"), "w").write("mine"))
attempt("tcp_connect", lambda: socket.create_connection(("127.0.0.1", int(port)), timeout=5).close())
print(json.dumps(out))
"""


def test_confined_program_reads_and_writes_only_what_it_is_given(tmp_path):
    protected, home = tmp_path / "state", tmp_path / "state" / "homes" / "alice"
    readable = protected / "course"
    readable.mkdir(parents=True)
    (protected / "secret.txt").write_text("SECRET")
    (readable / "notes.txt").write_text("released")
    with socket.socket() as server:          # a Jupyter server must still reach its hub
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "hepdl_course.confine", f"--protect={protected}",
             f"--readable={readable}", f"--writable={home}", "--",
             sys.executable, "-c", PROBE, str(protected), str(readable), str(home), str(port)],
            capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "UNCONFINED" not in proc.stderr, no_landlock("hepdl_course.confine started the program unconfined")
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "read_protected": "PermissionError", "list_protected": "PermissionError",
        "read_let_back": "allowed", "write_let_back": "PermissionError",
        "write_own": "allowed", "tcp_connect": "allowed"}
    assert (home / "own.txt").read_text() == "mine"


def test_confine_without_a_program_says_what_is_missing():
    proc = subprocess.run([sys.executable, "-m", "hepdl_course.confine", "--protect=/nonexistent"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "name the program to start after --" in proc.stderr
