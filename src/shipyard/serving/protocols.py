"""Request and response shapes: the Open Inference Protocol (KServe V2) and MLflow's /invocations."""

from __future__ import annotations

from typing import Any

import numpy as np

from shipyard.serving.errors import RequestError

_V2_NUMERIC = {"BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16", "FP32",
               "FP64"}


def _flatten(data: Any) -> list:
    if isinstance(data, list) and data and isinstance(data[0], list):
        return [v for row in data for v in _flatten(row)]
    return data if isinstance(data, list) else [data]


_BINARY_DTYPES = {"BOOL": "?", "INT8": "<i1", "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "UINT8": "<u1",
                  "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}


def split_binary_request(raw: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """The JSON part and the binary part of a request using the binary tensor data extension."""
    if header_length is None:
        return raw, b""
    if not header_length.isdigit() or int(header_length) > len(raw):
        raise RequestError(400, f"Inference-Header-Content-Length {header_length!r} does not fit the body")
    return raw[:int(header_length)], raw[int(header_length):]


def _decode_binary(datatype: str, chunk: bytes, name: str) -> list:
    if datatype == "BYTES":
        values, offset = [], 0
        while offset < len(chunk):
            if offset + 4 > len(chunk):
                raise RequestError(422, f"input '{name}': truncated BYTES element")
            size = int.from_bytes(chunk[offset:offset + 4], "little")
            values.append(chunk[offset + 4:offset + 4 + size].decode("utf-8", errors="replace"))
            offset += 4 + size
        return values
    try:
        return np.frombuffer(chunk, dtype=_BINARY_DTYPES[datatype]).tolist()
    except (KeyError, ValueError) as exc:
        raise RequestError(422, f"input '{name}': binary data does not decode as {datatype}: {exc}") from None


def v2_columns(body: Any, binary: bytes = b"") -> tuple[dict[str, list], list[str] | None]:
    """Columns from a V2 infer request (one named input tensor per feature), and requested output names.

    Tensors may carry their values in JSON ``data`` or, with the binary tensor data
    extension, as ``parameters.binary_data_size`` bytes of the binary part, in order.
    """
    offset = 0
    if isinstance(body, dict) and isinstance(body.get("inputs"), list):
        for tensor in body["inputs"]:
            size = ((tensor.get("parameters") or {}).get("binary_data_size") if isinstance(tensor, dict) else None)
            if size is not None:
                if offset + int(size) > len(binary):
                    raise RequestError(400, f"input '{tensor.get('name')}' declares {size} binary bytes past the "
                                            "end of the body")
                tensor["data"] = _decode_binary(str(tensor.get("datatype", "")).upper(),
                                                binary[offset:offset + int(size)], tensor.get("name"))
                offset += int(size)
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list) or not body["inputs"]:
        raise RequestError(400, "a V2 infer request needs a non-empty 'inputs' list")
    columns: dict[str, list] = {}
    problems = []
    for index, tensor in enumerate(body["inputs"]):
        if not isinstance(tensor, dict) or not {"name", "shape", "datatype", "data"} <= set(tensor):
            raise RequestError(400, f"inputs[{index}] needs name, shape, datatype and data")
        name, shape, datatype = tensor["name"], tensor["shape"], str(tensor["datatype"]).upper()
        data = _flatten(tensor["data"])
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            problems.append({"field": f"{name}.shape", "message": f"not a shape: {shape!r}"})
            continue
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            problems.append({"field": f"{name}.shape", "message": f"a feature tensor is [rows] or [rows, 1], got {shape}"})
            continue
        if int(np.prod(shape)) != len(data):
            problems.append({"field": f"{name}.data", "message": f"shape {shape} needs {int(np.prod(shape))} values, "
                                                                 f"got {len(data)}"})
            continue
        if datatype not in _V2_NUMERIC | {"BYTES"}:
            problems.append({"field": f"{name}.datatype", "message": f"unknown datatype {datatype}"})
            continue
        if datatype == "BYTES":
            data = [v.decode() if isinstance(v, bytes) else v for v in data]
        columns[name] = data
    if problems:
        raise RequestError(422, "the input tensors are malformed", problems)
    outputs = body.get("outputs")
    requested = [o.get("name") for o in outputs] if isinstance(outputs, list) else None
    return columns, requested


def _v2_datatype(values: np.ndarray) -> str:
    if values.dtype.kind == "b":
        return "BOOL"
    if values.dtype.kind in "iu":
        return "INT64"
    if values.dtype.kind == "f":
        return "FP64"
    return "BYTES"


def v2_outputs(outputs: dict[str, np.ndarray], requested: list[str] | None) -> list[dict[str, Any]]:
    names = list(outputs) if requested is None else requested
    unknown = [n for n in names if n not in outputs]
    if unknown:
        raise RequestError(400, f"unknown requested output(s) {unknown}; outputs are: {', '.join(outputs)}")
    result = []
    for name in names:
        values = outputs[name]
        datatype = _v2_datatype(values)
        data = values.astype(str).ravel().tolist() if datatype == "BYTES" else values.ravel().tolist()
        result.append({"name": name, "shape": list(values.shape), "datatype": datatype, "data": data})
    return result


def mlflow_columns(body: Any, order: list[str]) -> dict[str, list]:
    """Columns from an MLflow scoring payload: dataframe_split, dataframe_records, instances or inputs."""
    if not isinstance(body, dict):
        raise RequestError(400, "the body must be a JSON object with one of: dataframe_split, dataframe_records, "
                                "instances, inputs")
    keys = [k for k in ("dataframe_split", "dataframe_records", "instances", "inputs") if k in body]
    if len(keys) != 1:
        raise RequestError(400, "give exactly one of: dataframe_split, dataframe_records, instances, inputs")
    payload = body[keys[0]]
    if keys[0] == "dataframe_split":
        if not isinstance(payload, dict) or "data" not in payload:
            raise RequestError(400, "dataframe_split needs 'columns' and 'data'")
        names = payload.get("columns") or order
        rows = payload["data"]
        if not isinstance(rows, list) or any(not isinstance(r, list) or len(r) != len(names) for r in rows):
            raise RequestError(422, f"every row of dataframe_split.data must have {len(names)} values")
        return {name: [row[i] for row in rows] for i, name in enumerate(names)}
    if isinstance(payload, dict):
        return {k: v if isinstance(v, list) else [v] for k, v in payload.items()}
    if isinstance(payload, list) and all(isinstance(r, dict) for r in payload):
        names = list(dict.fromkeys(k for r in payload for k in r))
        return {n: [r.get(n) for r in payload] for n in names}
    if isinstance(payload, list) and all(isinstance(r, list) for r in payload):
        if any(len(r) != len(order) for r in payload):
            raise RequestError(422, f"every row must have {len(order)} values in the order: {', '.join(order)}")
        return {name: [row[i] for row in payload] for i, name in enumerate(order)}
    raise RequestError(400, f"'{keys[0]}' must be a list of records, a list of rows or a mapping of columns")
