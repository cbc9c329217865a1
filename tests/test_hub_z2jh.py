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
    mounts = {m["mountPath"] for m in single["storage"]["extraVolumeMounts"]}
    claims = [v["persistentVolumeClaim"]["claimName"] for v in single["storage"]["extraVolumes"]]
    assert "/srv/nbgrader/exchange" in mounts and claims, "the shared nbgrader exchange volume is missing"
    nbconfig = single["extraFiles"]["nbgrader-config"]["stringData"]
    assert 'c.Exchange.root = "/srv/nbgrader/exchange"' in nbconfig
    disabled = single["extraFiles"]["student-lab-config"]["data"]["disabledExtensions"]
    assert disabled.get("@jupyter/nbgrader:formgrader") and disabled.get("@jupyter/nbgrader:create-assignment")
