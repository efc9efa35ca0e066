"""The plain-data format between the grader and the sandboxed worker (JSON, arrays as nested lists).

Nothing produced by student code is ever unpickled: the worker describes values with this format and
``decode`` rebuilds only numbers, strings, numpy arrays of numbers, lists, tuples and dicts; any other
object arrives as an ``Opaque`` description (its type name and the start of its repr).

Tags (a JSON object with one of these keys):

* ``{"__float__": "nan"}``: a non-finite float ("nan", "inf", "-inf")
* ``{"__ndarray__": {"dtype": "float64", "shape": [n, m], "data": [flat values]}}``, or with ``"b64"``
  instead of ``"data"``: the entries' little-endian bytes in base64 (numbers only, not bool; what the
  worker sends: half the size of JSON numbers and read without a Python loop), or ``"zb64"``: those bytes
  zlib-compressed, then base64 (the worker's large arrays, e.g. a judge's evaluation points, mostly
  repeats; decompressed to exactly the size the shape gives, never more)
* ``{"__npscalar__": {"dtype": "float64", "value": v}}``
* ``{"__str__": text, "length": n}`` (text possibly cut short; n is the full length)
* ``{"__list__": [...]}``, ``{"__tuple__": [...]}``, ``{"__dict__": [[key, value], ...]}``
* ``{"__object__": {"type": name, "repr": text}}`` (worker to grader only)

The worker sends back the judges' observations (``course_utils.judges.collect``) in this format; the grader
decodes them here and hands them to ``judges.decide``, which validates the rest.
"""

import base64
import binascii
import math
import zlib
from dataclasses import dataclass

import numpy as np

__all__ = ["SAFE_DTYPES", "MAX_ENTRIES", "WireError", "Opaque", "encode", "decode"]

#: dtypes the grader accepts back from the worker.
SAFE_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float16", "float32", "float64"}
MAX_ENTRIES = 1_000_000


class WireError(ValueError):
    """Data from the worker that does not follow the format (the worker is untrusted)."""


@dataclass(frozen=True)
class Opaque:
    """A value the student's code returned that is not plain data (kept only as a description).

    Attributes
    ----------
    type : str, the type's name
    repr : str, the start of its repr
    """

    type: str
    repr: str


def _float_out(x):
    x = float(x)
    return x if math.isfinite(x) else {"__float__": repr(x)}


def encode(value):
    """Wire form of an input the grader sends (numbers, strings, arrays, lists, tuples, dicts).

    Parameters
    ----------
    value : None, bool, int, float, str, numpy array or scalar of numbers, or list/tuple/dict of those

    Returns
    -------
    JSON-serialisable object

    Raises
    ------
    TypeError for any other type.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
        if kind not in "biuf":
            raise TypeError(f"cannot send an array of dtype {value.dtype}")
        data = [_float_out(v) if kind == "f" else v for v in value.reshape(-1).tolist()]
        return {"__ndarray__": {"dtype": str(value.dtype), "shape": list(value.shape), "data": data}}
    if isinstance(value, np.generic):
        item = value.item()
        return {"__npscalar__": {"dtype": str(value.dtype), "value": _float_out(item) if isinstance(item, float) else item}}
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _float_out(value)
    if isinstance(value, str):
        return {"__str__": value, "length": len(value)}
    if isinstance(value, list):
        return {"__list__": [encode(v) for v in value]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[encode(k), encode(v)] for k, v in value.items()]}
    raise TypeError(f"cannot send a {type(value).__name__} to the worker")


def _float_in(v):
    if isinstance(v, dict):
        text = v.get("__float__")
        if text not in ("nan", "inf", "-inf"):
            raise WireError(f"bad non-finite float {text!r}")
        return float(text)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise WireError(f"expected a number, got {type(v).__name__}")
    return float(v)


def _number_in(v, kind):
    if kind == "f":
        return _float_in(v)
    if kind == "b":
        if not isinstance(v, bool):
            raise WireError("expected a boolean")
        return v
    if isinstance(v, bool) or not isinstance(v, int):
        raise WireError("expected an integer")
    return v


def _array_in(spec):
    """A numpy array from its wire description, validated (dtype, shape, entries)."""
    if not isinstance(spec, dict) or spec.get("dtype") not in SAFE_DTYPES:
        raise WireError("array with an unsupported dtype")
    shape, data = spec.get("shape"), spec.get("data")
    if not (isinstance(shape, list) and len(shape) <= 32
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise WireError("array without a valid shape")
    kind = np.dtype(spec["dtype"]).kind
    if "b64" in spec and data is None:
        return _array_from_bytes(spec["b64"], spec["dtype"], shape)
    if "zb64" in spec and data is None:
        return _array_from_bytes(spec["zb64"], spec["dtype"], shape, compressed=True)
    if not isinstance(data, list):
        raise WireError("array without data")
    if math.prod(shape) != len(data) or len(data) > MAX_ENTRIES:
        raise WireError("array data does not match its shape")
    values = [_number_in(v, kind) for v in data]
    return np.array(values, dtype=spec["dtype"]).reshape(shape)


def _array_from_bytes(text, dtype, shape, compressed=False):
    """A numeric array from base64 of its little-endian bytes (zlib-compressed first when ``compressed``);
    sizes are checked before decoding, and decompression stops at the size the shape gives."""
    dtype = np.dtype(dtype).newbyteorder("<")
    count = math.prod(shape)
    size = count * dtype.itemsize
    if dtype.kind not in "iuf" or not isinstance(text, str) or count > MAX_ENTRIES:
        raise WireError("array bytes of an unsupported dtype or size")
    if (len(text) > 4 * ((size + 2) // 3) + 64) if compressed else (len(text) != 4 * ((size + 2) // 3)):
        raise WireError("array bytes do not match its shape")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
        if compressed:
            inflate = zlib.decompressobj()
            raw = inflate.decompress(raw, size + 1)
            if not inflate.eof or inflate.unconsumed_tail or inflate.unused_data:
                raise WireError("compressed array bytes do not match its shape")
    except (binascii.Error, UnicodeEncodeError, ValueError, zlib.error):
        raise WireError("array bytes are not base64 (of zlib data)") from None
    if len(raw) != size:
        raise WireError("array bytes do not match its shape")
    return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def decode(obj, depth=0):
    """Rebuild a value sent by the worker, validating it as untrusted input.

    Parameters
    ----------
    obj : object parsed from JSON

    Returns
    -------
    None, bool, int, float, str, ndarray, numpy scalar, list, tuple, dict or Opaque

    Raises
    ------
    WireError when ``obj`` does not follow the format.
    """
    if depth > 50:
        raise WireError("value nested too deeply")
    if obj is None or isinstance(obj, (bool, int, float)):
        return obj
    if not isinstance(obj, dict) or len(obj) not in (1, 2):
        raise WireError(f"unexpected {type(obj).__name__} in the worker's data")
    if "__float__" in obj:
        return _float_in(obj)
    if "__ndarray__" in obj:
        return _array_in(obj["__ndarray__"])
    if "__npscalar__" in obj:
        spec = obj["__npscalar__"]
        if not isinstance(spec, dict) or spec.get("dtype") not in SAFE_DTYPES:
            raise WireError("numpy scalar with an unsupported dtype")
        dtype = np.dtype(spec["dtype"])
        return dtype.type(_number_in(spec.get("value"), dtype.kind))
    if "__str__" in obj:
        if not isinstance(obj["__str__"], str):
            raise WireError("bad string")
        return obj["__str__"]
    if "__list__" in obj or "__tuple__" in obj:
        items = obj.get("__list__", obj.get("__tuple__"))
        if not isinstance(items, list):
            raise WireError("bad sequence")
        values = [decode(v, depth + 1) for v in items]
        return values if "__list__" in obj else tuple(values)
    if "__dict__" in obj:
        pairs = obj["__dict__"]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise WireError("bad dict")
        out = {}
        for k, v in pairs:
            key = decode(k, depth + 1)
            if not isinstance(key, (str, int, float, bool, type(None))):
                key = repr(key)
            out[key] = decode(v, depth + 1)
        return out
    if "__object__" in obj:
        spec = obj["__object__"]
        if not isinstance(spec, dict):
            raise WireError("bad object description")
        return Opaque(str(spec.get("type", "?"))[:200], str(spec.get("repr", ""))[:2000])
    raise WireError(f"unknown tag {sorted(obj)}")
