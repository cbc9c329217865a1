import json

import numpy as np
import pytest

from hepdl import results


def test_record_merges_and_converts(tmp_path):
    out = tmp_path / "r.json"
    results.record("auc", np.float64(0.91), path=out)
    results.record("n_events", np.int64(12), path=out)
    results.record("curve", np.array([1.0, 2.0]), path=out)
    results.record("auc", 0.95, path=out)
    assert json.loads(out.read_text()) == {"auc": 0.95, "n_events": 12, "curve": [1.0, 2.0]}


def test_path_from_environment_then_cwd(tmp_path, monkeypatch):
    monkeypatch.setenv(results.ENV_VAR, str(tmp_path / "env.json"))
    results.record("a", 1)
    assert results.load(tmp_path / "env.json") == {"a": 1}
    monkeypatch.delenv(results.ENV_VAR)
    monkeypatch.chdir(tmp_path)
    results.record("b", 2)
    assert results.load(tmp_path / "results.json") == {"b": 2}


@pytest.mark.parametrize("name", ["", "val auc", "1st", None])
def test_bad_names_are_rejected(tmp_path, name):
    with pytest.raises(ValueError, match="result name must be a Python identifier"):
        results.record(name, 1.0, path=tmp_path / "r.json")


@pytest.mark.parametrize("value", [float("nan"), np.inf])
def test_non_finite_values_are_rejected(tmp_path, value):
    with pytest.raises(ValueError, match="finite"):
        results.record("x", value, path=tmp_path / "r.json")


def test_unsupported_type_is_rejected(tmp_path):
    with pytest.raises(TypeError, match="got object"):
        results.record("x", object(), path=tmp_path / "r.json")


def test_corrupt_results_file_names_fix(tmp_path):
    out = tmp_path / "r.json"
    out.write_text("{not json")
    with pytest.raises(ValueError, match="delete it and run the notebook again"):
        results.record("x", 1, path=out)
