"""Batches: the model's inputs split into the feeds onnxruntime runs (calibration and evaluation alike).

    >>> from qviz.model.load.loader import TensorInfo
    >>> infos = [TensorInfo("x", "float32", (4, 3)), TensorInfo("sr", "int64", ())]
    >>> b = split_batches(infos, {"x": np.arange(30.0).reshape(10, 3), "sr": np.array(16000)})
    >>> [f["x"].shape for f in b.feeds], b.rows, b.pad      # a fixed batch of 4: 10 rows -> 4 + 4 + 2 (+ 2 padding)
    ([(4, 3), (4, 3), (4, 3)], (4, 4, 4), 2)
    >>> b.feeds[2]["x"][:, 0].tolist(), int(b.feeds[2]["sr"])  # padding repeats the last row; sr goes to every feed
    ([24.0, 27.0, 27.0, 27.0], 16000)

Rules:
  - a 0-d array (a scalar input such as Silero VAD's sample rate `sr`) is shared: the same value
    in every feed; every other array is batched;
  - the batch axis: the first batched input's first dim is the batch; in another input, the axis
    with the same symbolic name is its batch axis (Silero's `state` [2, batch, 128]: axis 1),
    else axis 0 (`batch_axes`);
  - the batch size: that first dim when it is fixed (a model exported with batch 1 or 4), else
    `batch` (DEFAULT_BATCH = 64);
  - a fixed batch is never cut: the last chunk is PADDED to the full batch by repeating its last
    row, and `pad` counts those rows (their outputs are dropped, qviz.evaluate.data.EvalData.join);
    a dynamic batch just has a shorter last chunk (pad 0). No sample is dropped either way;
  - every batched input has the same number of rows along its batch axis (else a SpecError).
`inputs`: TensorInfo-likes (name, shape) of the model's fed inputs, in order; `arrays`: {name: array}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qviz.quant.spec import SpecError

DEFAULT_BATCH = 64


@dataclass(frozen=True, eq=False)
class Batches:
    """Feeds for onnxruntime; `rows`: rows per feed (padding included); `pad`: padding rows at the
    end of the last feed."""

    feeds: list[dict[str, np.ndarray]]
    rows: tuple[int, ...]
    pad: int

    @property
    def n(self) -> int:
        """Real samples (padding excluded)."""
        return sum(self.rows) - self.pad


def batch_name(inputs) -> str | None:
    """The symbolic name of the batch dim (the first dim of the first input with a shape), if it has one."""
    for info in inputs:
        if info.shape:
            first = info.shape[0]
            return first if isinstance(first, str) and first != "?" else None
    return None


def batch_axes(inputs) -> dict[str, int]:
    """Per input with at least one dim: its batch axis (module doc); 0-d inputs are left out."""
    name = batch_name(inputs)
    axes = {}
    for info in inputs:
        shape = tuple(info.shape) if info.shape is not None else None
        if shape == ():
            continue
        axes[info.name] = shape.index(name) if shape and name is not None and name in shape else 0
    return axes


def fixed_batch(inputs) -> int | None:
    """The batch size the model fixes (its first input's fixed first dim), else None."""
    for info in inputs:
        if info.shape:
            first = info.shape[0]
            return first if isinstance(first, int) and first > 0 else None
    return None


def split_batches(inputs, arrays: dict[str, np.ndarray], batch: int = DEFAULT_BATCH) -> Batches:
    """Split `arrays` into feeds (rules in the module doc)."""
    axes = {name: axis for name, axis in batch_axes(inputs).items() if np.ndim(arrays[name]) > 0}
    axes.update({k: 0 for k, v in arrays.items() if k not in axes and np.ndim(v) > 0})  # shape unknown
    shared = {k: v for k, v in arrays.items() if k not in axes}
    counts = {k: _rows(k, arrays[k], axis) for k, axis in axes.items()}
    if len(set(counts.values())) > 1:
        raise SpecError(f"every input needs the same number of rows; got {counts}")
    n = next(iter(counts.values()), 1)
    fixed = fixed_batch(inputs)
    size = fixed or batch
    feeds, rows = [], []
    for start in range(0, n, size):
        stop = min(start + size, n)
        take = np.arange(start, stop)
        if fixed:
            take = np.concatenate([take, np.full(start + size - stop, stop - 1)])
        feeds.append({**shared, **{k: np.take(arrays[k], take, axis=a) for k, a in axes.items()}})
        rows.append(len(take))
    return Batches(feeds, tuple(rows), sum(rows) - n)


def _rows(name: str, x: np.ndarray, axis: int) -> int:
    if axis >= np.ndim(x):
        raise SpecError(f"input {name} has shape {np.shape(x)}: no batch axis {axis}")
    return int(np.shape(x)[axis])
