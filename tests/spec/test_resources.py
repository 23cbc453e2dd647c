"""A step's resources: GPUs whole or shared, GPU memory and model, expected duration, spot, priority."""

import textwrap

import pytest

from shipyard.errors import SpecError
from shipyard.spec import json_schema, parse_spec
from shipyard.spec._yaml import read_yaml

jsonschema = pytest.importorskip("jsonschema")

BASE = textwrap.dedent("""\
    name: etl
    steps:
      - name: fit
        function: 'etl:fit'
        resources: {resources}
""")


def resources_of(text: str):
    return parse_spec(BASE.format(resources=text)).spec.steps[0].resources


def schema_problems(text: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(json_schema())
    return [e.message for e in validator.iter_errors(read_yaml(BASE.format(resources=text), "pipeline.yaml")[0])]


def test_every_key_is_read_and_normalised():
    resources = resources_of("{cpu: 4, memory: 16GiB, gpu: 2, gpu_memory: 40GiB, gpu_type: [A100, H100], "
                             "expected_duration: 3h, spot: true, priority: batch-low}")
    assert (resources.gpu, resources.gpu_memory, resources.gpu_type) == (2, 40 * 2**30, ("A100", "H100"))
    assert (resources.expected_duration, resources.spot, resources.priority) == (3 * 3600, "allowed", "batch-low")
    assert schema_problems("{gpu: 2, gpu_type: A100, expected_duration: 3h, spot: true, priority: 500}") == []


def test_a_deadline_and_a_checkpoint_interval_are_read_as_seconds():
    resources = resources_of("{gpu: 1, spot: true, expected_duration: 2h, deadline: 6h, checkpoint_interval: 10m}")
    assert (resources.deadline, resources.checkpoint_interval) == (6 * 3600, 600)
    assert resources_of("{spot: required, deadline: 1h}").deadline == 3600, "spot only: no fallback to judge"
    assert resources_of("{deadline: 90m}").deadline == 5400
    assert schema_problems("{gpu: 1, spot: true, expected_duration: 2h, deadline: 6h, checkpoint_interval: 600}") == []


@pytest.mark.parametrize("text, gpu", [("{gpu: 0.25}", 0.25), ("{gpu: '250m'}", 0.25), ("{gpu: 1}", 1),
                                       ("{gpu: '1000m'}", 1), ("{gpu: 8}", 8), ("{}", 0)])
def test_gpu_is_whole_gpus_or_a_share_of_one_in_milli_gpus(text, gpu):
    assert resources_of(text).gpu == gpu
    assert schema_problems(text) == []


@pytest.mark.parametrize("text, says", [
    ("{gpu: 1.5}", "only a single GPU can be shared: ask for 1 or 2"),
    ("{gpu: 0.0005}", "finer than a milli-GPU"),
    ("{gpu: 9}", "outside 0 to 8"),
    ("{gpu: -1}", "outside 0 to 8"),
    ("{gpu: lots}", "'lots' is not a GPU amount"),
    ("{gpu: true}", "not true/false"),
    ("{gpu_type: A100}", "gpu_type set without gpu; add gpu: 1"),
    ("{gpu_memory: 16GiB}", "gpu_memory set without gpu"),
    ("{priority: bach}", "did you mean 'batch'?"),
    ("{priority: 7}", "priority 7 is not a priority class's number; use one of 1000 (serving)"),
    ("{expected_duration: soon}", "'soon' is not a duration"),
    ("{spot: maybe}", "spot"),
    ("{gpus: 1}", "gpus"),
    ("{expected_duration: 3h, deadline: 2h}", "expected_duration 3h is longer than deadline 2h: the step cannot be"),
    ("{spot: true, deadline: 8h}", "deadline with spot: allowed needs expected_duration"),
    ("{deadline: 0}", "a duration must be positive"),
    ("{checkpoint_interval: often}", "'often' is not a duration"),
])
def test_bad_resources_are_spec_errors_that_say_what_is_allowed(text, says):
    with pytest.raises(SpecError) as raised:
        resources_of(text)
    assert says in raised.value.message


@pytest.mark.parametrize("text", ["{gpu: 9}", "{gpu: lots}", "{priority: bach}", "{priority: 7}", "{gpus: 1}",
                                  "{spot: maybe}"])
def test_the_schema_rejects_what_the_loader_rejects(text):
    assert schema_problems(text)


@pytest.mark.parametrize("text, use, spot, spot_only", [
    ("{}", "never", False, False), ("{spot: false}", "never", False, False), ("{spot: true}", "allowed", True, False),
    ("{spot: allowed}", "allowed", True, False), ("{spot: required}", "required", True, True),
    ("{spot: never}", "never", False, False)])
def test_spot_is_allowed_required_or_never(text, use, spot, spot_only):
    from shipyard.pipeline.compile import compile_spec
    from shipyard.scheduling.model import task_for_step

    assert resources_of(text).spot == use and schema_problems(text) == []
    node = compile_spec(parse_spec(BASE.format(resources=text)).spec, spec_text="", spec_filename="p.yaml",
                        source_digest=None).node("fit")
    assert (node.resources.spot, node.resources.spot_only) == (spot, spot_only)
    task = task_for_step("fit", node.resources)
    assert (task.spot, task.spot_only) == (spot, spot_only)


def test_compiled_steps_carry_every_resource_key():
    from shipyard.pipeline.compile import compile_spec

    spec = parse_spec(BASE.format(resources="{gpu: '500m', gpu_type: T4, spot: true, priority: 0, "
                                            "expected_duration: 20m, gpu_memory: 8GiB}")).spec
    node = compile_spec(spec, spec_text="", spec_filename="p.yaml", source_digest=None).node("fit")
    resources = node.resources
    assert (resources.gpu, resources.gpu_types, resources.spot, resources.priority) == (0.5, ("T4",), True, "batch-low")
    assert (resources.expected_duration, resources.gpu_memory) == (1200, 8 * 2**30)
