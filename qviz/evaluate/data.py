"""EvalData: the inputs (and optional labels) a config is evaluated on, as batched feeds.

    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> data = from_sample(sample, "test")                 # x, y of a bundled sample
    >>> data.n, len(data.feeds), data.feeds[0]["input"].shape, data.labels.shape
    (360, 6, (64, 1, 8, 8), (360,))
    >>> data = generated(sample.model_bytes, n=64, seed=0)  # no data at all: seeded normal inputs
    >>> data.n, data.labels is None
    (64, True)

A file: `from_npz("data.npz", model)` (keys 'x' or the input names, optional 'y').

Batching: arrays are split along axis 0 into batches of 64 (or of the model's fixed batch
size, whose short last batch is dropped), as calibration feeds are (qviz.model.simulate.calibrate).

Generated inputs: qviz.model.load.generated_inputs.generated_inputs with rows=n (rules there: seeded
standard-normal values, integer inputs rint clipped to 0..3; a dynamic first dim is the batch,
n samples in total; every other dynamic dim is `dim_default` (8) unless named in `dims`
({"seq": 16})). They only make fidelity (float vs quantized on the same inputs) measurable.

.npz files: read by qviz.model.load.input_data.read_inputs_npz (the app's upload reader: sizes and .npy
headers checked before loading; keys "x" or the input name for a one-input model, else one
per input name; optional integer "y"; no other keys; ranks and fixed dims checked).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qviz.model.load.generated_inputs import DIM_DEFAULT, generated_inputs
from qviz.model.load.input_data import MAX_BYTES, read_inputs_npz
from qviz.model.simulate.calibrate import calibration_feeds
from qviz.model.simulate.simulator import as_loaded
from qviz.quant.spec import SpecError

__all__ = ["DIM_DEFAULT", "EvalData", "as_data", "from_arrays", "from_npz", "from_sample", "generated", "read_npz_file"]


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

    def head(self, n: int) -> EvalData:
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
    feeds = [{name: _frozen(v) for name, v in feed.items()} for feed in feeds]
    data = EvalData(feeds, None, source)
    if y is not None:
        y = np.asarray(y).reshape(-1)[: data.n]
        if len(y) != data.n or y.dtype.kind not in "iu":
            raise SpecError(f"labels y must be integers, one per sample ({data.n}); got {y.dtype} [{len(y)}]")
        data = EvalData(feeds, y.astype(np.int64), source)
    return data


def _frozen(x: np.ndarray) -> np.ndarray:
    """A read-only copy of a batch: fed again for every config, never changed, so the host of
    an isolated model keeps it instead of receiving it each time (qviz.worker.host)."""
    x = np.array(x)
    x.setflags(write=False)
    return x


def from_sample(sample, split: str = "test") -> EvalData:
    """A bundled sample's split ('test' or 'calibration') with its labels."""
    if split not in ("test", "calibration"):
        raise SpecError(f"split must be test or calibration; got {split!r}")
    part = getattr(sample, split)
    return from_arrays(sample.model_bytes, part.x, part.y, f"sample {sample.id} ({split})")


def from_npz(path, model, max_bytes: int = MAX_BYTES) -> EvalData:
    """An .npz read by read_inputs_npz (key rules in the module doc); errors name `path`."""
    loaded = as_loaded(model)
    data = read_inputs_npz(read_npz_file(path, max_bytes), loaded.inputs, max_bytes, what=str(path))
    return from_arrays(loaded, data.x, data.y, f"file {path}")


def read_npz_file(path, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes, refused unread when it is larger than `max_bytes` (OSError if missing)."""
    size = Path(path).stat().st_size
    if size > max_bytes:
        raise SpecError(f"{path}: {size / 2**20:.0f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
    return Path(path).read_bytes()


def generated(model, n: int = 64, seed: int = 0, dims: dict | None = None, dim_default: int = DIM_DEFAULT) -> EvalData:
    """Seeded inputs from the input spec (rules in the module doc); no labels."""
    loaded = as_loaded(model)
    arrays = generated_inputs(loaded.inputs, rows=n, seed=seed, dims=dims, dim_default=dim_default)
    return from_arrays(loaded, arrays, None, f"generated (seed {seed}, n {n})")
