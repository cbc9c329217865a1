"""ngshare as the test hub's managed service, bound to 127.0.0.1 (ngshare's main() binds 0.0.0.0).

run_ngshare.py PID_FILE NGSHARE_ARGS...: writes its pid (the test stops it) and runs ngshare."""
import os
import sys
from pathlib import Path

from tornado.httpserver import HTTPServer
from ngshare import ngshare

Path(sys.argv[1]).write_text(str(os.getpid()))
_listen = HTTPServer.listen
HTTPServer.listen = lambda self, port, address="": _listen(self, port, "127.0.0.1")
ngshare.main(sys.argv[2:])
