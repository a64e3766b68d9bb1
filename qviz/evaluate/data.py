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
Any data file a person has: `from_file(path, model, preprocess=..., tokenizer=...)` (a .npz, an
image folder or .zip, a .txt/.csv of text; qviz.model.load.data_files).

Labels: [N] (a class, or 0/1 for a binary output, per sample) or [N, T] for a sequence output
(a label per position; see accuracy.py).

Batching: qviz.model.load.batches, as calibration feeds are: batches of 64 along the batch axis,
or of the model's fixed batch size (1, 4...) whose short last batch is PADDED by repeating its
last row: every sample is evaluated, `pad` counts the extra rows and `join` drops their outputs.
A 0-d input (a sample rate) goes to every batch.

Generated inputs: qviz.model.load.model_inputs.model_inputs with rows=n (rules there and in
generated_inputs: seeded standard-normal floats; integers in [0, 100) or in the range of the
Gather they index; the batch dim is n samples in total; every other dynamic dim is `dim_default`
(8, or the first larger size the model runs on: a detector that needs multiples of 32 gets 32)
unless named in `dims` ({"seq": 16})). They only make fidelity (float vs quantized on the same
inputs) measurable.

.npz files: read by qviz.model.load.input_data.read_inputs_npz (the app's upload reader: sizes and .npy
headers checked before loading, decoded size and rows capped by NpzLimits (QVIZ_MAX_NPZ_MB, QVIZ_MAX_ROWS); keys "x" or the input name for a one-input model, else one
per input name; optional integer "y"; no other keys; ranks and fixed dims checked).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qviz.model import ModelError
from qviz.model.load.data_files import read_data_path
from qviz.model.load.generated_inputs import DIM_DEFAULT, free_dims
from qviz.model.load.input_data import MAX_BYTES, NpzLimits, read_inputs_npz
from qviz.model.load.model_inputs import fitting_dim, model_inputs
from qviz.model.simulate.calibrate import calibration_batches
from qviz.model.simulate.simulator import as_loaded
from qviz.quant.spec import SpecError

__all__ = [
    "DIM_DEFAULT",
    "EvalData",
    "as_data",
    "from_arrays",
    "from_file",
    "from_npz",
    "from_sample",
    "generated",
    "read_npz_file",
]


@dataclass(frozen=True, eq=False)
class EvalData:
    """Batched feeds for onnxruntime plus labels (int64 [n]) or None; `source` says where from."""

    feeds: list
    labels: np.ndarray | None
    source: str
    rows: tuple[int, ...] = ()  # rows per feed, padding included (() : the length of each feed's first array)
    pad: int = 0  # padding rows at the end of the last feed (a fixed batch size is never cut)

    @property
    def n(self) -> int:
        """Samples, padding excluded."""
        return sum(self._rows()) - self.pad

    def _rows(self) -> tuple[int, ...]:
        return self.rows or tuple(len(next(iter(f.values()))) if f else 0 for f in self.feeds)

    def head(self, n: int) -> EvalData:
        """The first `n` samples: whole batches; the rows of the last one past `n` count as padding
        (a batch is never cut, so a fixed batch size stays valid)."""
        rows = self._rows()
        k = next((i + 1 for i in range(len(rows)) if sum(rows[: i + 1]) >= n), len(rows))
        pad = max(0, sum(rows[:k]) - n)
        labels = None if self.labels is None else self.labels[:n]
        return EvalData(self.feeds[:k], labels, f"{self.source}, first {n}", rows[:k], pad)

    def join(self, parts: list[list[np.ndarray]]) -> list[np.ndarray]:
        """Per-feed outputs (parts[feed][output]) joined into one array per output, the padding
        rows dropped. An output's batch axis: the first whose size is the first feed's row count
        (axis 0 if none, e.g. [2, N, 128] states join on axis 1); 0-d outputs are stacked."""
        rows = self._rows()
        return [_join([p[i] for p in parts], rows, self.pad) for i in range(len(parts[0]) if parts else 0)]


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


def _join(parts: list[np.ndarray], rows: tuple[int, ...], pad: int) -> np.ndarray:
    """One output's per-feed arrays joined; a ModelError when they cannot be (an output whose
    shape follows the input VALUES, not the batch: the feeds' outputs differ in other dims)."""
    shapes = {p.shape for p in parts}
    if parts[0].ndim == 0 or len({p.ndim for p in parts}) > 1:
        if len(shapes) > 1:
            raise ModelError(f"a model output has different shapes in different batches: {sorted(shapes)[:3]}")
        return np.stack(parts)
    axis = next((a for a, size in enumerate(parts[0].shape) if size == rows[0]), 0)
    last = parts[-1]
    if pad and last.shape[axis] == rows[-1]:
        parts = [*parts[:-1], np.take(last, np.arange(rows[-1] - pad), axis=axis)]
    try:
        return np.concatenate(parts, axis=axis)
    except ValueError:
        raise ModelError(
            f"a model output has shapes that do not join across batches: {sorted(shapes)[:3]} "
            "(its shape depends on the input values, not only on the batch size)"
        ) from None


def from_arrays(model, x, y=None, source: str = "arrays") -> EvalData:
    """x: one array (single-input model) or {input name: array}; y: labels or None."""
    proto = as_loaded(model).model
    batches = calibration_batches(proto, x if isinstance(x, dict) else np.asarray(x))
    if not batches.feeds:
        raise SpecError("data has no samples (an empty x)")
    feeds = [{name: _frozen(v) for name, v in feed.items()} for feed in batches.feeds]
    data = EvalData(feeds, None, source, batches.rows, batches.pad)
    if y is not None:
        y = _labels(np.asarray(y))[: data.n]
        if len(y) != data.n or y.dtype.kind not in "iu":
            raise SpecError(f"labels y must be integers, one per sample ({data.n}); got {y.dtype} {list(y.shape)}")
        data = EvalData(feeds, y.astype(np.int64), source, batches.rows, batches.pad)
    return data


def _labels(y: np.ndarray) -> np.ndarray:
    """[N] labels, or [N, T] for a sequence (one per position); a column [N, 1] becomes [N]."""
    if y.ndim == 0:
        return y.reshape(1)
    y = y.reshape(len(y), -1)
    return y[:, 0] if y.shape[1] == 1 else y


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


def from_npz(path, model, max_bytes: int = MAX_BYTES, limits: NpzLimits | None = None) -> EvalData:
    """An .npz read by read_inputs_npz (key rules in the module doc); errors name `path`.
    `limits`: decoded bytes and rows (None: QVIZ_MAX_NPZ_MB / QVIZ_MAX_ROWS, checked from the
    .npy headers before anything is decoded, as for an upload)."""
    loaded = as_loaded(model)
    data = read_inputs_npz(read_npz_file(path, max_bytes), loaded.inputs, max_bytes, what=str(path), limits=limits)
    return from_arrays(loaded, data.x, data.y, f"file {path}")


def from_file(path, model, *, preprocess=None, tokenizer=None, classes=None, seq_len=None) -> EvalData:
    """A .npz, an image folder or .zip (with `preprocess`, `classes`), or a .txt/.csv of text (with
    `tokenizer`, a tokenizer.json path): qviz.model.load.data_files.read_data_path; errors name `path`."""
    loaded = as_loaded(model)
    options = {"preprocess": preprocess, "tokenizer": tokenizer, "classes": classes, "seq_len": seq_len}
    data = read_data_path(path, loaded.inputs, **options).data
    return from_arrays(loaded, data.x, data.y, f"file {path}")


def read_npz_file(path, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes, refused unread when it is larger than `max_bytes` (OSError if missing)."""
    size = Path(path).stat().st_size
    if size > max_bytes:
        raise SpecError(f"{path}: {size / 2**20:.0f} MiB; the limit is {max_bytes / 2**20:.0f} MiB")
    return Path(path).read_bytes()


def generated(model, n: int = 64, seed: int = 0, dims: dict | None = None, dim_default: int | None = None) -> EvalData:
    """Seeded inputs from the input spec (rules in the module doc); no labels. `dim_default`
    None: the first size the model runs on (qviz.model.load.model_inputs.fitting_dim)."""
    loaded = as_loaded(model)
    if dim_default is None:
        dim_default = fitting_dim(loaded, dims=dims)
    arrays = model_inputs(loaded, rows=n, seed=seed, dims=dims, dim_default=dim_default)
    free = free_dims(loaded.inputs, dims)
    sizes = f", {'/'.join(free)} = {dim_default}" if free else ""
    return from_arrays(loaded, arrays, None, f"generated (seed {seed}, n {n}{sizes})")
