"""Generated model inputs: seeded random values from each input's (name, dtype, shape).

    >>> from qviz.model import load_model
    >>> from qviz.samples import load_sample
    >>> loaded = load_model(load_sample("digits_cnn").model_bytes)
    >>> feed = generated_inputs(loaded.inputs, rows=64, seed=0)          # {input name: ndarray}
    >>> {name: (x.shape, str(x.dtype)) for name, x in feed.items()}
    {'input': ((64, 1, 8, 8), 'float32')}
    >>> generated_inputs([("ids", "int64", ["N", "seq"])], rows=4, dims={"seq": 16})["ids"].shape
    (4, 16)
    >>> feed = generated_inputs([("x", "float32", ["batch", 512]), ("state", "float32", [2, "batch", 128]),
    ...                          ("sr", "int64", [])], rows=3)
    >>> [feed[k].shape for k in feed]                                       # a Silero-VAD-like signature
    [(3, 512), (2, 3, 128), ()]

The one place qviz invents inputs (evaluation without data, calibration without data, the
upload smoke run; qviz.model.load.model_inputs adds what the model itself tells). Rules:
  - values, one draw per input in input order: floats standard normal; integers uniform in
    [0, high) with `high[name]` if given, else TOKEN_HIGH (100: token ids, byte values, small
    indices; model_inputs passes the size of the Gather an input indexes); bools 0/1;
  - the batch dim: the first dim of the first input with a shape; a dim anywhere with the same
    symbolic name is that input's batch too (Silero's state [2, batch, 128]), else its first dim
    (qviz.model.load.batches.batch_axes). Dynamic -> `rows`; fixed d -> d * max(1, rows // d),
    whole batches of a fixed batch size (`one_batch=True`: just d);
  - every other dim: fixed as declared; dynamic -> `dims[name]` when its name is in `dims`
    (a named batch dim too), else `dim_default` (DIM_DEFAULT = 8);
  - no shape (a 0-d input, or an unknown shape) -> a 0-d array; an unknown element type ('?')
    -> ModelError.
`inputs` items: TensorInfo, (name, dtype, shape) tuples or {"name", "dtype", "shape"} dicts
(symbolic dims are strings, unknown ones '?'). `seed`: an int, or a numpy Generator to draw
several feeds from one stream. They say nothing about accuracy: they make fidelity (float vs
quantized on the same inputs) and activation ranges measurable when nothing else is given.
"""

from __future__ import annotations

import numpy as np

from qviz.model.load.batches import batch_axes, batch_name
from qviz.model.load.loader import TensorInfo
from qviz.model.safety import ModelError

DIM_DEFAULT = 8
TOKEN_HIGH = 100


def generated_inputs(
    inputs,
    rows: int,
    seed: int | np.random.Generator = 0,
    *,
    dims: dict | None = None,
    dim_default: int = DIM_DEFAULT,
    one_batch: bool = False,
    high: dict | None = None,
) -> dict[str, np.ndarray]:
    """One feed {input name: array} for `inputs` (rules in the module doc)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    infos = [_info(x) for x in inputs]
    flags = _batch_flags(infos)
    feed = {}
    for info in infos:
        if info.dtype == "?":
            raise ModelError(f"input {info.name!r} has no element type: it cannot be fed")
        shape = zip(info.shape or (), flags[info.name], strict=True)
        size = [_dim(d, is_batch, rows, dims or {}, dim_default, one_batch) for d, is_batch in shape]
        feed[info.name] = _values(rng, np.dtype(info.dtype), size, (high or {}).get(info.name, TOKEN_HIGH))
    return feed


def free_dims(inputs, dims: dict | None = None) -> list[str]:
    """The dynamic dims that `dim_default` sizes (not a batch dim, not named in `dims`), in order;
    an unnamed one is '?'. Empty: every generated size is known without running the model."""
    infos = [_info(x) for x in inputs]
    flags = _batch_flags(infos)
    free: list[str] = []
    for info in infos:
        for d, is_batch in zip(info.shape or (), flags[info.name], strict=True):
            if isinstance(d, str) and not is_batch and d not in (dims or {}) and (d == "?" or d not in free):
                free.append(d)
    return free


def _batch_flags(infos: list[TensorInfo]) -> dict[str, list[bool]]:
    """Per input, per dim: is it the batch (module doc)?"""
    axes, batch = batch_axes(infos), batch_name(infos)
    return {
        info.name: [
            i == axes.get(info.name) or (batch is not None and d == batch) for i, d in enumerate(info.shape or ())
        ]
        for info in infos
    }


def _values(rng: np.random.Generator, dtype: np.dtype, size: list[int], high: int) -> np.ndarray:
    if dtype.kind == "b":
        return np.asarray(rng.integers(0, 2, size)).astype(dtype)
    if dtype.kind in "iu":
        return np.asarray(rng.integers(0, max(1, int(high)), size)).astype(dtype)
    return np.asarray(rng.standard_normal(size)).astype(dtype)


def _info(x) -> TensorInfo:
    if isinstance(x, dict):
        name, dtype, shape = x["name"], x["dtype"], x["shape"]
    elif isinstance(x, tuple) and len(x) == 3 and not hasattr(x, "name"):
        name, dtype, shape = x
    else:
        name, dtype, shape = x.name, x.dtype, x.shape
    return TensorInfo(name, dtype, None if shape is None else tuple(shape))


def _dim(d, is_batch: bool, rows: int, dims: dict, default: int, one_batch: bool) -> int:
    if isinstance(d, int):  # NOTE: a fixed batch dim: whole batches of it
        return d * max(1, rows // d) if is_batch and not one_batch and d > 0 else d
    if d in dims:
        return int(dims[d])
    return rows if is_batch else default
