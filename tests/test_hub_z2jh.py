"""deploy/z2jh/values.yaml: valid for the Zero to JupyterHub chart, and it holds the course's essentials.

The course's values are deep-merged over the chart's defaults and validated against the chart's
JSON schema (tests/hub/z2jh/, copied from jupyterhub/zero-to-jupyterhub-k8s, chart 5.5.0), the
check helm makes before it renders anything, offline.
"""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
VALUES = ROOT / "deploy" / "z2jh" / "values.yaml"
CHART = ROOT / "tests" / "hub" / "z2jh"


def _merge(base, over):
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@pytest.fixture(scope="module")
def values():
    return yaml.safe_load(VALUES.read_text())


def _validate(values):
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = yaml.safe_load((CHART / "values.schema.yaml").read_text())
    jsonschema.validate(_merge(defaults, values), schema)


def test_values_pass_the_chart_schema(values):
    _validate(values)


def test_schema_check_catches_a_typo(values):
    broken = copy.deepcopy(values)
    broken["singleuser"]["imagee"] = broken["singleuser"].pop("image")
    with pytest.raises(jsonschema.ValidationError):
        _validate(broken)


def test_values_hold_the_course_essentials(values):
    hub, single = values["hub"], values["singleuser"]
    assert hub["config"]["JupyterHub"]["authenticator_class"] == "github"
    gh = hub["config"]["GitHubOAuthenticator"]
    assert gh["allowed_organizations"] and "read:org" in gh["scope"], "login must be limited to an org"
    assert "client_secret" not in gh and "client_id" not in gh, "OAuth secrets must not be in the repository"
    assert hub["extraEnv"]["GITHUB_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"]["name"]
    assert "access:services!service=formgrader" in hub["loadRoles"]["instructor"]["scopes"]
    assert hub["loadRoles"]["instructor"]["groups"] == ["instructors"]
    assert values["cull"]["enabled"] is True and 0 < values["cull"]["timeout"] <= 4 * 3600
    assert single["memory"]["limit"] and single["cpu"]["limit"], "per-user limits are missing"
    slugs = {p["slug"]: p for p in single["profileList"]}
    assert {"cpu", "gpu"} <= set(slugs), f"CPU and GPU profiles expected, found {sorted(slugs)}"
    assert slugs["gpu"]["kubespawner_override"]["extra_resource_limits"]["nvidia.com/gpu"] == "1"
    nbconfig = single["extraFiles"]["nbgrader-config"]["stringData"]
    assert 'configureExchange(c, "http://proxy-public/services/ngshare")' in nbconfig
    disabled = single["extraFiles"]["student-lab-config"]["data"]["disabledExtensions"]
    assert disabled.get("@jupyter/nbgrader:formgrader") and disabled.get("@jupyter/nbgrader:create-assignment")


def test_the_exchange_is_ngshare_not_a_shared_volume(values):
    """Every user pod is uid 1000: a shared writable exchange folder would expose all submissions."""
    single = values["singleuser"]
    volumes = single["storage"].get("extraVolumes", []) + single.get("extraVolumes", [])
    mounts = single["storage"].get("extraVolumeMounts", []) + single.get("extraVolumeMounts", [])
    assert not [v for v in volumes if "persistentVolumeClaim" in v or "nfs" in v], volumes
    assert not [m for m in mounts if "exchange" in m["mountPath"] or "nbgrader" in m["mountPath"]], mounts
    nbconfig = single["extraFiles"]["nbgrader-config"]["stringData"]
    assert "Exchange.root" not in nbconfig and "from ngshare_exchange import configureExchange" in nbconfig
    ngshare = values["hub"]["services"]["ngshare"]
    assert ngshare["url"] == "http://ngshare:8080" and "api_token" not in ngshare and "apiToken" not in ngshare


def test_user_pods_cannot_reach_the_proxy_api_or_the_metadata_server(values):
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    merged = _merge(defaults, values)
    user = merged["singleuser"]["networkPolicy"]
    assert user["enabled"] is True
    rules = user["egressAllowRules"]
    # privateIPs covers the cluster (10/8, 172.16/12, 192.168/16): the proxy's API port among it
    assert rules["privateIPs"] is False and rules["cloudMetadataServer"] is False
    assert merged["singleuser"]["cloudMetadata"]["blockWithIptables"] is True
    assert merged["singleuser"]["cloudMetadata"]["ip"] == "169.254.169.254"
    # no extra egress rule may open the cluster's private ranges, the API port or the metadata server
    for rule in user.get("egress", []):
        ports = {p.get("port") for p in rule.get("ports", [])}
        assert not ports & {8001, "api"}, rule
        for to in rule.get("to", []):
            assert "ipBlock" not in to, f"an ipBlock egress rule defeats privateIPs: false: {rule}"
    assert user["interNamespaceAccessLabels"] == "ignore"
    proxy = merged["proxy"]["chp"]["networkPolicy"]
    assert proxy["enabled"] is True and proxy["interNamespaceAccessLabels"] == "ignore"
    assert "api" not in proxy["allowedIngressPorts"] and 8001 not in proxy["allowedIngressPorts"]
    assert not proxy.get("ingress"), "extra proxy ingress rules could admit user pods to the API port"
