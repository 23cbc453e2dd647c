"""The skops allow-list policy and byte-stable serialization."""

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from subprocess import Popen  # noqa: F401  (a foreign class a crafted file names through this module)

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import FunctionTransformer

from shipyard.errors import RefusedError
from shipyard.registry.trust import TRUSTED_MODULE_PREFIXES, dumps_safe, loads_safe, trusted_types_for

ROOT = Path(__file__).resolve().parents[2]


class HomeMadeTransformer(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def double(values):
    return values * 2


def _frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y", "z"], size=n)})
    return frame, rng.integers(0, 2, size=n)


def _lightgbm_pipeline(seed=0):
    from lightgbm import LGBMClassifier
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, y = _frame(seed=seed)
    features = ColumnTransformer([("n", StandardScaler(), ["a", "b"]), ("c", OneHotEncoder(), ["c"])])
    model = Pipeline([("f", features), ("e", LGBMClassifier(n_estimators=5, verbose=-1))])
    return model.fit(frame, y), frame


def _crafted(module, name, loader, payload) -> bytes:
    """A skops file whose root node is ``module.name`` loaded by ``loader`` from a skops-dumped payload."""
    import skops.io as sio

    inner = json.loads(zipfile.ZipFile(io.BytesIO(sio.dumps(payload))).read("schema.json"))
    schema = {"__class__": name, "__module__": module, "__loader__": loader, "content": inner,
              "protocol": inner.pop("protocol")}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
    return out.getvalue()


def test_lightgbm_pipeline_needs_only_allowed_types_and_round_trips():
    model, frame = _lightgbm_pipeline()
    data, trusted = dumps_safe(model)
    assert trusted == ["collections.OrderedDict", "lightgbm.basic.Booster", "lightgbm.sklearn.LGBMClassifier"]
    assert trusted_types_for(model) == trusted
    assert all(name.startswith(TRUSTED_MODULE_PREFIXES) for name in trusted)
    assert np.array_equal(loads_safe(data).predict_proba(frame), model.predict_proba(frame))


def test_xgboost_pipeline_round_trips():
    xgboost = pytest.importorskip("xgboost", reason="xgboost is an optional extra (pip install 'shipyard[xgboost]')")
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    frame, y = _frame()
    X = frame[["a", "b"]]
    model = Pipeline([("s", StandardScaler()), ("e", xgboost.XGBClassifier(n_estimators=5))]).fit(X, y)
    data, trusted = dumps_safe(model)
    assert trusted == ["xgboost.core.Booster", "xgboost.sklearn.XGBClassifier"]
    assert np.array_equal(loads_safe(data).predict_proba(X), model.predict_proba(X))
    assert dumps_safe(model)[0] == data


def test_equal_objects_give_equal_bytes():
    model, _ = _lightgbm_pipeline()
    refit, _ = _lightgbm_pipeline()
    first = dumps_safe(model)[0]
    assert dumps_safe(model)[0] == first
    assert dumps_safe(refit)[0] == first
    assert dumps_safe(_lightgbm_pipeline(seed=1)[0])[0] != first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_equal_objects_give_equal_bytes_in_another_process():
    model, _ = _lightgbm_pipeline()
    here = hashlib.sha256(dumps_safe(model)[0]).hexdigest()
    code = ("import hashlib, sys; sys.path.insert(0, sys.argv[1]); import test_trust as t; "
            "from shipyard.registry.trust import dumps_safe; "
            "print(hashlib.sha256(dumps_safe(t._lightgbm_pipeline()[0])[0]).hexdigest())")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    there = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], env=env, cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert there == here


def test_dict_keys_keep_their_order_and_types():
    value = {"b": 1, 2: "two", "a": [1.5, None], 3.5: {"file": "0.npy", "__id__": 7}}
    data, trusted = dumps_safe(value)
    loaded = loads_safe(data)
    assert loaded == value and list(loaded) == list(value) and trusted == []


def test_types_outside_the_policy_are_refused_unless_their_module_is_named():
    with pytest.raises(RefusedError, match=f"{__name__}.HomeMadeTransformer: its module is not on the allow-list"):
        dumps_safe(HomeMadeTransformer())
    data, trusted = dumps_safe(HomeMadeTransformer(), extra_modules=(__name__,))
    assert trusted == [f"{__name__}.HomeMadeTransformer"]
    with pytest.raises(RefusedError, match="HomeMadeTransformer") as caught:
        loads_safe(data)
    assert "module:function" in caught.value.hint
    assert isinstance(loads_safe(data, extra_modules=(__name__,)), HomeMadeTransformer)


def test_functions_may_be_referenced_from_allowed_modules():
    transformer = FunctionTransformer(double).fit(np.ones((3, 1)))
    with pytest.raises(RefusedError, match="double"):
        dumps_safe(transformer)
    data, trusted = dumps_safe(transformer, extra_modules=(__name__,))
    assert trusted == [f"{__name__}.double"]
    assert np.array_equal(loads_safe(data, extra_modules=(__name__,)).transform(np.ones((2, 1))), np.full((2, 1), 2))


def test_builtin_functions_are_refused_even_as_references():
    with pytest.raises(RefusedError, match="builtins.eval: only classes are allowed from builtins"):
        dumps_safe(FunctionTransformer(eval))


@pytest.mark.parametrize(("module", "name", "payload", "reason"), [
    ("builtins", "eval", ("1 + 1",), "only classes are allowed from builtins"),
    ("numpy.testing._private.utils", "runstring", ("x = 1", {}), "it is not a class"),
    ("numpy", "memmap", ("shipyard-memmap", "uint8", "w+", 0, (4,)), "would call it with arguments of its own"),
    ("sklearn.utils._show_versions", "platform", (), "it is not a class"),
    ("sklearn", "no_such_name", (), "cannot be imported"),
])
def test_crafted_files_calling_dangerous_things_are_refused(tmp_path, monkeypatch, module, name, payload, reason):
    import skops.io as sio

    monkeypatch.chdir(tmp_path)
    data = _crafted(module, name, "ConstructorFromReduceNode", payload)
    assert sio.get_untrusted_types(data=data) == [f"{module}.{name}"]
    with pytest.raises(RefusedError, match=reason):
        loads_safe(data)
    assert list(tmp_path.iterdir()) == []


def test_a_foreign_class_imported_into_an_allowed_module_is_refused(tmp_path, monkeypatch):
    import skops.io as sio

    monkeypatch.chdir(tmp_path)
    data = _crafted(__name__, "Popen", "ConstructorFromReduceNode", (["touch", "created"],))
    assert sio.get_untrusted_types(data=data) == [f"{__name__}.Popen"]
    with pytest.raises(RefusedError, match="subprocess.Popen, re-exported"):
        loads_safe(data, extra_modules=(__name__,))
    assert list(tmp_path.iterdir()) == []


def test_data_that_is_not_a_skops_file_is_refused():
    with pytest.raises(RefusedError, match="not a readable skops file"):
        loads_safe(b"not a zip file")
