"""Turning the spec's feature groups into one unfitted scikit-learn ColumnTransformer.

Each group becomes one named branch over its columns: a Pipeline of its transforms,
``'passthrough'``, or the transformer its ``function`` returns. Groups whose only
transform is ``drop`` and columns named in no group are left out, so the fitted
transformer (and a model built on it) takes exactly :func:`feature_input_columns`.
"""

from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)

from shipyard.data.columns import check_columns
from shipyard.data.transformers import BucketizeTransformer, ClipTransformer, LogTransformer
from shipyard.data.usercode import call_user, resolve_function
from shipyard.errors import SpecError, UserCodeError
from shipyard.spec.models import (
    Bucketize,
    Clip,
    Drop,
    FeatureGroup,
    Impute,
    Log,
    OneHot,
    Ordinal,
    Passthrough,
    Scale,
)

_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}


def feature_input_columns(groups: list[FeatureGroup]) -> list[str]:
    """The columns the feature transformer reads, in first-mention order, each once."""
    return list(dict.fromkeys(column for group in groups if not _drops(group) for column in group.columns))


def build_feature_transformer(groups: list[FeatureGroup], *,
                              available_columns: list[str] | None = None) -> ColumnTransformer:
    if available_columns is not None:
        check_columns([c for g in groups for c in g.columns], list(available_columns),
                      where="features", fix="fix the column names under 'features', or the data source")
    names = _group_names(groups)
    branches = [(name, _branch(group, name), list(group.columns))
                for name, group in zip(names, groups) if not _drops(group)]
    if not branches:
        raise SpecError("every feature group drops its columns, so the model would get no features",
                        hint="give at least one group transforms other than 'drop'")
    return ColumnTransformer(branches, remainder="drop", sparse_threshold=0.0)


def _drops(group: FeatureGroup) -> bool:
    return bool(group.transforms) and all(isinstance(t, Drop) for t in group.transforms)


def _group_names(groups: list[FeatureGroup]) -> list[str]:
    names = [group.name or f"group_{index}" for index, group in enumerate(groups)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise SpecError(f"feature group names must be unique; repeated: {', '.join(repeated)}",
                        hint="rename the groups (unnamed groups are called group_<position>)")
    bad = [name for name in names if "__" in name]
    if bad:
        raise SpecError(f"feature group name(s) {', '.join(bad)} contain '__', which scikit-learn reserves",
                        hint="use single underscores or dashes in group names")
    return names


def _branch(group: FeatureGroup, name: str):
    if group.function:
        return _user_transformer(group.function, name)
    if any(isinstance(t, Drop) for t in group.transforms):
        raise SpecError(f"feature group '{name}': 'drop' must be the group's only transform",
                        hint="move the columns to drop into a group of their own, or just leave them out")
    steps: list[tuple[str, object]] = []
    for transform in group.transforms:
        if isinstance(transform, Passthrough):
            continue
        label = transform.kind if all(label != transform.kind for label, _ in steps) else \
            f"{transform.kind}_{len(steps)}"
        steps.append((label, _step(transform, group)))
    if not steps:
        return "passthrough"
    return Pipeline(steps)


def _step(transform, group: FeatureGroup):
    if isinstance(transform, Impute):
        return SimpleImputer(strategy=transform.strategy, fill_value=transform.fill_value,
                             keep_empty_features=True)
    if isinstance(transform, Scale):
        return _SCALERS[transform.method]()
    if isinstance(transform, OneHot):
        limited = transform.max_categories is not None or transform.min_frequency is not None
        return OneHotEncoder(handle_unknown="infrequent_if_exist" if limited else "ignore",
                             sparse_output=False, max_categories=transform.max_categories,
                             min_frequency=_min_frequency(transform.min_frequency))
    if isinstance(transform, Ordinal):
        categories = "auto" if transform.categories is None else \
            [list(transform.categories) for _ in group.columns]
        return OrdinalEncoder(categories=categories, handle_unknown="use_encoded_value", unknown_value=-1)
    if isinstance(transform, Log):
        return LogTransformer(offset=transform.offset)
    if isinstance(transform, Clip):
        return ClipTransformer(min=transform.min, max=transform.max)
    if isinstance(transform, Bucketize):
        if isinstance(transform.bins, list):
            return BucketizeTransformer(edges=list(transform.bins))
        quantile = {"quantile_method": "averaged_inverted_cdf"} if transform.strategy == "quantile" \
            and "quantile_method" in KBinsDiscretizer().get_params() else {}
        return KBinsDiscretizer(n_bins=transform.bins, encode="ordinal", strategy=transform.strategy, **quantile)
    raise SpecError(f"unknown transform kind '{transform.kind}'",
                    hint="use impute, scale, one_hot, ordinal, log, clip, bucketize, passthrough or drop")


def _min_frequency(value: float | None) -> float | int | None:
    if value is None or value < 1:
        return value
    return int(np.floor(value))


def _user_transformer(ref: str, name: str):
    transformer = call_user(resolve_function(ref))
    if isinstance(transformer, type) or not (hasattr(transformer, "fit") and hasattr(transformer, "transform")):
        what = f"the class {transformer.__name__}" if isinstance(transformer, type) else type(transformer).__name__
        raise UserCodeError(f"feature group '{name}': '{ref}' returned {what}, not a scikit-learn transformer "
                            "instance (an object with fit and transform)",
                            hint="return an unfitted instance, e.g. FunctionTransformer(np.log1p, "
                                 "feature_names_out='one-to-one')")
    return transformer
