"""A loopback JupyterHub for tests/test_hub_ngshare.py: no proxy, no spawner, ngshare as a service.

Only the hub's REST API (tokens, /hub/api/user) and the managed ngshare service are used; users and
their API tokens are made by the test through the `test-admin` service.
"""
import os
import sys

from jupyterhub.proxy import Proxy


class NullProxy(Proxy):
    """Routes kept in memory: the test talks to the hub and to ngshare on their own ports."""

    _routes: dict = {}

    async def start(self):
        pass

    async def stop(self):
        pass

    async def add_route(self, routespec, target, data):
        self._routes[routespec] = {"routespec": routespec, "target": target, "data": data}

    async def delete_route(self, routespec):
        self._routes.pop(routespec, None)

    async def get_all_routes(self):
        return dict(self._routes)


c = get_config()  # noqa: F821
state = os.environ["NG_STATE"]
c.JupyterHub.proxy_class = NullProxy
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ["NG_PUBLIC_PORT"])
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ["NG_HUB_PORT"])
c.JupyterHub.db_url = f"sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{state}/jupyterhub_cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.services = [
    {"name": "ngshare", "url": f"http://127.0.0.1:{os.environ['NG_PORT']}",
     "command": [sys.executable, os.environ["NG_RUNNER"], f"{state}/ngshare.pid", "--admins", os.environ["NG_ADMIN"],
                 "--database", f"sqlite:///{state}/ngshare.db", "--storage", f"{state}/ngshare-files"]},
    {"name": "test-admin", "api_token": os.environ["NG_ADMIN_TOKEN"]},
]
c.JupyterHub.load_roles = [
    {"name": "test-admin", "scopes": ["admin:users", "tokens"], "services": ["test-admin"]},
]
