from sklearn.linear_model import LogisticRegression

from serving_fallback import churn_model
from shipyard.serving.compiled import sample_rows
from shipyard.serving.loaded import LoadedVersion
from shipyard.serving.numpy_features import try_numpy_features


def test_the_churn_examples_features_as_its_yaml_builds_them_take_the_numpy_path():
    model, signature, profile = churn_model(LogisticRegression(max_iter=300))
    assert {"plan", "contract", "region", "payment_method"} <= {c for c, kind in signature.items() if kind == "string"}
    assert profile["features"]["plan"]["categories"]
    loaded = LoadedVersion(model="churn", version="1", estimator=model, signature=signature)
    fast, reason = try_numpy_features(loaded, sample_rows(signature, profile))
    assert fast is not None, reason
