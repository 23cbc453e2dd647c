"""What a user step may return: the bare value, or a mapping keyed by its declared outputs."""

import textwrap

import pandas as pd
import pytest

from shipyard.errors import UserCodeError
from shipyard.pipeline.dag import Dag, StepNode
from shipyard.pipeline.runner import RunOptions, Runner, RunPlan
from shipyard.pipeline.task import user_outputs

FRAME = pd.DataFrame({"x": [1, 2]})


def _node(*outputs):
    return StepNode(name="mine", kind="user", impl="my_steps:make", outputs=outputs, user_code=True)


@pytest.mark.parametrize("value, expected", [
    (FRAME, {"frame": FRAME}),
    ({"frame": FRAME}, {"frame": FRAME}),
    ({"rows": 2}, {"frame": {"rows": 2}}),
    (3, {"frame": 3}),
])
def test_one_output_takes_the_bare_value_or_a_mapping_of_its_name(value, expected):
    got = user_outputs(_node("frame"), value)
    assert list(got) == ["frame"]
    assert got["frame"] is expected["frame"] or got["frame"] == expected["frame"]


@pytest.mark.parametrize("value", [{"train": 1, "test": 2}, (1, 2)])
def test_several_outputs_take_a_mapping_or_a_tuple(value):
    assert user_outputs(_node("train", "test"), value) == {"train": 1, "test": 2}


@pytest.mark.parametrize("outputs, value, says", [
    (("frame",), {"frame": 1, "rows": 2}, "a dict with keys ['frame', 'rows']"),
    (("train", "test"), {"train": 1}, "missing ['test']"),
    (("train", "test"), {"train": 1, "test": 2, "tset": 3}, "undeclared ['tset']"),
    (("train", "test"), [1, 2], "a list"),
    (("train", "test"), (1, 2, 3), "a tuple of 3"),
])
def test_other_shapes_name_the_step_its_outputs_and_what_came_back(outputs, value, says):
    with pytest.raises(UserCodeError) as caught:
        user_outputs(_node(*outputs), value)
    message = caught.value.message
    assert "step 'mine' (my_steps:make)" in message
    assert f"declares outputs {list(outputs)}" in message
    assert says in message
    assert caught.value.hint


STEPS = textwrap.dedent('''
    import pandas as pd

    def keyed():
        return {"frame": pd.DataFrame({"x": [1, 2, 3]})}

    def bare():
        return pd.DataFrame({"x": [4, 5]})

    def unstorable():
        return {"df": pd.DataFrame({"x": [1]})}
''')


@pytest.fixture
def user_steps(tmp_path, monkeypatch, shipyard_home):
    (tmp_path / "ret_steps.py").write_text(STEPS)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _run(folder, fn):
    node = StepNode(name="make", kind="user", impl=f"ret_steps:{fn}", outputs=("frame",), user_code=True)
    plan = RunPlan(dag=Dag((node,)), pipeline="t", base_dir=folder)
    return Runner(plan, options=RunOptions(backoff_s=0.01)).run()


@pytest.mark.parametrize("fn, rows", [("keyed", 3), ("bare", 2)])
def test_a_step_returning_either_shape_stores_the_frame(user_steps, fn, rows):
    from shipyard.config import load_settings
    from shipyard.pipeline.artifacts import open_artifact_store
    from shipyard.pipeline.serialization import load_value

    result = _run(user_steps, fn)
    assert result.status == "succeeded", result.error
    frame = load_value(open_artifact_store(load_settings()),
                       {"digest": result.step("make").outputs["frame"], "format": "parquet"})
    assert len(frame) == rows


def test_an_unstorable_output_is_user_code_not_an_internal_error(user_steps):
    result = _run(user_steps, "unstorable")
    assert result.status == "failed"
    assert result.error_kind == "UserCodeError", result.error
    assert "step 'make'" in result.error and "a dict with keys ['df']" in result.error
    assert "declared outputs: ['frame']" in result.error
    assert "Traceback" not in result.error
