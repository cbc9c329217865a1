"""A local stand-in for GitHub's OAuth and API endpoints, for JupyterHub tests on loopback.

oauthenticator's GitHubOAuthenticator with ``github_url=http://127.0.0.1:PORT`` asks it for:

- ``GET /login/oauth/authorize``: sends the browser back to ``redirect_uri`` with a code. The
  user who "logs in" is the ``login`` query parameter, else :attr:`MockGitHub.default_login`.
- ``POST /login/oauth/access_token``: trades the code for a token (PKCE is not checked).
- ``GET /api/v3/user``: the token's user.
- ``GET /api/v3/orgs/ORG/members/LOGIN``: 204 for a member, 404 otherwise.

>>> gh = MockGitHub(members={"school": {"alice"}})
>>> gh.is_member("school", "alice"), gh.is_member("school", "bob")
(True, False)
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

__all__ = ["MockGitHub"]


class MockGitHub:
    """Serve the mock on 127.0.0.1 in a background thread (``start``/``stop``)."""

    def __init__(self, members: dict[str, set[str]]):
        self.members = {org.lower(): {m.lower() for m in logins} for org, logins in members.items()}
        self.default_login = "nobody"
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    def is_member(self, org: str, login: str) -> bool:
        return login.lower() in self.members.get(org.lower(), set())

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "MockGitHub":
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):        # quiet
                pass

            def _reply(self, status, body=None, headers=()):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _login(self):
                auth = self.headers.get("Authorization", "")
                token = auth.split()[-1] if auth else ""
                return token[len("token-"):] if token.startswith("token-") else None

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                mock.requests.append(url.path)
                if url.path == "/login/oauth/authorize":
                    login = query.get("login", mock.default_login)
                    target = query["redirect_uri"] + "?" + urlencode({"code": login, "state": query.get("state", "")})
                    return self._reply(302, headers=[("Location", target)])
                login = self._login()
                if login is None:
                    return self._reply(401, {"message": "Bad credentials"})
                if url.path == "/api/v3/user":
                    return self._reply(200, {"login": login, "id": abs(hash(login)) % 10**6,
                                             "name": login.title(), "email": None})
                parts = url.path.strip("/").split("/")
                if len(parts) == 6 and parts[:3] == ["api", "v3", "orgs"] and parts[4] == "members":
                    return self._reply(204 if mock.is_member(parts[3], parts[5]) else 404)
                if len(parts) == 4 and parts[:3] == ["api", "v3", "user"] and parts[3] == "orgs":
                    return self._reply(200, [{"login": o} for o in mock.members if mock.is_member(o, login)])
                return self._reply(404, {"message": "Not Found"})

            def do_POST(self):
                url = urlparse(self.path)
                mock.requests.append(url.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(body).items()}
                if not form and body.startswith("{"):
                    form = json.loads(body)
                if url.path == "/login/oauth/access_token":
                    code = form.get("code") or parse_qs(url.query).get("code", [""])[0]
                    return self._reply(200, {"access_token": f"token-{code}", "token_type": "bearer",
                                             "scope": "read:org"})
                return self._reply(404, {"message": "Not Found"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
