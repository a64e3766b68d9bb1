"""A data file of any kind a person has, as the model's inputs: the one entry the CLI's
--data/--calib, qviz.evaluate.data.from_file and the app's upload worker share.

    .npz                 arrays (qviz.model.load.input_data: "x" or input names, optional "y")
    a folder or a .zip   images, labels from class folders (qviz.model.load.images) with
                         `preprocess` (qviz.model.load.preprocess: None = from the model's input)
    .txt or .csv         text, one example per line or text,label rows, with `tokenizer`
                         (tokenizer.json: a path or its bytes; qviz.model.load.text_data)

    >>> data_kind("calib.npz"), data_kind("photos.ZIP"), data_kind("reviews.csv"), data_kind("imgs", is_dir=True)
    ('npz', 'images', 'text', 'images')

An option that does not apply to the kind (`preprocess` for text, `tokenizer` for images...)
is an error, not silently ignored. Files are refused unread when larger than the kind's cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qviz.model.load.images import MAX_ARCHIVE_BYTES, read_image_folder, read_image_zip
from qviz.model.load.input_data import MAX_BYTES, InputData, read_inputs_npz
from qviz.model.load.text_data import MAX_TEXT_BYTES, MAX_TOKENIZER_BYTES, read_text
from qviz.quant.spec import SpecError

KINDS = {".npz": "npz", ".zip": "images", ".txt": "text", ".csv": "text"}
FILE_CAPS = {"npz": MAX_BYTES, "images": MAX_ARCHIVE_BYTES, "text": MAX_TEXT_BYTES}


@dataclass(frozen=True, eq=False)
class DataFile:
    """The inputs read (InputData: x, y, rows), their kind and one line saying how they were made."""

    data: InputData
    kind: str  # "npz" | "images" | "text"
    note: str


def data_kind(name: str, is_dir: bool = False) -> str:
    """ "npz", "images" or "text" from a file name's extension (a folder holds images)."""
    if is_dir:
        return "images"
    kind = KINDS.get(Path(name).suffix.lower())
    if kind is None:
        raise SpecError(f"{name}: data must be a .npz, an image folder or .zip, or a .txt/.csv of text")
    return kind


def read_data_path(
    path, inputs, *, preprocess=None, tokenizer=None, classes=None, seq_len=None, what: str | None = None
) -> DataFile:
    """Read the file or folder at `path` for the model `inputs` (TensorInfo tuple); errors start with `what`."""
    path = Path(path)
    what = what or str(path)
    if not path.exists():
        raise SpecError(f"{what}: no such file or folder")
    kind = data_kind(path.name, path.is_dir())
    check_options(kind, preprocess, tokenizer, seq_len, what)
    if path.is_dir():
        images = read_image_folder(path, image_input(inputs, what), preprocess, parse_classes(classes))
        return DataFile(images.data, kind, images.note())
    data = read_capped(path, FILE_CAPS[kind], what)
    tok = read_capped(Path(tokenizer), MAX_TOKENIZER_BYTES, str(tokenizer)) if tokenizer else None
    return read_data_bytes(
        path.name, data, inputs, preprocess=preprocess, tokenizer=tok, classes=classes, seq_len=seq_len, what=what
    )


def read_data_bytes(
    name: str, data: bytes, inputs, *, preprocess=None, tokenizer=None, classes=None, seq_len=None, what=None
) -> DataFile:
    """Read an uploaded file's bytes (`name` gives the kind; `tokenizer` is bytes here)."""
    what = what or name
    kind = data_kind(name)
    check_options(kind, preprocess, tokenizer, seq_len, what)
    if kind == "npz":
        parsed = read_inputs_npz(data, inputs, what=what)
        return DataFile(parsed, kind, f"{parsed.rows} rows{'' if parsed.y is None else ' with labels'}")
    if kind == "images":
        images = read_image_zip(data, image_input(inputs, what), preprocess, parse_classes(classes), what=what)
        return DataFile(images.data, kind, images.note())
    if tokenizer is None:
        raise SpecError(f"{what}: text needs the model's tokenizer (a tokenizer.json)")
    text = read_text(data, name, tokenizer, inputs, parse_classes(classes), seq_len)
    return DataFile(text.data, kind, text.note())


def check_options(kind: str, preprocess, tokenizer, seq_len, what: str) -> None:
    """Refuse options that do not apply to this kind of data."""
    if preprocess is not None and kind != "images":
        raise SpecError(f"{what}: preprocessing applies to images (a folder or .zip), not to {kind} data")
    if (tokenizer is not None or seq_len is not None) and kind != "text":
        raise SpecError(f"{what}: a tokenizer or sequence length applies to text (.txt/.csv), not to {kind} data")


def image_input(inputs, what: str):
    """The one input images feed (a model with more inputs cannot take images alone)."""
    if len(inputs) != 1:
        names = ", ".join(repr(i.name) for i in inputs)
        raise SpecError(f"{what}: images feed a model with one input; this one has {len(inputs)} ({names})")
    return inputs[0]


def parse_classes(classes) -> tuple[str, ...] | None:
    """A class list: None, a sequence of names, or "a,b,c" (blanks around names dropped)."""
    if classes is None:
        return None
    names = [c.strip() for c in classes.split(",")] if isinstance(classes, str) else [str(c) for c in classes]
    names = [n for n in names if n]
    if len(set(names)) != len(names):
        raise SpecError(f"the class list has repeated names: {names[:20]}")
    return tuple(names) or None


def read_capped(path: Path, limit: int, what: str) -> bytes:
    """The file's bytes, refused unread when larger than `limit`."""
    size = path.stat().st_size
    if size > limit:
        raise SpecError(f"{what}: {size / 2**20:.0f} MiB; the limit is {limit / 2**20:.0f} MiB")
    return path.read_bytes()
