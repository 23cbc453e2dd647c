"""LightGBM to ONNX in double precision, so that the compiled path takes the same branches LightGBM does.

onnxmltools' converter rounds inputs and split thresholds to float32; a value within
float32 rounding of a threshold (a charge of 95.23 next to a split at 95.2300001) then
takes the other branch, and a probability moves by up to the whole leaf. Here every
split compares in double (``nodes_values_as_tensor``), each tree writes its leaf to an
output of its own (one float32 rounding per leaf, not of the sum) and the trees are
added, and the link applied, in double — as LightGBM does.

Missing values follow LightGBM: a split whose ``missing_type`` is ``NaN`` sends NaN to its
default side; one whose ``missing_type`` is ``None`` treats NaN as 0. Categorical splits,
zero-as-missing splits that differ from ``0 <= threshold``, ``average_output`` (random
forest mode) and objectives with another link are not converted: the version stays on
LightGBM itself.
"""

from __future__ import annotations

import numpy as np

from shipyard.serving.onnx_converters import UnsupportedStep

_IDENTITY = frozenset({"regression", "regression_l1", "huber", "fair", "quantile", "mape"})
_EXPONENTIAL = frozenset({"poisson", "gamma", "tweedie"})


def convert_lightgbm(scope, operator, container) -> None:
    from onnx import TensorProto
    from skl2onnx.common.data_types import guess_proto_type

    model = operator.raw_operator
    best = getattr(model, "_best_iteration", None)
    dump = model.booster_.dump_model(num_iteration=best if best else -1)
    if dump.get("average_output"):
        raise UnsupportedStep("LightGBM in random forest mode (average_output)")
    objective, *settings = dump["objective"].split()
    outputs = dump["num_tree_per_iteration"]
    trees = dump["tree_info"]
    features = _input_as_double(scope, operator, container)

    per_tree = scope.get_unique_variable_name("per_tree")
    container.add_node("TreeEnsembleRegressor", [features], [per_tree], op_domain="ai.onnx.ml", op_version=3,
                       name=scope.get_unique_operator_name("TreeEnsembleRegressor"), **_ensemble(trees))
    per_tree_double = _node(scope, container, "Cast", [per_tree], "per_tree_double", to=TensorProto.DOUBLE)
    assignment = np.zeros((len(trees), outputs), dtype=np.float64)
    assignment[np.arange(len(trees)), np.arange(len(trees)) % outputs] = 1.0
    raw = _node(scope, container, "MatMul", [per_tree_double, _constant(scope, container, "assignment", assignment)],
                "raw")

    if not hasattr(model, "classes_"):
        if objective in _IDENTITY:
            prediction = raw
        elif objective in _EXPONENTIAL:
            prediction = _node(scope, container, "Exp", [raw], "prediction")
        else:
            raise UnsupportedStep(f"LightGBM objective '{objective}'")
        container.add_node("Cast", [prediction], [operator.outputs[0].full_name],
                           name=scope.get_unique_operator_name("Cast"), to=guess_proto_type(operator.outputs[0].type))
        return

    if objective == "binary":
        scale = float(next((s.split(":")[1] for s in settings if s.startswith("sigmoid:")), 1.0))
        scaled = _node(scope, container, "Mul", [raw, _constant(scope, container, "sigmoid", [scale])], "scaled")
        positive = _node(scope, container, "Sigmoid", [scaled], "positive")
        negative = _node(scope, container, "Sub", [_constant(scope, container, "one", [1.0]), positive], "negative")
        proba = _node(scope, container, "Concat", [negative, positive], "proba", axis=1)
    elif objective in ("multiclass", "softmax"):
        proba = _node(scope, container, "Softmax", [raw], "proba", axis=1)
    else:
        raise UnsupportedStep(f"LightGBM objective '{objective}'")
    container.add_node("Cast", [proba], [operator.outputs[1].full_name], name=scope.get_unique_operator_name("Cast"),
                       to=guess_proto_type(operator.outputs[1].type))
    best_class = _node(scope, container, "ArgMax", [proba], "best_class", axis=1, keepdims=0)
    container.add_node("Gather", [_classes(scope, container, model.classes_), best_class],
                       [operator.outputs[0].full_name], name=scope.get_unique_operator_name("Gather"), axis=0)


def _ensemble(trees: list[dict]) -> dict:
    """TreeEnsembleRegressor attributes: every split in double, one target (output column) per tree."""
    from onnx import numpy_helper

    nodes: dict[str, list] = {key: [] for key in ("treeids", "nodeids", "featureids", "modes", "values",
                                                  "truenodeids", "falsenodeids", "missing_value_tracks_true")}
    targets: dict[str, list] = {"treeids": [], "nodeids": [], "ids": [], "weights": []}

    for tree_id, tree in enumerate(trees):
        stack, next_id = [(tree["tree_structure"], 0)], 1
        while stack:
            node, node_id = stack.pop()
            nodes["treeids"].append(tree_id)
            nodes["nodeids"].append(node_id)
            if "leaf_value" in node:
                for key, value in (("featureids", 0), ("modes", "LEAF"), ("values", 0.0), ("truenodeids", 0),
                                   ("falsenodeids", 0), ("missing_value_tracks_true", 0)):
                    nodes[key].append(value)
                for key, value in (("treeids", tree_id), ("nodeids", node_id), ("ids", tree_id),
                                   ("weights", node["leaf_value"])):
                    targets[key].append(value)
                continue
            left, right, next_id = next_id, next_id + 1, next_id + 2
            for key, value in (("featureids", node["split_feature"]), ("modes", "BRANCH_LEQ"),
                               ("values", node["threshold"]), ("truenodeids", left), ("falsenodeids", right),
                               ("missing_value_tracks_true", int(_missing_goes_left(node)))):
                nodes[key].append(value)
            stack += [(node["right_child"], right), (node["left_child"], left)]

    attributes = {f"nodes_{key}": values for key, values in nodes.items() if key != "values"}
    attributes["nodes_values_as_tensor"] = numpy_helper.from_array(np.asarray(nodes["values"], dtype=np.float64))
    attributes.update({f"target_{key}": values for key, values in targets.items() if key != "weights"})
    attributes["target_weights_as_tensor"] = numpy_helper.from_array(np.asarray(targets["weights"], dtype=np.float64))
    return {**attributes, "n_targets": len(trees), "aggregate_function": "SUM", "post_transform": "NONE"}


def _missing_goes_left(split: dict) -> bool:
    if split["decision_type"] != "<=":
        raise UnsupportedStep("a LightGBM categorical split")
    as_zero = 0.0 <= split["threshold"]
    if split["missing_type"] == "NaN":
        return bool(split["default_left"])
    if split["missing_type"] == "Zero" and bool(split["default_left"]) != as_zero:
        raise UnsupportedStep("a LightGBM zero-as-missing split")
    return as_zero


def _input_as_double(scope, operator, container) -> str:
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType

    source = operator.inputs[0]
    if isinstance(source.type, DoubleTensorType):
        return source.full_name
    return _node(scope, container, "Cast", [source.full_name], "features", to=TensorProto.DOUBLE)


def _classes(scope, container, classes) -> str:
    classes = np.asarray(classes)
    if classes.dtype.kind in "iub":
        return _constant(scope, container, "classes", classes.astype(np.int64))
    if classes.dtype.kind in "OUS":
        from onnx import TensorProto

        name = scope.get_unique_variable_name("classes")
        container.add_initializer(name, TensorProto.STRING, [len(classes)], [str(c).encode() for c in classes])
        return name
    raise UnsupportedStep(f"LightGBM class labels of dtype {classes.dtype}")


def _constant(scope, container, name: str, values) -> str:
    from onnx import numpy_helper

    array = np.asarray(values)
    array = array.astype(np.float64) if array.dtype.kind == "f" else array
    variable = scope.get_unique_variable_name(name)
    container.add_initializer(variable, None, None, numpy_helper.from_array(array, variable))
    return variable


def _node(scope, container, op_type: str, inputs: list[str], name: str, **attrs) -> str:
    output = scope.get_unique_variable_name(name)
    container.add_node(op_type, inputs, [output], name=scope.get_unique_operator_name(op_type), **attrs)
    return output
