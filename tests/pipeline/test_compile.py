"""From a spec to the DAG: a pipeline of only steps, and how a user step's settings are chosen."""

import textwrap

import pytest

from shipyard.errors import SpecError
from shipyard.pipeline.compile import compile_spec, user_modules
from shipyard.spec import parse_spec

STEPS_ONLY = textwrap.dedent("""\
    name: nightly
    retries: 1
    timeout: 10m
    resources: {cpu: 2}
    steps:
      - {name: extract, function: 'etl:extract'}
      - {name: load, function: 'etl:load', inputs: {rows: extract.result}, retries: 5}
""")


def compiled(text):
    return compile_spec(parse_spec(text).spec, spec_text=text, spec_filename="pipeline.yaml", source_digest=None)


def test_a_spec_without_a_model_compiles_to_its_steps_alone():
    dag = compiled(STEPS_ONLY)
    assert dag.topological_order() == ["extract", "load"]
    assert {node.kind for node in dag.nodes} == {"user"}
    assert user_modules(parse_spec(STEPS_ONLY).spec) == ("etl",)


def test_a_user_step_takes_its_own_settings_then_step_options_then_the_pipeline_defaults():
    text = STEPS_ONLY + "step_options:\n  extract: {retries: 3, timeout: 30s, resources: {cpu: 1}}\n  load: {retries: 0}\n"
    dag = compiled(text)
    extract, load = dag.node("extract"), dag.node("load")
    assert (extract.retries, extract.timeout, extract.resources.cpu) == (3, 30, 1)
    assert (load.retries, load.timeout, load.resources.cpu) == (5, 600, 2)


def test_step_options_cannot_rewire_a_user_step():
    with pytest.raises(SpecError, match="'extract' is your own step"):
        compiled(STEPS_ONLY + "step_options:\n  extract: {inputs: {rows: load.result}}\n")


def test_upstream_steps_of_a_spec_and_of_one_that_no_longer_compiles():
    from shipyard.pipeline.compile import upstream_steps

    assert upstream_steps(STEPS_ONLY) == {"extract": [], "load": ["extract"]}
    assert upstream_steps("name: nightly\nsteps: 3\n") is None
