"""ONNX converters that skl2onnx lacks: shipyard's column-wise transformers, gradient-boosted trees, string imputers.

:func:`register` teaches skl2onnx (once per process) to convert

- the declarative ``log``, ``clip`` and ``bucketize`` transformers, keeping missing values missing as they do;
- LightGBM estimators in double precision (:mod:`shipyard.serving.onnx_lightgbm`), XGBoost estimators through
  onnxmltools' converter (XGBoost itself compares in float32);
- a ``SimpleImputer`` over numbers in double precision (ONNX Runtime's ``Imputer`` is float32 only), and
  one over strings whose missing value is NaN (what pandas reads a missing text cell as): on the compiled path
  a missing string is fed as :data:`MISSING_STRING`, the imputer's marker for it;
- scikit-learn's decision trees and their ensembles in a double-precision graph with their input rounded to
  float32 first, as scikit-learn rounds it before comparing with their (float32-derived) thresholds;
- scikit-learn's histogram gradient boosting (no categorical splits) through skl2onnx's converter, comparing the
  double-precision features as scikit-learn does and casting the ensemble's float32 answer back to double;
- a ``OneHotEncoder`` with ``handle_unknown="infrequent_if_exist"`` (or ``"warn"``) that found no infrequent
  category, which then encodes an unknown category as all zeros, like ``"ignore"``.

Every conversion is still verified against scikit-learn before it is used (see :mod:`shipyard.serving.compiled`).
"""

from __future__ import annotations

import copy
import threading

import numpy as np

MISSING_STRING = "\x00missing"  # what a missing value of a string column is fed to ONNX Runtime as

_registered = False
_lock = threading.Lock()


class UnsupportedStep(Exception):
    """A fitted step that no converter here expresses exactly: the version stays on scikit-learn."""


def register() -> None:
    """Register every converter below with skl2onnx; later calls do nothing."""
    global _registered
    with _lock:
        if _registered:
            return
        from skl2onnx import update_registered_converter
        from skl2onnx.operator_converters.imputer_op import convert_sklearn_imputer
        from skl2onnx.operator_converters.one_hot_encoder import convert_sklearn_one_hot_encoder
        from skl2onnx.shape_calculators.imputer import calculate_sklearn_imputer_output_shapes
        from skl2onnx.shape_calculators.one_hot_encoder import calculate_sklearn_one_hot_encoder_output_shapes
        from sklearn.impute import SimpleImputer
        from sklearn.preprocessing import OneHotEncoder

        from shipyard.data.transformers import BucketizeTransformer, ClipTransformer, LogTransformer

        def convert_imputer(scope, operator, container):
            from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

            imputer = operator.raw_operator
            if isinstance(operator.inputs[0].type, DoubleTensorType) and _is_missing_marker(imputer.missing_values):
                _convert_double_imputer(scope, operator, container)
                return
            if isinstance(operator.inputs[0].type, StringTensorType) and not isinstance(imputer.missing_values, str):
                if not _is_missing_marker(imputer.missing_values):
                    raise UnsupportedStep(f"a string imputer for missing value {imputer.missing_values!r}")
                operator.raw_operator = copy.copy(imputer)
                operator.raw_operator.missing_values = MISSING_STRING
            convert_sklearn_imputer(scope, operator, container)

        def convert_one_hot_encoder(scope, operator, container):
            encoder = operator.raw_operator
            infrequent = getattr(encoder, "infrequent_categories_", None) or []
            if encoder.handle_unknown in ("infrequent_if_exist", "warn") and all(c is None for c in infrequent):
                operator.raw_operator = copy.copy(encoder)
                operator.raw_operator.handle_unknown = "ignore"
            convert_sklearn_one_hot_encoder(scope, operator, container)

        update_registered_converter(SimpleImputer, "SklearnImputer", calculate_sklearn_imputer_output_shapes,
                                    convert_imputer)
        update_registered_converter(OneHotEncoder, "SklearnOneHotEncoder",
                                    calculate_sklearn_one_hot_encoder_output_shapes, convert_one_hot_encoder)
        for transformer, converter in ((LogTransformer, _convert_log), (ClipTransformer, _convert_clip),
                                       (BucketizeTransformer, _convert_bucketize)):
            update_registered_converter(transformer, f"Shipyard{transformer.__name__}", _same_shape, converter)
        _register_boosters(update_registered_converter)
        _register_sklearn_trees()
        _register_histogram_boosting()
        _registered = True


def _is_missing_marker(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _register_boosters(update_registered_converter) -> None:
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    try:
        from lightgbm import LGBMClassifier, LGBMRegressor

        from shipyard.serving.onnx_lightgbm import convert_lightgbm
    except ImportError:
        pass
    else:
        update_registered_converter(LGBMClassifier, "ShipyardLGBMClassifier",
                                    calculate_linear_classifier_output_shapes, convert_lightgbm,
                                    options=classifier_options)
        update_registered_converter(LGBMRegressor, "ShipyardLGBMRegressor", calculate_linear_regressor_output_shapes,
                                    convert_lightgbm)
    try:
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
        from xgboost import XGBClassifier, XGBRegressor
    except ImportError:
        return
    def convert_in_float32(scope, operator, container):
        _in_float32(scope, operator, container, convert_xgboost)

    update_registered_converter(XGBClassifier, "XGBoostXGBClassifier", calculate_linear_classifier_output_shapes,
                                convert_in_float32, options=classifier_options)
    update_registered_converter(XGBRegressor, "XGBoostXGBRegressor", calculate_linear_regressor_output_shapes,
                                convert_in_float32)


_SKLEARN_TREES = ("DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier", "ExtraTreeRegressor",
                  "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor",
                  "GradientBoostingClassifier", "GradientBoostingRegressor")


def _register_sklearn_trees() -> None:
    from skl2onnx.common._registration import get_converter, register_converter

    for name in _SKLEARN_TREES:
        alias = f"Sklearn{name}"
        original = get_converter(alias)
        register_converter(alias, _rounding_first(original), options=original.get_allowed_options(), overwrite=True)


def _rounding_first(original):
    def convert(scope, operator, container):
        if any(not np.isfinite(tree.threshold[tree.children_left >= 0]).all()
               for tree in _fitted_trees(operator.raw_operator)):
            raise UnsupportedStep("a decision tree that splits missing values from all others")
        _rounded_to_float32(scope, operator, container, original)

    return convert


_HISTOGRAM_BOOSTING = ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor")


def _register_histogram_boosting() -> None:
    """skl2onnx's own converters, fed integer flags: it marks a leaf's missing-value direction with a Python
    ``False``, which ONNX's attribute builder refuses in an integer list."""
    from skl2onnx.common._registration import get_converter, register_converter

    for name in _HISTOGRAM_BOOSTING:
        alias = f"Sklearn{name}"
        original = get_converter(alias)
        register_converter(alias, _with_integer_flags(original), options=original.get_allowed_options(),
                           overwrite=True)


def _with_integer_flags(original):
    def convert(scope, operator, container):
        from skl2onnx.common.data_types import DoubleTensorType

        if getattr(operator.raw_operator, "is_categorical_", None) is not None \
                and np.any(operator.raw_operator.is_categorical_):
            raise UnsupportedStep("histogram gradient boosting with categorical splits")
        if not isinstance(operator.inputs[0].type, DoubleTensorType):
            original(scope, operator, _TreeAttributes(container, double=False))
            return

        def in_double(scope, operator, container):  # thresholds kept in double: ai.onnx.ml 3's tensor attributes
            original._fct(scope, operator, container, op_version=3)

        # ONNX Runtime's tree ensembles compare doubles but answer in float32
        _in_float32(scope, operator, _TreeAttributes(container, double=True), in_double, narrow_inputs=False)

    return convert


class _TreeAttributes:
    """A container whose nodes get integer lists where a converter passed booleans and, with ``double``, their
    double-precision thresholds and weights as tensors (ONNX's float attributes are float32)."""

    _AS_TENSOR = ("nodes_values", "base_values", "target_weights", "class_weights", "nodes_hitrates")

    def __init__(self, container, *, double: bool):
        self._container, self._double = container, double

    def add_node(self, op_type, inputs, outputs, op_domain="", op_version=None, name=None, **attrs):
        from onnx import numpy_helper

        for key, value in list(attrs.items()):
            if isinstance(value, list) and any(isinstance(v, (bool, np.bool_)) for v in value):
                attrs[key] = [int(v) for v in value]
            elif self._double and key in self._AS_TENSOR and getattr(value, "dtype", None) == np.float64:
                del attrs[key]
                attrs[f"{key}_as_tensor"] = numpy_helper.from_array(value, name=f"{key}_as_tensor")
        return self._container.add_node(op_type, inputs, outputs, op_domain=op_domain, op_version=op_version,
                                        name=name, **attrs)

    def __getattr__(self, name: str):
        return getattr(self._container, name)


def _fitted_trees(model) -> list:
    """The ``tree_`` of a fitted decision tree or of every tree in a forest or gradient-boosting ensemble."""
    if hasattr(model, "tree_"):
        return [model.tree_]
    return [estimator.tree_ for estimator in np.asarray(model.estimators_, dtype=object).ravel()]


def _rounded_to_float32(scope, operator, container, convert) -> None:
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    source = operator.inputs[0]
    if not isinstance(source.type, DoubleTensorType):
        convert(scope, operator, container)
        return
    narrow = scope.declare_local_variable("float_features", FloatTensorType(source.type.shape))
    container.add_node("Cast", [source.full_name], [narrow.full_name], to=TensorProto.FLOAT,
                       name=scope.get_unique_operator_name("Cast"))
    rounded = scope.declare_local_variable("rounded_features", DoubleTensorType(source.type.shape))
    container.add_node("Cast", [narrow.full_name], [rounded.full_name], to=TensorProto.DOUBLE,
                       name=scope.get_unique_operator_name("Cast"))
    convert(scope, _Retyped(operator, [rounded], list(operator.outputs)), container)


class _Retyped:
    """``operator`` with other input and output variables, for a converter that only knows float32."""

    def __init__(self, operator, inputs: list, outputs: list):
        self._operator, self.inputs, self.outputs = operator, inputs, outputs

    @property
    def input_full_names(self) -> list[str]:
        return [variable.full_name for variable in self.inputs]

    @property
    def output_full_names(self) -> list[str]:
        return [variable.full_name for variable in self.outputs]

    def __getattr__(self, name: str):
        return getattr(self._operator, name)


def _in_float32(scope, operator, container, convert, *, narrow_inputs: bool = True) -> None:
    """Run a float32-only ``convert`` inside a double-precision graph: the features are cast to float32 (what
    XGBoost does to its input too; not with ``narrow_inputs=False``) and its numeric outputs back to double."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    source = operator.inputs[0]
    if not isinstance(source.type, DoubleTensorType):
        convert(scope, operator, container)
        return
    narrow = source
    if narrow_inputs:
        narrow = scope.declare_local_variable("float_features", FloatTensorType(source.type.shape))
        container.add_node("Cast", [source.full_name], [narrow.full_name], to=TensorProto.FLOAT,
                           name=scope.get_unique_operator_name("Cast"))
    outputs = []
    for output in operator.outputs:
        if isinstance(output.type, DoubleTensorType):
            float_output = scope.declare_local_variable(f"float_{output.onnx_name}", FloatTensorType(output.type.shape))
            outputs.append(float_output)
        else:
            outputs.append(output)
    convert(scope, _Retyped(operator, [narrow], outputs), container)
    for output, float_output in zip(operator.outputs, outputs):
        if float_output is not output:
            container.add_node("Cast", [float_output.full_name], [output.full_name], to=TensorProto.DOUBLE,
                               name=scope.get_unique_operator_name("Cast"))


def _same_shape(operator) -> None:
    """A column-wise transformer: as many output columns as input columns, of the input's type."""
    source = operator.inputs[0].type
    operator.outputs[0].type = source.__class__([source.shape[0], source.shape[1]])


def _input_dtype(operator):
    from skl2onnx.common.data_types import guess_numpy_type, guess_proto_type

    return guess_numpy_type(operator.inputs[0].type), guess_proto_type(operator.inputs[0].type)


def _constant(scope, container, name: str, values, dtype) -> str:
    from onnx import numpy_helper

    variable = scope.get_unique_variable_name(name)
    container.add_initializer(variable, None, None, numpy_helper.from_array(np.asarray(values, dtype=dtype), variable))
    return variable


def _node(scope, container, op_type: str, inputs: list[str], name: str, **attrs) -> str:
    output = scope.get_unique_variable_name(name)
    container.add_node(op_type, inputs, [output], name=scope.get_unique_operator_name(op_type), **attrs)
    return output


def _keep_missing(scope, container, source: str, values: str, output: str, dtype) -> None:
    """``output = NaN where source is NaN, else values``."""
    missing = _node(scope, container, "IsNaN", [source], "missing")
    nan = _constant(scope, container, "nan", np.nan, dtype)
    container.add_node("Where", [missing, nan, values], [output], name=scope.get_unique_operator_name("Where"))


def _convert_double_imputer(scope, operator, container) -> None:
    """``x`` where present, else the fitted statistic of its column; all in double."""
    imputer = operator.raw_operator
    source = operator.inputs[0].full_name
    statistics = np.asarray(imputer.statistics_, dtype=np.float64)
    if not imputer.keep_empty_features and np.isnan(statistics).any():
        raise UnsupportedStep("an imputer that drops its all-missing columns")
    missing = _node(scope, container, "IsNaN", [source], "missing")
    container.add_node("Where", [missing, _constant(scope, container, "statistics", statistics.reshape(1, -1),
                                                    np.float64), source],
                       [operator.outputs[0].full_name], name=scope.get_unique_operator_name("Where"))


def _convert_log(scope, operator, container) -> None:
    """``log(x + offset)``; NaN where ``x + offset <= 0`` (and where x is missing)."""
    dtype, _ = _input_dtype(operator)
    source = operator.inputs[0].full_name
    shifted = _node(scope, container, "Add", [source, _constant(scope, container, "offset",
                                                                operator.raw_operator.offset, dtype)], "shifted")
    positive = _node(scope, container, "Greater", [shifted, _constant(scope, container, "zero", 0, dtype)],
                     "positive")
    logarithm = _node(scope, container, "Log", [shifted], "log")
    container.add_node("Where", [positive, logarithm, _constant(scope, container, "nan", np.nan, dtype)],
                       [operator.outputs[0].full_name], name=scope.get_unique_operator_name("Where"))


def _convert_clip(scope, operator, container) -> None:
    dtype, _ = _input_dtype(operator)
    transformer = operator.raw_operator
    source = operator.inputs[0].full_name
    clipped = source
    if transformer.min is not None:
        clipped = _node(scope, container, "Max", [clipped, _constant(scope, container, "min", transformer.min, dtype)],
                        "clipped")
    if transformer.max is not None:
        clipped = _node(scope, container, "Min", [clipped, _constant(scope, container, "max", transformer.max, dtype)],
                        "clipped")
    _keep_missing(scope, container, source, clipped, operator.outputs[0].full_name, dtype)


def _convert_bucketize(scope, operator, container) -> None:
    """``np.digitize(x, edges)``: how many edges are <= x; missing stays missing."""
    dtype, _ = _input_dtype(operator)
    from onnx import TensorProto

    source = operator.inputs[0].full_name
    edges = _constant(scope, container, "edges", operator.raw_operator.edges, dtype)
    widened = _node(scope, container, "Unsqueeze", [source, _constant(scope, container, "axis", [2], np.int64)],
                    "widened")
    reached = _node(scope, container, "GreaterOrEqual", [widened, edges], "reached")
    counted = _node(scope, container, "Cast", [reached], "counted",
                    to=TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT)
    buckets = _node(scope, container, "ReduceSum", [counted, _constant(scope, container, "axes", [2], np.int64)],
                    "buckets", keepdims=0)
    _keep_missing(scope, container, source, buckets, operator.outputs[0].full_name, dtype)
