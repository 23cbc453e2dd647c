"""From typed request bodies to feature columns, and from predictions to V2 output tensors."""

from __future__ import annotations

from itertools import chain
from typing import Any

import numpy as np

from shipyard.serving.errors import RequestError
from shipyard.serving.requests import MlflowRequest, V2InferRequest

_BINARY_DTYPES = {"BOOL": "?", "INT8": "<i1", "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "UINT8": "<u1",
                  "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}


def split_binary_request(raw: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON part and the binary part of a request using the binary tensor data extension."""
    if header_length is None:
        return raw, b""
    if not header_length.isdigit() or int(header_length) > len(raw):
        raise RequestError(400, "the binary tensor header does not fit the body",
                           [{"field": "inference-header-content-length",
                             "message": f"{header_length!r} is not a byte length within the body ({len(raw)} bytes)"}],
                           hint="send the byte length of the JSON part that starts the body")
    return raw[:int(header_length)], raw[int(header_length):]


def _decode_binary(datatype: str, chunk: bytes, field: str) -> list:
    """Values of one tensor's binary part; floats keep NaN (a missing value), as JSON null does."""
    if datatype == "BYTES":
        values, offset = [], 0
        while offset < len(chunk):
            size = int.from_bytes(chunk[offset:offset + 4], "little")
            if offset + 4 + size > len(chunk):
                raise RequestError(422, "a BYTES element runs past its tensor's binary data",
                                   [{"field": field, "message": f"element at byte {offset} declares {size} bytes; "
                                                               f"{len(chunk) - offset - 4} remain"}])
            values.append(chunk[offset + 4:offset + 4 + size].decode("utf-8", errors="replace"))
            offset += 4 + size
        return values
    itemsize = np.dtype(_BINARY_DTYPES[datatype]).itemsize
    if len(chunk) % itemsize:
        raise RequestError(422, "binary data does not decode as its datatype",
                           [{"field": field, "message": f"{len(chunk)} bytes is not a whole number of {datatype} "
                                                       f"values ({itemsize} bytes each)"}])
    return np.frombuffer(chunk, dtype=_BINARY_DTYPES[datatype]).tolist()


def _flat(data: list, shape: list[int]) -> list:
    """Row-major values of a [rows] or [rows, 1] tensor, given flat or as one-element rows."""
    if len(shape) == 2 and data and len(data) == shape[0] and set(map(type, data)) == {list} \
            and set(map(len, data)) == {1}:
        return list(chain.from_iterable(data))
    return data


def v2_columns(request: V2InferRequest, binary: bytes = b"") -> tuple[dict[str, list], list[str] | None]:
    """Columns from a V2 infer request (one named input tensor per feature), and requested output names.

    Tensors may carry their values in JSON ``data`` or, with the binary tensor data
    extension, as ``parameters.binary_data_size`` bytes of the binary part, in order.
    """
    columns: dict[str, list] = {}
    problems: list[dict[str, str]] = []
    offset = 0
    for index, tensor in enumerate(request.inputs):
        field = f"inputs[{index}]"
        size = tensor.parameters.binary_data_size if tensor.parameters is not None else None
        if size is not None:
            if tensor.data is not None:
                problems.append({"field": f"{field}.data", "message": "give data or parameters.binary_data_size, "
                                                                      "not both"})
                continue
            if offset + size > len(binary):
                raise RequestError(400, "a tensor's binary data runs past the end of the body",
                                   [{"field": f"{field}.parameters.binary_data_size",
                                     "message": f"{size} bytes from byte {offset}; the binary part has "
                                                f"{len(binary)}"}])
            data = _decode_binary(tensor.datatype, binary[offset:offset + size], f"{field}.parameters")
            offset += size
        elif tensor.data is None:
            problems.append({"field": f"{field}.data", "message": "missing (or set parameters.binary_data_size)"})
            continue
        else:
            data = _flat(tensor.data, tensor.shape)
        shape = tensor.shape
        if len(shape) == 2 and shape[1] != 1 or not shape:
            problems.append({"field": f"{field}.shape", "message": f"a feature tensor is [rows] or [rows, 1], "
                                                                   f"got {shape}"})
            continue
        if shape[0] != len(data):
            problems.append({"field": f"{field}.data", "message": f"shape {shape} needs {shape[0]} values, "
                                                                  f"got {len(data)}"})
            continue
        if tensor.name in columns:
            problems.append({"field": f"{field}.name", "message": f"input '{tensor.name}' is given twice"})
            continue
        columns[tensor.name] = data
    if offset < len(binary) and not problems:
        raise RequestError(400, "the binary part holds bytes that no tensor declares",
                           [{"field": "inputs", "message": f"{len(binary) - offset} bytes after the last tensor's "
                                                           "binary_data_size"}],
                           hint="set parameters.binary_data_size on each binary tensor")
    if problems:
        raise RequestError(422, "the input tensors are malformed", problems)
    requested = [o.name for o in request.outputs] if request.outputs is not None else None
    return columns, requested


def _v2_datatype(values: np.ndarray) -> str:
    if values.dtype.kind == "b":
        return "BOOL"
    if values.dtype.kind in "iu":
        return "INT64"
    if values.dtype.kind == "f":
        return "FP64"
    return "BYTES"


def check_requested(requested: list[str] | None, available: tuple[str, ...]) -> None:
    unknown = [n for n in requested or () if n not in available]
    if unknown:
        raise RequestError(422, "unknown requested output(s)",
                           [{"field": "outputs", "message": f"{', '.join(unknown)} not among: {', '.join(available)}"}])


def v2_outputs(outputs: dict[str, np.ndarray], requested: list[str] | None) -> list[dict[str, Any]]:
    result = []
    for name in list(outputs) if requested is None else requested:
        values = outputs[name]
        datatype = _v2_datatype(values)
        data = values.astype(str).ravel().tolist() if datatype == "BYTES" else values.ravel().tolist()
        result.append({"name": name, "shape": list(values.shape), "datatype": datatype, "data": data})
    return result


def mlflow_columns(request: MlflowRequest, order: list[str]) -> dict[str, list]:
    """Columns from an MLflow scoring payload: dataframe_split, dataframe_records, instances or inputs."""
    if request.dataframe_split is not None:
        split = request.dataframe_split
        names = split.columns if split.columns is not None else order
        if len(set(names)) != len(names):
            raise RequestError(422, "dataframe_split names a column twice",
                               [{"field": "dataframe_split.columns", "message": f"duplicates in {names}"}])
        return _from_rows(split.data, names, "dataframe_split.data")
    key, payload = next((k, getattr(request, k)) for k in ("dataframe_records", "instances", "inputs")
                        if getattr(request, k) is not None)
    if isinstance(payload, dict):
        return {k: v if isinstance(v, list) else [v] for k, v in payload.items()}
    if payload and isinstance(payload[0], list):
        return _from_rows(payload, order, key)
    names = list(dict.fromkeys(chain.from_iterable(payload)))
    return {n: [r.get(n) for r in payload] for n in names}


def _from_rows(rows: list[list], names: list[str], field: str) -> dict[str, list]:
    if not rows:
        return {name: [] for name in names}
    widths = set(map(len, rows))
    if widths != {len(names)}:
        row = next(i for i, r in enumerate(rows) if len(r) != len(names))
        raise RequestError(422, "rows of different widths",
                           [{"field": f"{field}[{row}]", "message": f"has {len(rows[row])} values; every row needs "
                                                                    f"{len(names)}: {', '.join(names)}"}])
    return dict(zip(names, map(list, zip(*rows))))
