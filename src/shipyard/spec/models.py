"""Frozen, validated objects for the pipeline YAML.

Every model forbids unknown keys and is immutable; change one with
``model_copy(update=...)``. The JSON Schema that ``shipyard schema`` prints is
generated from these classes.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo,
                      WithJsonSchema, field_validator, model_validator)
from pydantic_core import PydanticCustomError

from shipyard.spec.scheduling_terms import GPU_MILLI, MAX_GPUS_PER_NODE, PRIORITY_CLASSES
from shipyard.spec.deployment import DeploymentSpec
from shipyard.spec.durations import Duration, format_duration, parse_duration  # noqa: F401  (part of this module's API)
from shipyard.spec.metrics import METRICS, Direction, metric_names
from shipyard.spec.monitoring import MonitoringSpec
from shipyard.spec.promotion import DirectedMetric, PromotionSpec
from shipyard.spec.schedule import Schedule

_IDENTIFIER = r"^[A-Za-z][A-Za-z0-9_\-]*$"
_FUNCTION_REF = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"
_SIZE_PATTERN = r"^\s*(\d+(?:\.\d+)?)\s*([KMGTkmgt][iI]?[bB]?|[bB])?\s*$"
_SIZE = re.compile(_SIZE_PATTERN)
_MILLI_GPU = re.compile(r"^\s*(\d+)\s*m\s*$")
_SIZE_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "ki": 1024, "kib": 1024, "m": 1e6, "mb": 1e6,
               "mi": 1024**2, "mib": 1024**2, "g": 1e9, "gb": 1e9, "gi": 1024**3,
               "gib": 1024**3, "t": 1e12, "tb": 1e12, "ti": 1024**4, "tib": 1024**4}

FunctionRef = Annotated[str, Field(pattern=_FUNCTION_REF,
                                   description="A user function as 'module:function'.")]


def parse_size(value: Any) -> int:
    """Bytes from a number or a string like '512MiB', '2GiB', '1G'."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        size = float(value)
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(f"'{value}' is not a memory size; use bytes or a string like '512MiB', '2GiB'")
        size = float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").lower()]
    if size < 0:
        raise ValueError("a memory size cannot be negative")
    return int(size)


def _did_you_mean(given: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(given, list(options), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


MemorySize = Annotated[int, BeforeValidator(parse_size), WithJsonSchema({
    "anyOf": [{"type": "integer", "minimum": 0},
              {"type": "string", "pattern": _SIZE_PATTERN, "examples": ["512MiB", "2GiB"]}]})]


def parse_gpu(value: Any) -> float:
    """GPUs from a number or a milli-GPU string: whole GPUs 1 to 8, or a share of one GPU in milli-GPU steps."""
    if isinstance(value, bool):
        raise ValueError("gpu is a number of GPUs, not true/false; e.g. 1, 0.5 or '500m'")
    if isinstance(value, str):
        match = _MILLI_GPU.match(value)
        if not match:
            raise ValueError(f"'{value}' is not a GPU amount; use a number (1, 2, 0.5) or milli-GPUs like '250m'")
        value = int(match.group(1)) / GPU_MILLI
    if not isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is not a GPU amount; use a number (1, 2, 0.5) or milli-GPUs like '250m'")
    milli = value * GPU_MILLI
    if value < 0 or value > MAX_GPUS_PER_NODE:
        raise ValueError(f"gpu {value:g} is outside 0 to {MAX_GPUS_PER_NODE} (the GPUs one node has)")
    if abs(milli - round(milli)) > 1e-6:
        raise ValueError(f"gpu {value:g} is finer than a milli-GPU; round it to 3 decimals")
    if value > 1 and value != int(value):
        raise ValueError(f"gpu {value:g} is more than one GPU but not a whole number; only a single GPU can be "
                         f"shared: ask for {int(value)} or {int(value) + 1}, or a share below 1")
    return round(milli) / GPU_MILLI


def parse_priority(value: Any) -> str:
    """A priority class name from its name or its number."""
    if isinstance(value, int) and not isinstance(value, bool):
        by_number = {number: name for name, number in PRIORITY_CLASSES.items()}
        if value in by_number:
            return by_number[value]
        raise ValueError(f"priority {value} is not a priority class's number; use one of "
                         + ", ".join(f"{number} ({name})" for name, number in PRIORITY_CLASSES.items()))
    if isinstance(value, str) and value in PRIORITY_CLASSES:
        return value
    raise ValueError(f"priority {value!r} is not a priority class{_did_you_mean(str(value), list(PRIORITY_CLASSES))}"
                     f"; use one of {', '.join(PRIORITY_CLASSES)} (or their numbers "
                     f"{', '.join(str(n) for n in PRIORITY_CLASSES.values())})")


def _gpu_types(value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError("gpu_type is a GPU model name or a list of them, e.g. A100 or [A100, H100]")
    return tuple(n.strip() for n in names)


GpuAmount = Annotated[float, BeforeValidator(parse_gpu), WithJsonSchema({
    "anyOf": [{"type": "number", "minimum": 0, "maximum": MAX_GPUS_PER_NODE},
              {"type": "string", "pattern": _MILLI_GPU.pattern, "examples": ["250m", "500m"]}]})]
GpuTypes = Annotated[tuple[str, ...], BeforeValidator(_gpu_types), WithJsonSchema({
    "anyOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string", "minLength": 1}}]})]
SPOT_USES = ("allowed", "required", "never")


def _spot_use(value: Any) -> Any:
    """``true``/``false`` are the short forms of ``allowed``/``never``."""
    return {True: "allowed", False: "never"}.get(value, value) if isinstance(value, bool) else value


SpotUse = Annotated[Literal["allowed", "required", "never"], BeforeValidator(_spot_use), WithJsonSchema({
    "anyOf": [{"enum": list(SPOT_USES)}, {"type": "boolean"}]})]
Priority = Annotated[str, BeforeValidator(parse_priority), WithJsonSchema({
    "anyOf": [{"enum": list(PRIORITY_CLASSES)}, {"enum": list(PRIORITY_CLASSES.values())}]})]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# ---------------------------------------------------------------- data sources


class CsvSource(_Spec):
    type: Literal["csv"]
    path: str = Field(description="File or glob, relative to the spec file.")
    delimiter: str = ","


class ParquetSource(_Spec):
    type: Literal["parquet"]
    path: str = Field(description="File or glob, relative to the spec file.")


class SqlSource(_Spec):
    type: Literal["sql"]
    url: str = Field(description="SQLAlchemy URL, e.g. postgresql+psycopg://host/db.")
    query: str


class DuckDBSource(_Spec):
    type: Literal["duckdb"]
    query: str = Field(description="DuckDB SQL; relative file paths resolve against the spec file.")
    database: str | None = Field(default=None, description="DuckDB database file; in-memory when omitted.")


DataSource = Annotated[Union[CsvSource, ParquetSource, SqlSource, DuckDBSource],
                       Field(discriminator="type")]


class DataSpec(_Spec):
    source: DataSource
    target: str
    timestamp: str | None = None


# ---------------------------------------------------------------- expectations

Dtype = Literal["int", "float", "number", "string", "bool", "datetime", "category"]


class ColumnExpectation(_Spec):
    dtype: Dtype | None = None
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    allowed: list[Any] | None = None
    unique: bool = False
    regex: str | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _bounds_ordered(self) -> ColumnExpectation:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class RowCount(_Spec):
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> RowCount:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class ExpectationsSpec(_Spec):
    on_violation: Literal["fail", "drop"] = "fail"
    row_count: RowCount | None = None
    columns: dict[str, ColumnExpectation] = Field(default_factory=dict)


# ---------------------------------------------------------------- split


class SplitSpec(_Spec):
    method: Literal["random", "stratified", "time"] = "stratified"
    holdout: float = Field(default=0.2, gt=0, lt=1, description="Share of rows held out.")
    seed: int = 42
    cutoff: str | None = Field(
        default=None,
        description="For method 'time': rows at or after this timestamp are held out. "
                    "Without it, the latest 'holdout' share of rows is held out.")

    @model_validator(mode="after")
    def _cutoff_only_for_time(self) -> SplitSpec:
        if self.cutoff is not None and self.method != "time":
            raise ValueError("'cutoff' applies only to method 'time'")
        if self.cutoff is not None:
            from datetime import datetime

            try:
                datetime.fromisoformat(self.cutoff)
            except ValueError:
                raise ValueError(f"cutoff '{self.cutoff}' is not an ISO date or timestamp, "
                                 "e.g. '2024-06-01' or '2024-06-01T12:00:00'") from None
        return self


# ---------------------------------------------------------------- features


class Impute(_Spec):
    kind: Literal["impute"]
    strategy: Literal["mean", "median", "most_frequent", "constant"] = "median"
    fill_value: Any = None


class Scale(_Spec):
    kind: Literal["scale"]
    method: Literal["standard", "minmax", "robust"] = "standard"


class OneHot(_Spec):
    kind: Literal["one_hot"]
    max_categories: int | None = Field(default=None, ge=2)
    min_frequency: float | None = Field(default=None, gt=0)


class Ordinal(_Spec):
    kind: Literal["ordinal"]
    categories: list[Any] | None = Field(default=None, description="Order of the categories; learned when omitted.")


class Log(_Spec):
    kind: Literal["log"]
    offset: float = Field(default=1.0, ge=0, description="Added before the logarithm (1 gives log1p).")


class Clip(_Spec):
    kind: Literal["clip"]
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> Clip:
        if self.min is None and self.max is None:
            raise ValueError("clip needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Bucketize(_Spec):
    kind: Literal["bucketize"]
    bins: int | list[float] = Field(default=5, description="Number of bins (at least 2), or explicit inner edges.")
    strategy: Literal["quantile", "uniform"] = "quantile"

    @field_validator("bins")
    @classmethod
    def _sensible(cls, value: int | list[float]) -> int | list[float]:
        if isinstance(value, int) and value < 2:
            raise ValueError("bins must be at least 2")
        if isinstance(value, list) and (not value or any(b >= a for a, b in zip(value[1:], value))):
            raise ValueError("explicit bin edges must be a non-empty, strictly increasing list")
        return value


class Passthrough(_Spec):
    kind: Literal["passthrough"]


class Drop(_Spec):
    kind: Literal["drop"]


Transform = Annotated[Union[Impute, Scale, OneHot, Ordinal, Log, Clip, Bucketize, Passthrough, Drop],
                      Field(discriminator="kind")]


class FeatureGroup(_Spec):
    name: str | None = Field(default=None, pattern=_IDENTIFIER)
    columns: list[str] = Field(min_length=1)
    transforms: list[Transform] = Field(default_factory=list)
    function: FunctionRef | None = Field(
        default=None, description="'module:function' returning an unfitted scikit-learn transformer.")

    @model_validator(mode="after")
    def _one_way(self) -> FeatureGroup:
        if self.function and self.transforms:
            raise ValueError("a feature group takes either 'transforms' or 'function', not both")
        if not self.function and not self.transforms:
            raise ValueError("a feature group needs 'transforms' (a list) or 'function' ('module:function')")
        return self


def _buildable_group(group: FeatureGroup) -> FeatureGroup:
    """Rules the feature transformer enforces when it is built, checked here so the YAML error has a position."""
    if group.name is not None and "__" in group.name:
        raise ValueError(f"group name '{group.name}' contains '__', which scikit-learn reserves")
    if len(group.transforms) > 1 and any(isinstance(t, Drop) for t in group.transforms):
        raise ValueError("'drop' must be the group's only transform; put the columns to drop in a group "
                         "of their own")
    return group


# ---------------------------------------------------------------- model and sweep

CLASSIFICATION_METRICS = metric_names("classification")
REGRESSION_METRICS = metric_names("regression")
LOWER_IS_BETTER = tuple(m.name for m in METRICS.values() if m.direction == "minimize")

Flavor = Literal["sklearn", "xgboost", "lightgbm"]


class ModelSpec(_Spec):
    flavor: Flavor
    estimator: str = Field(description="Class name (e.g. LGBMClassifier) or dotted path.")
    task: Literal["classification", "regression"] | None = Field(
        default=None, description="Inferred from the estimator when omitted.")
    params: dict[str, Any] = Field(default_factory=dict)


class FloatParam(_Spec):
    type: Literal["float"]
    low: float
    high: float
    log: bool = False
    step: float | None = None

    @model_validator(mode="after")
    def _range(self) -> FloatParam:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log-scaled range needs low > 0")
        return self


class IntParam(_Spec):
    type: Literal["int"]
    low: int
    high: int
    log: bool = False
    step: int = 1

    @model_validator(mode="after")
    def _range(self) -> IntParam:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log-scaled range needs low > 0")
        return self


class CategoricalParam(_Spec):
    type: Literal["categorical"]
    choices: list[Any] = Field(min_length=1)


SearchParam = Annotated[Union[FloatParam, IntParam, CategoricalParam], Field(discriminator="type")]


class SweepSpec(_Spec, DirectedMetric):
    n_trials: int = Field(default=20, ge=1)
    metric: str = Field(description="The metric the sweep optimizes, e.g. roc_auc or rmse.")
    direction: Direction | None = Field(
        default=None, description="Follows the metric when omitted (lower-is-better metrics such as rmse, mae, "
                                  "log_loss are minimized); a value that contradicts the metric is an error.")
    timeout: Duration | None = Field(default=None, description="Seconds (or '10m') for the whole sweep.")
    pruning: bool = True
    cv_folds: int = Field(default=3, ge=2, le=20)
    sampler_seed: int = 0
    space: dict[str, SearchParam] = Field(min_length=1)

    _judged_as: ClassVar[str] = "the sweep"


# ---------------------------------------------------------------- evaluation


class EvaluationSpec(_Spec):
    metrics: list[str] | None = Field(default=None, description="Defaults by task type.")
    slices: list[str] = Field(default_factory=list, description="Columns to compute per-value metrics on.")
    threshold: float = Field(default=0.5, gt=0, lt=1, description="Decision threshold for binary labels.")
    explain: bool = Field(default=False, description="Put feature importance (mean |SHAP| on a holdout sample), "
                                                     "overall and per slice, on the model card and keep the SHAP "
                                                     "values as an artifact of the version; needs shipyard[explain].")

    @field_validator("metrics")
    @classmethod
    def _known(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        known = metric_names()
        unknown = [m for m in value if m not in known]
        if unknown:
            hints = "".join(_did_you_mean(m, known) for m in unknown[:1])
            raise ValueError(f"unknown metric(s) {', '.join(unknown)}{hints} (allowed: {', '.join(known)})")
        return value


# ---------------------------------------------------------------- execution

BUILTIN_STEPS = ("ingest", "validate", "split", "features", "sweep", "train", "evaluate", "register", "gate")


class Resources(_Spec):
    cpu: float = Field(default=1, gt=0)
    memory: MemorySize = Field(default=0, description="Bytes, or a string like '2GiB'; 0 means no reservation.")
    gpu: GpuAmount = Field(default=0, description="Whole GPUs (1 to 8), or a share of one GPU: 0.25 or '250m'.")
    gpu_memory: MemorySize = Field(default=0, description="GPU memory the step needs, e.g. '16GiB'; 0: any.")
    gpu_type: GpuTypes = Field(default=(), description="GPU model(s) the step may run on, e.g. A100; empty: any.")
    expected_duration: Duration | None = Field(
        default=None, description="How long the step is expected to run, e.g. '2h': placement packs by it.")
    spot: SpotUse = Field(default="never", description="Preemptible (spot) capacity: allowed (spot or on-demand), "
                                                       "required (spot only) or never; true/false mean allowed/never.")
    priority: Priority = Field(default="batch", description="A priority class ("
                               + ", ".join(f"{name}={value}" for name, value in PRIORITY_CLASSES.items())
                               + "), by name or by its number.")
    deadline: Duration | None = Field(
        default=None, description="The step is to be done within this long of the run's start, e.g. '8h'. With "
                                  "spot: allowed, it leaves spot capacity for on-demand, for good, once its slack "
                                  "would not survive one more reclaim.")
    checkpoint_interval: Duration | None = Field(
        default=None, description="The longest the step runs between two checkpoints, e.g. '10m': the work one "
                                  "preemption can cost it. The built-in train step saves a boosted model at least "
                                  "this often; a function step keeps it with shipyard.checkpoint.save. None: a "
                                  "preemption may cost all the work done.")

    @model_validator(mode="after")
    def _gpu_details_need_a_gpu(self) -> Resources:
        given = [key for key in ("gpu_memory", "gpu_type") if getattr(self, key)]
        if given and not self.gpu:
            raise ValueError(f"{' and '.join(given)} set without gpu; add gpu: 1 (or a share such as 0.5), "
                             f"or drop {' and '.join(given)}")
        return self

    @model_validator(mode="after")
    def _deadline_can_be_met(self) -> Resources:
        if self.deadline is None:
            return self
        if self.expected_duration is not None and self.expected_duration > self.deadline:
            raise ValueError(f"expected_duration {format_duration(self.expected_duration)} is longer than deadline "
                             f"{format_duration(self.deadline)}: the step cannot be done in time; raise the deadline "
                             f"or correct expected_duration")
        if self.spot == "allowed" and self.expected_duration is None:
            raise ValueError("deadline with spot: allowed needs expected_duration, to know when the step must leave "
                             "spot capacity; add expected_duration (e.g. '2h'), or set spot: never")
        return self


_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class KubernetesSpec(_Spec):
    """Where the steps run under ``shipyard run --executor kubernetes`` and in ``shipyard k8s render``."""

    image: str | None = Field(default=None, min_length=1,
                              description="Container image with shipyard and your code; default: SHIPYARD_K8S_IMAGE.")
    namespace: str = Field(default="default", pattern=_DNS_LABEL)
    env_secret: str = Field(default="shipyard-stores", pattern=_DNS_LABEL,
                            description="Secret whose keys become the step's environment: SHIPYARD_DATABASE_URL, "
                                        "MLFLOW_TRACKING_URI and the like.")
    home_claim: str = Field(default="shipyard-home", pattern=_DNS_LABEL,
                            description="PersistentVolumeClaim mounted as SHIPYARD_HOME (the artifact store), "
                                        "shared by every step.")
    service_account: str | None = Field(default=None, pattern=_DNS_LABEL)


class StepOptions(_Spec):
    resources: Resources | None = None
    retries: int | None = Field(default=None, ge=0, le=20)
    timeout: Duration | None = Field(default=None, description="Seconds or a string like '15m'.")
    inputs: dict[str, str] | None = Field(
        default=None, description="Rewire a built-in step's input to 'step.output'.")


class UserStep(_Spec):
    name: str = Field(pattern=_IDENTIFIER, description="Any name but those of the built-in steps.")
    function: FunctionRef
    inputs: dict[str, str] = Field(default_factory=dict, description="Argument name -> 'step.output'.")
    outputs: list[str] = Field(default_factory=lambda: ["result"], min_length=1)
    params: dict[str, Any] = Field(default_factory=dict, description="Extra keyword arguments.")
    resources: Resources | None = None
    retries: int | None = Field(default=None, ge=0, le=20)
    timeout: Duration | None = Field(default=None, description="Seconds or a string like '15m'.")

    @field_validator("name")
    @classmethod
    def _not_builtin(cls, value: str) -> str:
        if value in BUILTIN_STEPS:
            raise ValueError(f"'{value}' is the name of a built-in step; choose another name "
                             f"(built-in steps: {', '.join(BUILTIN_STEPS)})")
        return value

    @field_validator("inputs")
    @classmethod
    def _references(cls, value: dict[str, str]) -> dict[str, str]:
        for arg, ref in value.items():
            if ref.count(".") != 1 or not all(ref.split(".")):
                raise ValueError(f"input '{arg}': '{ref}' is not a reference; write 'step.output'")
        return value


class RegistrySpec(_Spec):
    model_name: str | None = Field(default=None, description="Registered model name; the pipeline name when omitted.")
    tags: dict[str, str] = Field(default_factory=dict)


# ---------------------------------------------------------------- the pipeline


def _known_step(name: str, info: ValidationInfo) -> str:
    """A ``step_options`` key names a built-in step that will run, or a user step."""
    if any(field not in info.data for field in ("steps", "sweep", "model")):
        return name
    trains = info.data["model"] is not None
    steps = [s for s in BUILTIN_STEPS if trains and (s != "sweep" or info.data.get("sweep") is not None)
             and (s != "gate" or info.data.get("promotion") is not None)]
    steps += [s.name for s in info.data["steps"]]
    if name not in steps:
        why = (" (there is no 'model' section, so no built-in steps)" if not trains and name in BUILTIN_STEPS
               else " (there is no 'sweep' section)" if name == "sweep" else "")
        raise ValueError(f"no step named '{name}'{why}{_did_you_mean(name, steps)} (steps: {', '.join(steps)})")
    return name


MODEL_SECTIONS = ("data", "features", "model")
TRAINING_SECTIONS = ("expectations", "split", "sweep", "evaluation", "registry", "promotion", "deployment",
                  "monitoring")


class PipelineSpec(_Spec):
    name: str = Field(pattern=_IDENTIFIER, description="Also the registered model name by default.")
    team: str | None = None
    description: str | None = None
    data: DataSpec | None = Field(default=None, description="The training data. 'data', 'features' and 'model' "
                                                            "go together; a pipeline without them runs only "
                                                            "its 'steps' and registers nothing.")
    expectations: ExpectationsSpec = Field(default_factory=ExpectationsSpec)
    split: SplitSpec = Field(default_factory=SplitSpec)
    features: Annotated[list[Annotated[FeatureGroup, AfterValidator(_buildable_group)]],
                        Field(min_length=1)] | None = Field(
        default=None, description="Feature groups; required with 'model'.")
    model: ModelSpec | None = Field(default=None, description="The model to train and register; needs 'data' "
                                                              "and 'features'.")
    sweep: SweepSpec | None = None
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)
    registry: RegistrySpec = Field(default_factory=RegistrySpec)
    promotion: PromotionSpec | None = Field(default=None, description="Gates evaluated after registration, "
                                                                       "and how production is approved.")
    deployment: DeploymentSpec | None = Field(default=None, description="How a version that passed its gates "
                                                                         "is rolled out to live traffic.")
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec, description="How live traffic is compared "
                                                                                   "with the training data.")
    resources: Resources = Field(default_factory=Resources)
    retries: int = Field(default=0, ge=0, le=20)
    timeout: Duration | None = Field(default=None, description="Per-step timeout: seconds or '30m'.")
    steps: list[UserStep] = Field(default_factory=list, description="User steps ('module:function').")
    step_options: dict[Annotated[str, AfterValidator(_known_step)], StepOptions] = Field(
        default_factory=dict, description="Per-step resources, retries, timeout, inputs; keyed by step name.")
    kubernetes: KubernetesSpec | None = Field(default=None, description="Image, namespace and node pools of the "
                                                                         "steps when they run as Kubernetes Jobs.")
    schedule: Schedule | None = None
    catchup: bool = Field(default=False, description="With a schedule: whether a scheduler also runs the "
                                                     "intervals missed since the schedule's start.")

    @field_validator("split")
    @classmethod
    def _time_split_has_timestamp(cls, value: SplitSpec, info: ValidationInfo) -> SplitSpec:
        data = info.data.get("data")
        if value.method == "time" and data is not None and not data.timestamp:
            raise ValueError("split method 'time' needs 'data.timestamp' (the column to order rows by)")
        return value

    @field_validator("features")
    @classmethod
    def _unique_group_names(cls, value: list[FeatureGroup] | None) -> list[FeatureGroup] | None:
        if value is None:
            return value
        names = [group.name or f"group_{index}" for index, group in enumerate(value)]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"feature group names must be unique; repeated: {', '.join(repeated)} "
                             "(unnamed groups are called group_<position>)")
        return value

    @field_validator("steps")
    @classmethod
    def _unique_step_names(cls, value: list[UserStep]) -> list[UserStep]:
        names = [s.name for s in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"user step names must be unique; repeated: {', '.join(repeated)}")
        return value

    @model_validator(mode="after")
    def _trains_a_model_or_runs_steps(self) -> PipelineSpec:
        """'data', 'features' and 'model' come together; without them the pipeline is its own steps."""
        if self.model is not None:
            missing = [key for key in ("data", "features") if getattr(self, key) is None]
            if missing:
                raise _section_error(
                    "model", f"'model' needs {_listed(missing)}: a model is trained on "
                             "'data' through 'features'; add them, or remove 'model' to run only your 'steps'")
            return self
        given = [key for key in ("data", "features") if getattr(self, key) is not None]
        if given:
            absent = [key for key in MODEL_SECTIONS if key not in given]
            raise _section_error(
                given[0], f"{_listed(given)} without 'model': 'data', 'features' and 'model' describe a model to "
                          f"train and go together; add {_listed(absent)}, or remove {_listed(given)} and read "
                          "the data in a step of your own")
        training_only = [key for key in TRAINING_SECTIONS if key in self.model_fields_set]
        if training_only:
            raise _section_error(
                training_only[0], f"{_listed(training_only)} "
                                  f"{'applies' if len(training_only) == 1 else 'apply'} to a trained model, and "
                                  "this pipeline has no 'model'; remove "
                                  f"{'it' if len(training_only) == 1 else 'them'}, or add 'data', 'features' "
                                  "and 'model'")
        if not self.steps:
            raise _section_error("steps", "a pipeline without 'model' needs at least one step in 'steps'; "
                                          "or add 'data', 'features' and 'model' to train one")
        return self

    @property
    def trains_model(self) -> bool:
        """False for a pipeline of only user steps: no built-in steps run and nothing is registered."""
        return self.model is not None

    @property
    def model_name(self) -> str:
        return self.registry.model_name or self.name

    def task(self) -> str:
        """'classification' or 'regression', as declared or inferred from the estimator name."""
        if self.model is None:
            raise ValueError(f"pipeline '{self.name}' has no model, so no task")
        if self.model.task:
            return self.model.task
        name = self.model.estimator.rsplit(".", 1)[-1]
        if name.endswith(("Classifier", "Classification", "SVC")) or name == "LogisticRegression":
            return "classification"
        if name.endswith(("Regressor", "Regression", "SVR", "Lasso", "Ridge", "ElasticNet", "LassoLars", "Lars")):
            return "regression"
        return "classification"


def _section_error(key: str, message: str) -> PydanticCustomError:
    """An error about how the top-level sections combine, reported at ``key`` in the YAML."""
    return PydanticCustomError("pipeline_sections", "{message}", {"message": message, "key": key})


def _listed(keys: list[str]) -> str:
    quoted = [f"'{key}'" for key in keys]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"
