"""Uploaded data files other than .npz (an images .zip, a .txt/.csv with a tokenizer.json),
read in a limited worker: decoding hostile images and running a tokenizer on hostile bytes
never happens in the server.

    data_file = read_uploaded_data("photos.zip", data, summary["inputs"], preprocess='{"size": 224}')
    data_file.data.x, data_file.data.y, data_file.note       # InputData, and what was read

The worker runs qviz.model.load.data_files.read_data_bytes (every cap of the images and text
readers holds there) under the worker's memory / CPU / wall limits; errors come back as the
SpecError it raised, or a WorkerError. The arrays that come back are checked for their shape
before the server keeps them: one row count for every input, labels one per row, and at most
the rows an .npz may have (NpzLimits: QVIZ_MAX_ROWS, default 5000).
"""

from __future__ import annotations

import numpy as np

from qviz.model.load.data_files import DataFile, data_kind
from qviz.model.load.input_data import MAX_ROWS_ENV, InputData, NpzLimits
from qviz.quant.spec import SpecError
from qviz.worker import Limits, WorkerError, WorkerPool, default_pool
from qviz.worker.preflight import call_limits


def read_uploaded_data(
    name: str,
    data: bytes,
    inputs: list[dict],
    *,
    preprocess: str | None = None,
    tokenizer: bytes | None = None,
    classes: list[str] | None = None,
    seq_len: int | None = None,
    limits: Limits | None = None,
    pool: WorkerPool | None = None,
) -> DataFile:
    """Read the upload `name` for the model inputs (the summary's dicts) in a worker (module doc)."""
    options = {"preprocess": preprocess, "tokenizer": tokenizer, "classes": classes, "seq_len": seq_len}
    options = {k: v for k, v in options.items() if v is not None}
    result = (pool or default_pool()).call(
        "read_data_upload", name, bytes(data), list(inputs), options, limits=call_limits(limits)
    )
    x, y = result["x"], result["y"]
    rows = _rows(x, [i["name"] for i in inputs])
    max_rows = NpzLimits.from_env().rows
    if rows > max_rows:
        raise SpecError(f"{name}: {rows:,} rows; the server takes at most {max_rows:,} ({MAX_ROWS_ENV})")
    if y is not None and (not isinstance(y, np.ndarray) or y.dtype.kind not in "iu" or len(y) != rows):
        raise WorkerError("the worker returned labels that do not match the inputs", "internal")
    return DataFile(InputData(x=x, y=y, rows=rows), data_kind(name), str(result["note"]))


def _rows(x, names: list[str]) -> int:
    """The common row count of `x` (one array, or one per input name), else a WorkerError."""
    arrays = [x] if isinstance(x, np.ndarray) and len(names) == 1 else None
    if isinstance(x, dict) and sorted(x) == sorted(names):
        arrays = list(x.values())
    if not arrays or not all(isinstance(a, np.ndarray) and a.ndim >= 1 for a in arrays):
        raise WorkerError("the worker returned inputs that do not match the model", "internal")
    rows = {len(a) for a in arrays}
    if len(rows) != 1 or 0 in rows:
        raise SpecError(f"the data gives inputs with row counts {sorted(rows)}")
    return rows.pop()
