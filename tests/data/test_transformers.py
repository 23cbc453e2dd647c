import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.base import clone

from shipyard.data.transformers import BucketizeTransformer, ClipTransformer, LogTransformer
from shipyard.errors import DataError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [0.0, 1.0, np.nan, 9.0], "b": [5, 0, 3, 100]})


def test_log_on_frames_and_arrays(frame):
    transformer = LogTransformer(offset=1.0).fit(frame)
    out = transformer.transform(frame)
    np.testing.assert_allclose(out[:, 0], [0.0, np.log(2), np.nan, np.log(10)])
    np.testing.assert_allclose(out[:, 1], np.log1p([5, 0, 3, 100]))
    assert transformer.get_feature_names_out().tolist() == ["a", "b"]
    array_out = LogTransformer(offset=2.0).fit_transform(frame.to_numpy())
    np.testing.assert_allclose(array_out[0], [np.log(2), np.log(7)])
    assert LogTransformer().fit(frame.to_numpy()).get_feature_names_out().tolist() == ["x0", "x1"]


def test_log_refuses_out_of_domain_values_when_fitting_and_gives_nan_after(frame):
    with pytest.raises(DataError, match=r"column\(s\) b have values <= -offset \(-1.0\), e.g. -3"):
        LogTransformer().fit(frame.assign(b=[5, -3, 0, 1]))
    fitted = LogTransformer().fit(frame)
    assert np.isnan(fitted.transform(pd.DataFrame({"a": [-5.0], "b": [1.0]}))[0, 0])


def test_clip(frame):
    out = ClipTransformer(min=1, max=8).fit_transform(frame)
    assert np.array_equal(out, [[1, 5], [1, 1], [np.nan, 3], [8, 8]], equal_nan=True)
    out = ClipTransformer(max=4).fit_transform(frame)
    assert out[:, 1].tolist() == [4, 0, 3, 4]
    with pytest.raises(ValueError, match="min, max or both"):
        ClipTransformer().fit(frame)


def test_bucketize_by_edges(frame):
    out = BucketizeTransformer(edges=[1, 5]).fit_transform(frame)
    assert np.array_equal(out, [[0, 2], [1, 0], [np.nan, 1], [2, 2]], equal_nan=True)
    with pytest.raises(ValueError, match="strictly increasing"):
        BucketizeTransformer(edges=[5, 1]).fit(frame)


def test_pandas_output_and_checks_on_columns(frame):
    out = ClipTransformer(min=0, max=10).set_output(transform="pandas").fit(frame).transform(frame)
    assert list(out.columns) == ["a", "b"]
    assert out["b"].tolist() == [5, 0, 3, 10]
    fitted = ClipTransformer(min=0).fit(frame)
    with pytest.raises(ValueError):
        fitted.transform(frame[["a"]])


def test_params_and_clone():
    transformer = ClipTransformer(min=-1, max=2)
    assert transformer.get_params() == {"min": -1, "max": 2}
    assert clone(LogTransformer(offset=3.0)).offset == 3.0


@pytest.mark.parametrize("transformer", [LogTransformer(offset=0.5), ClipTransformer(min=0, max=6),
                                         BucketizeTransformer(edges=[2.5])])
def test_skops_round_trip(transformer, frame):
    fitted = transformer.fit(frame.fillna(0))
    data = sio.dumps(fitted)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted == [f"shipyard.data.transformers.{type(transformer).__name__}"]
    loaded = sio.loads(data, trusted=untrusted)
    assert loaded.get_params() == fitted.get_params()
    assert loaded.feature_names_in_.tolist() == ["a", "b"]
    np.testing.assert_array_equal(loaded.transform(frame), fitted.transform(frame))
