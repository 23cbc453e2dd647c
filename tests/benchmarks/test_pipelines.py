import ast

from pipelines import STEPS, write_metaflow_flow, write_shipyard_pipeline
from shipyard.spec.loader import load_spec


def test_the_shipyard_side_is_a_steps_only_pipeline_yaml_with_ten_chained_user_steps(tmp_path):
    spec = load_spec(write_shipyard_pipeline(tmp_path)).spec
    assert spec.model is None and spec.data is None
    assert [s.name for s in spec.steps] == [f"s{i}" for i in range(STEPS)]
    assert [s.inputs for s in spec.steps[1:]] == [{"value": f"s{i}.result"} for i in range(STEPS - 1)]
    assert (tmp_path / "trivial_steps.py").exists()


def test_the_metaflow_side_is_a_linear_flow_of_ten_steps(tmp_path):
    tree = ast.parse(write_metaflow_flow(tmp_path).read_text())
    flow = next(node for node in tree.body if isinstance(node, ast.ClassDef))
    steps = [f for f in flow.body if isinstance(f, ast.FunctionDef)
             and any(getattr(d, "id", None) == "step" for d in f.decorator_list)]
    assert len(steps) == STEPS and steps[0].name == "start" and steps[-1].name == "end"
    targets = [node.args[0].attr for f in steps for node in ast.walk(f)
               if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "next"]
    assert targets == [f.name for f in steps[1:]]
