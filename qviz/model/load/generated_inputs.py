"""Generated model inputs: seeded random values from each input's (name, dtype, shape).

    >>> from qviz.model import load_model
    >>> from qviz.samples import load_sample
    >>> loaded = load_model(load_sample("digits_cnn").model_bytes)
    >>> feed = generated_inputs(loaded.inputs, rows=64, seed=0)          # {input name: ndarray}
    >>> {name: (x.shape, str(x.dtype)) for name, x in feed.items()}
    {'input': ((64, 1, 8, 8), 'float32')}
    >>> generated_inputs([("ids", "int64", ["N", "seq"])], rows=4, dims={"seq": 16})["ids"].shape
    (4, 16)

The one place qviz invents inputs (evaluation without data, calibration without data, the
upload smoke run). Rules:
  - values: one standard-normal draw per input, in input order; integer and bool inputs get
    rint(draw) clipped to 0..3 (small valid indices/ids); then cast to the input's dtype;
  - first dim: dynamic -> `rows`; fixed d -> d * max(1, rows // d), whole batches of a fixed
    batch size (`one_batch=True`: just d);
  - every other dim: fixed as declared; dynamic -> `dims[name]` when its name is in `dims`
    (a named first dim too), else `dim_default` (DIM_DEFAULT = 8);
  - no shape at all -> a scalar; an unknown element type ('?') -> ModelError.
`inputs` items: TensorInfo, (name, dtype, shape) tuples or {"name", "dtype", "shape"} dicts
(symbolic dims are strings, unknown ones '?'). `seed`: an int, or a numpy Generator to draw
several feeds from one stream. They say nothing about accuracy: they make fidelity (float vs
quantized on the same inputs) and activation ranges measurable when nothing else is given.
"""

from __future__ import annotations

import numpy as np

from qviz.model.safety import ModelError

DIM_DEFAULT = 8


def generated_inputs(
    inputs,
    rows: int,
    seed: int | np.random.Generator = 0,
    *,
    dims: dict | None = None,
    dim_default: int = DIM_DEFAULT,
    one_batch: bool = False,
) -> dict[str, np.ndarray]:
    """One feed {input name: array} for `inputs` (rules in the module doc)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    feed = {}
    for name, dtype, shape in map(_triple, inputs):
        if dtype == "?":
            raise ModelError(f"input {name!r} has no element type: it cannot be fed")
        size = [_dim(d, i, rows, dims or {}, dim_default, one_batch) for i, d in enumerate(shape or ())]
        dtype = np.dtype(dtype)
        x = rng.standard_normal(size)
        feed[name] = (np.clip(np.rint(x), 0, 3) if dtype.kind in "iub" else x).astype(dtype)
    return feed


def _triple(info) -> tuple:
    if isinstance(info, dict):
        return info["name"], info["dtype"], info["shape"]
    if isinstance(info, tuple) and len(info) == 3 and not hasattr(info, "name"):
        return info
    return info.name, info.dtype, info.shape


def _dim(d, i: int, rows: int, dims: dict, default: int, one_batch: bool) -> int:
    if isinstance(d, int):  # NOTE: a fixed first dim is the batch: whole batches of it
        return d if i or one_batch or d < 1 else d * max(1, rows // d)
    if d in dims:
        return int(dims[d])
    return rows if i == 0 else default
