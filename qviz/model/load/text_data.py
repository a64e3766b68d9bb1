"""Text as model inputs: a .txt (one example per line) or a .csv (text,label), tokenized by
the user's tokenizer.json (the Hugging Face `tokenizers` library), fed by input name.

    >>> from tokenizers import Tokenizer, models, pre_tokenizers
    >>> tok = Tokenizer(models.WordLevel({"[PAD]": 0, "[UNK]": 1, "good": 2, "bad": 3}, unk_token="[UNK]"))
    >>> tok.pre_tokenizer = pre_tokenizers.Whitespace()
    >>> from qviz.model.load.loader import TensorInfo
    >>> inputs = [TensorInfo("input_ids", "int64", ("N", 4)), TensorInfo("attention_mask", "int64", ("N", 4))]
    >>> text = read_text(b"text,label\\ngood good,pos\\nbad what,neg\\n", "reviews.csv", tok.to_str().encode(), inputs)
    >>> text.data.x["input_ids"].tolist(), text.data.x["attention_mask"].tolist()
    ([[2, 2, 0, 0], [3, 1, 0, 0]], [[1, 1, 0, 0], [1, 1, 0, 0]])
    >>> text.data.y.tolist(), text.classes                 # label names: sorted -> class indices
    ([1, 0], ('neg', 'pos'))

Rules (every violation is a SpecError naming the file):
  - UTF-8 (a BOM is skipped); .txt: one example per non-blank line, no labels; .csv: rows
    "text" or "text,label" (every row the same), an optional header row "text,label";
    labels are integers, or names mapped to their index in `classes` (else in the sorted names);
  - at most MAX_TEXT_BYTES, MAX_EXAMPLES examples, MAX_LINE_CHARS characters per example (cut);
    the tokenizer.json at most MAX_TOKENIZER_BYTES;
  - inputs by name: input_ids (or ids, input, tokens...), attention_mask (a name with "mask"),
    token_type_ids (a name with "type" or "segment"), position_ids (a name with "position");
    a one-input model gets the ids; every input must be 2-D (batch, sequence);
  - sequence length: the inputs' fixed dim 1, else `seq_len`, else the longest example
    (at most DEFAULT_MAX_SEQ); longer examples are truncated by the tokenizer (its special
    tokens kept), shorter ones padded with its pad id (its padding side; else "[PAD]",
    "<pad>" or 0, on the right), mask 0 on the padding.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np

from qviz.model.load.input_data import InputData, class_indices
from qviz.quant.spec import SpecError

MAX_TEXT_BYTES = 64 * 2**20
MAX_TOKENIZER_BYTES = 64 * 2**20
MAX_EXAMPLES = 100_000
MAX_LINE_CHARS = 100_000
MAX_SEQ = 8192
DEFAULT_MAX_SEQ = 512
MAX_TENSOR_BYTES = 192 * 2**20  # as images: under the worker's reply cap
ROLES = {
    "input_ids": "ids",
    "ids": "ids",
    "input": "ids",
    "tokens": "ids",
    "attention_mask": "mask",
    "token_type_ids": "type",
    "segment_ids": "type",
    "position_ids": "position",
}
PAD_TOKENS = ("[PAD]", "<pad>", "<|pad|>", "<PAD>")


@dataclass(frozen=True, eq=False)
class TextSet:
    """The model inputs ({input name: [N, L]} or one array) and how they were made."""

    data: InputData
    classes: tuple[str, ...]  # class index -> label name; () for integer labels or none
    seq_len: int
    truncated: int  # examples longer than seq_len

    def note(self) -> str:
        classes = ", ".join(f"{name}={i}" for i, name in enumerate(self.classes[:20]))
        labels = f", classes {classes}" if self.classes else ("" if self.data.y is not None else ", no labels")
        return f"{self.data.rows} texts, {self.seq_len} tokens each ({self.truncated} truncated){labels}"


def read_text(data: bytes, name: str, tokenizer: bytes, inputs, classes=None, seq_len: int | None = None) -> TextSet:
    """Tokenize the examples of file `name` (its extension says .txt or .csv) for `inputs` (module doc)."""
    roles = input_roles(inputs, name)
    tok = load_tokenizer(tokenizer, name)
    texts, labels = read_examples(data, name)
    y, names = _labels(labels, classes, name)
    length = _seq_len(inputs, seq_len, name)
    pad = _pad(tok)  # NOTE: before _encode, which turns the tokenizer's own padding off
    encodings = _encode(tok, texts, length or DEFAULT_MAX_SEQ, name)
    length = length or max(1, max(len(e.ids) for e in encodings))
    _check_size(len(texts), length, len(roles), name)
    arrays = _arrays(encodings, length, pad)
    x = {info.name: arrays[role].astype(_dtype(info.dtype)) for info, role in zip(inputs, roles, strict=True)}
    truncated = sum(bool(e.overflowing) for e in encodings)
    x_out = x[inputs[0].name] if len(inputs) == 1 else x
    return TextSet(InputData(x=x_out, y=y, rows=len(texts)), names, length, truncated)


def input_roles(inputs, what: str) -> list[str]:
    """What each input gets: "ids", "mask", "type" or "position" (module doc)."""
    found = ["ids"] if len(inputs) == 1 else [_role(info.name) for info in inputs]
    roles = []
    for info, role in zip(inputs, found, strict=True):
        if role is None:
            raise SpecError(
                f"{what}: cannot tell what to feed input {info.name!r} from text; expected names like "
                "input_ids, attention_mask, token_type_ids, position_ids"
            )
        if info.shape is None or len(info.shape) != 2:
            raise SpecError(f"{what}: text feeds 2-D inputs (batch, sequence); {info.name!r} has shape {info.shape}")
        roles.append(role)
    if "ids" not in roles or len(set(roles)) != len(roles):
        raise SpecError(f"{what}: the inputs {[i.name for i in inputs]} need exactly one token-id input (input_ids)")
    return roles


def _role(name: str) -> str | None:
    low = name.lower()
    if low in ROLES:
        return ROLES[low]
    for word, role in (("mask", "mask"), ("type", "type"), ("segment", "type"), ("position", "position")):
        if word in low:
            return role
    return "ids" if any(w in low for w in ("ids", "input", "token")) else None


def load_tokenizer(data: bytes, what: str):
    """A tokenizers.Tokenizer from tokenizer.json bytes (SpecError when it is not one)."""
    from tokenizers import Tokenizer

    if len(data) > MAX_TOKENIZER_BYTES:
        raise SpecError(f"{what}: the tokenizer.json is {len(data) / 2**20:.0f} MiB; the limit is 64 MiB")
    try:
        return Tokenizer.from_str(data.decode("utf-8-sig"))
    except Exception as e:  # noqa: BLE001 - UnicodeDecodeError, the library's parse errors (Exception)
        detail = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise SpecError(
            f"{what}: the tokenizer file is not a tokenizer.json the tokenizers library reads ({detail})"
        ) from None


def read_examples(data: bytes, name: str) -> tuple[list[str], list[str] | None]:
    """The examples and their label cells (None for a .txt or a one-column .csv)."""
    if len(data) > MAX_TEXT_BYTES:
        raise SpecError(f"{name}: {len(data) / 2**20:.0f} MiB; the limit is {MAX_TEXT_BYTES / 2**20:.0f} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SpecError(f"{name}: not UTF-8 text (byte {e.start})") from None
    if name.lower().endswith(".csv"):
        texts, labels = _csv_rows(text, name)
    else:
        texts, labels = [line for line in text.splitlines() if line.strip()], None
    if not texts:
        raise SpecError(f"{name}: no examples (empty lines are skipped)")
    if len(texts) > MAX_EXAMPLES:
        raise SpecError(f"{name}: {len(texts):,} examples; the limit is {MAX_EXAMPLES:,}")
    return [t[:MAX_LINE_CHARS] for t in texts], labels


def _csv_rows(text: str, name: str) -> tuple[list[str], list[str] | None]:
    try:
        rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    except csv.Error as e:
        raise SpecError(f"{name}: not a readable CSV ({e})") from None
    if rows and [c.strip().lower() for c in rows[0]] in (["text"], ["text", "label"]):
        rows = rows[1:]
    widths = {len(r) for r in rows}
    if len(widths) > 1 or widths - {1, 2}:
        raise SpecError(
            f"{name}: every row must be text or text,label (quote texts with commas); got {sorted(widths)[:5]} columns"
        )
    if len(rows) > MAX_EXAMPLES:
        raise SpecError(f"{name}: {len(rows):,} examples; the limit is {MAX_EXAMPLES:,}")
    labels = [r[1].strip() for r in rows] if widths == {2} else None
    return [r[0] for r in rows], labels


def _labels(cells: list[str] | None, classes, name: str) -> tuple[np.ndarray | None, tuple[str, ...]]:
    if cells is None:
        return None, ()
    if not classes and all(_is_int(c) for c in cells):
        return np.array([int(c) for c in cells], np.int64), ()
    return class_indices(cells, classes, name)


def _is_int(cell: str) -> bool:
    return re.fullmatch(r"-?[0-9]{1,18}", cell) is not None


def _seq_len(inputs, seq_len: int | None, name: str) -> int | None:
    fixed = {d for info in inputs for d in info.shape[1:] if isinstance(d, int) and d > 0}
    if len(fixed) > 1:
        raise SpecError(f"{name}: the text inputs have different sequence lengths {sorted(fixed)}")
    if fixed:
        length = fixed.pop()
    elif seq_len is not None:
        length = seq_len
    else:
        return None
    if not 1 <= length <= MAX_SEQ:
        raise SpecError(f"{name}: sequence length {length}; it must be 1..{MAX_SEQ}")
    return length


def _encode(tok, texts: list[str], length: int, name: str) -> list:
    """One Encoding per text, truncated to `length` tokens by the tokenizer (specials kept)."""
    tok.no_padding()
    try:
        tok.enable_truncation(max_length=length)
        return [tok.encode(t) for t in texts]
    except Exception as e:  # noqa: BLE001 - the library raises plain Exception on truncation/encode errors
        detail = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise SpecError(f"{name}: the tokenizer failed ({detail})") from None


def _pad(tok) -> tuple[int, bool]:
    """(pad id, left padding?) from the tokenizer's padding settings, else its pad token, else 0."""
    padding = tok.padding or {}
    if "pad_id" in padding:
        return int(padding["pad_id"]), padding.get("direction") == "left"
    ids = [tok.token_to_id(t) for t in PAD_TOKENS]
    return next((i for i in ids if i is not None), 0), False


def _arrays(encodings: list, length: int, pad: tuple[int, bool]) -> dict[str, np.ndarray]:
    pad_id, left = pad
    n = len(encodings)
    out = {
        "ids": np.full((n, length), pad_id, np.int64),
        "mask": np.zeros((n, length), np.int64),
        "type": np.zeros((n, length), np.int64),
        "position": np.broadcast_to(np.arange(length, dtype=np.int64), (n, length)).copy(),
    }
    for i, e in enumerate(encodings):
        k = min(len(e.ids), length)
        cols = slice(length - k, length) if left else slice(0, k)
        out["ids"][i, cols] = e.ids[:k]
        out["mask"][i, cols] = e.attention_mask[:k]
        out["type"][i, cols] = e.type_ids[:k]
    return out


def _check_size(rows: int, length: int, n_inputs: int, name: str) -> None:
    need = rows * length * n_inputs * 8
    if need > MAX_TENSOR_BYTES:
        raise SpecError(
            f"{name}: {rows:,} examples x {length} tokens make {need / 2**20:.0f} MiB; "
            f"the limit is {MAX_TENSOR_BYTES / 2**20:.0f} MiB (use fewer examples or a shorter sequence)"
        )


def _dtype(name: str) -> np.dtype:
    try:
        dtype = np.dtype(name)
    except TypeError:
        return np.dtype(np.float32)
    return dtype if dtype.kind in "biuf" else np.dtype(np.int64)
