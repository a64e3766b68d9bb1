"""EvalData: the inputs (and optional labels) a config is evaluated on, as batched feeds.

    >>> data = from_sample(load_sample("digits_cnn"), "test")     # x, y of a bundled sample
    >>> data = from_npz("data.npz", loaded)                        # keys 'x' (or input names), optional 'y'
    >>> data = generated(loaded, n=64, seed=0)                     # no data at all: seeded normal inputs
    >>> data.feeds[0]["input"].shape, data.labels.shape, data.n

Batching: arrays are split along axis 0 into batches of 64 (or of the model's fixed batch
size, whose short last batch is dropped), as calibration feeds are (qviz.model.calibrate).

Generated inputs (documented defaults, seeded): standard-normal float values (integer inputs:
rint clipped to 0..3); a dynamic first dim is the batch (n samples in total), every other
dynamic dim is `dim_default` (8) unless named in `dims` ({"seq": 16}). They say nothing about
accuracy; they only make fidelity (float vs quantized on the same inputs) measurable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import helper

from ..model.calibrate import calibration_feeds
from ..model.simulate import as_loaded
from ..quant.spec import SpecError

DIM_DEFAULT = 8


@dataclass(frozen=True, eq=False)
class EvalData:
    """Batched feeds for onnxruntime plus labels (int64 [n]) or None; `source` says where from."""

    feeds: list
    labels: np.ndarray | None
    source: str

    @property
    def n(self) -> int:
        first = self.feeds[0] if self.feeds else {}
        return sum(len(next(iter(f.values()))) for f in self.feeds) if first else 0

    def head(self, n: int) -> "EvalData":
        """The first `n` samples (whole batches as long as they fit, then a cut one)."""
        feeds, labels, left = [], self.labels, n
        for f in self.feeds:
            if left <= 0:
                break
            feeds.append({k: v[:left] for k, v in f.items()})
            left -= len(next(iter(feeds[-1].values())))
        return EvalData(feeds, None if labels is None else labels[:n], f"{self.source}, first {n}")


def as_data(model, data) -> EvalData:
    """EvalData from: EvalData, a Sample (its test split), (x, y), x alone, or None (generated)."""
    if isinstance(data, EvalData):
        return data
    if data is None:
        return generated(model)
    if hasattr(data, "test") and hasattr(data, "model_bytes"):
        return from_sample(data, "test")
    if isinstance(data, tuple) and len(data) == 2:
        return from_arrays(model, data[0], data[1])
    return from_arrays(model, data)


def from_arrays(model, x, y=None, source: str = "arrays") -> EvalData:
    """x: one array (single-input model) or {input name: array}; y: labels or None."""
    proto = as_loaded(model).model
    feeds = calibration_feeds(proto, x if isinstance(x, dict) else np.asarray(x))
    if not feeds:
        raise SpecError("data has no samples (an empty x, or fewer than the model's fixed batch size)")
    data = EvalData(feeds, None, source)
    if y is not None:
        y = np.asarray(y).reshape(-1)[: data.n]
        if len(y) != data.n or y.dtype.kind not in "iu":
            raise SpecError(f"labels y must be integers, one per sample ({data.n}); got {y.dtype} [{len(y)}]")
        data = EvalData(feeds, y.astype(np.int64), source)
    return data


def from_sample(sample, split: str = "test") -> EvalData:
    """A bundled sample's split ('test' or 'calibration') with its labels."""
    if split not in ("test", "calibration"):
        raise SpecError(f"split must be test or calibration; got {split!r}")
    part = getattr(sample, split)
    return from_arrays(sample.model_bytes, part.x, part.y, f"sample {sample.id} ({split})")


def from_npz(path, model) -> EvalData:
    """An .npz with 'x' (single input) or one array per input name, and optionally 'y'."""
    loaded = as_loaded(model)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    names = [t.name for t in loaded.inputs]
    if len(names) == 1 and "x" in arrays:
        x = arrays["x"]
    elif all(n in arrays for n in names):
        x = {n: arrays[n] for n in names}
    else:
        raise SpecError(f"{path}: needs an array 'x' or one per input ({', '.join(names)}); has {', '.join(arrays) or 'none'}")
    return from_arrays(loaded, x, arrays.get("y"), f"file {path}")


def generated(model, n: int = 64, seed: int = 0, dims: dict | None = None, dim_default: int = DIM_DEFAULT) -> EvalData:
    """Seeded inputs from the input spec (rules in the module doc); no labels."""
    loaded = as_loaded(model)
    rng = np.random.default_rng(seed)
    inits = {t.name for t in loaded.model.graph.initializer}
    arrays = {}
    for v in (v for v in loaded.model.graph.input if v.name not in inits):
        tt = v.type.tensor_type
        shape = [_dim(d, i, n, dims or {}, dim_default) for i, d in enumerate(tt.shape.dim)]
        dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type)
        x = rng.standard_normal(shape)
        arrays[v.name] = (np.clip(np.rint(x), 0, 3) if dtype.kind in "iub" else x).astype(dtype)
    return from_arrays(loaded, arrays, None, f"generated (seed {seed}, n {n})")


def _dim(d, i: int, n: int, dims: dict, default: int) -> int:
    if d.HasField("dim_value"):  # a fixed batch dim: n rounded down to whole batches (at least one)
        return d.dim_value * max(1, n // d.dim_value) if i == 0 else d.dim_value
    if d.dim_param in dims:
        return int(dims[d.dim_param])
    return n if i == 0 else default
