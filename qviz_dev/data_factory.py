"""Small data files and the tiny models that read them, for the images and text tests (model, CLI, app).

color_model(32)          x[N, 3, 32, 32] -> the channel with the largest mean (3 classes)
color_folder(root)       solid red / green / blue images (PNG, JPEG, WebP) in folders 0_red, 1_green, 2_blue
zip_of({name: bytes})    a .zip of those files; encoded(image, "PNG") one image file's bytes
tokenizer_json()         a WordLevel tokenizer.json over WORDS ([CLS] ... [SEP], whitespace split)
text_model()             input_ids / attention_mask / token_type_ids [N, 6] -> "good" = class 1, "bad" = 0
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image
from tokenizers import Tokenizer, models, pre_tokenizers, processors

from qviz_dev import model_factory as mf

IMAGE_FORMATS = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "movie", "plot", "very", "the"]
VOCAB = {w: i for i, w in enumerate(WORDS)}
TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def noise(w: int, h: int, seed: int, mode: str = "RGB") -> Image.Image:
    shape = (h, w, 3) if mode == "RGB" else (h, w)
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8), mode)


def save(im: Image.Image, path: Path) -> Path:
    """Save in the format of the path's extension (png, jpg, webp), creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, IMAGE_FORMATS[path.suffix[1:]])
    return path


def encoded(im: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def png_bomb(w: int, h: int) -> bytes:
    """A PNG whose header declares w x h pixels, with 1 byte of image data: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def zip_of(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def zip_folder(root: Path) -> bytes:
    """Every file under `root`, by its path relative to `root`."""
    return zip_of({p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()})


def color_model(size: int = 224) -> bytes:
    """x[N, 3, size, size] -> GlobalAveragePool -> Flatten -> Gemm(identity) -> y[N, 3]: the class is the channel
    with the largest normalized mean."""
    nodes = [
        mf.helper.make_node("GlobalAveragePool", ["x"], ["p"]),
        mf.helper.make_node("Flatten", ["p"], ["f"]),
        mf.helper.make_node("Gemm", ["f", "W"], ["y"], name="fc", transB=1),
    ]
    model = mf.make_model(
        nodes,
        [mf.vinfo("x", ["N", 3, size, size])],
        [mf.vinfo("y", ["N", 3])],
        [mf.init("W", np.eye(3, dtype=np.float32))],
    )
    return mf.to_bytes(model)


def color_folder(root: Path, n: int = 3) -> Path:
    """n noisy solid red, green and blue images each, in class folders 0_red, 1_green, 2_blue."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(["0_red", "1_green", "2_blue"]):
        for i in range(n):
            a = rng.integers(0, 60, (300, 260, 3), dtype=np.uint8)
            a[:, :, c] = 200
            save(Image.fromarray(a, "RGB"), root / name / f"{i}.{['png', 'jpg', 'webp'][i % 3]}")
    return root


def tokenizer_json(padding_left: bool = False) -> bytes:
    """[CLS] words [SEP], whitespace-split, unknown words -> [UNK]; optionally padding on the left."""
    tok = Tokenizer(models.WordLevel(VOCAB, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", VOCAB["[CLS]"]), ("[SEP]", VOCAB["[SEP]"])]
    )
    if padding_left:
        tok.enable_padding(direction="left", pad_id=VOCAB["[PAD]"], pad_token="[PAD]")
    return tok.to_str().encode()


def text_model() -> bytes:
    """input_ids, attention_mask, token_type_ids [N, 6] -> masked sum of 2-d embeddings -> Gemm -> y[N, 2]:
    "good" pushes class 1 (pos), "bad" class 0 (neg)."""
    emb = np.zeros((len(WORDS), 2), np.float32)
    emb[VOCAB["good"]], emb[VOCAB["bad"]] = (0, 1), (1, 0)
    h = mf.helper
    nodes = [
        h.make_node("Gather", ["emb", "input_ids"], ["e"]),
        h.make_node("Gather", ["type_emb", "token_type_ids"], ["te"]),
        h.make_node("Add", ["e", "te"], ["et"]),
        h.make_node("Cast", ["attention_mask"], ["m"], to=mf.TensorProto.FLOAT),
        h.make_node("Unsqueeze", ["m", "axis2"], ["m3"]),
        h.make_node("Mul", ["et", "m3"], ["masked"]),
        h.make_node("ReduceSum", ["masked", "axis1"], ["pooled"], keepdims=0),
        h.make_node("Gemm", ["pooled", "W"], ["y"], name="fc", transB=1),
    ]
    inputs = [mf.vinfo(n, ["N", 6], mf.TensorProto.INT64) for n in TEXT_INPUTS]
    inits = [
        mf.init("emb", emb),
        mf.init("type_emb", np.zeros((2, 2), np.float32)),
        mf.init("axis1", np.array([1], np.int64)),
        mf.init("axis2", np.array([2], np.int64)),
        mf.init("W", np.eye(2, dtype=np.float32)),
    ]
    return mf.to_bytes(mf.make_model(nodes, inputs, [mf.vinfo("y", ["N", 2])], inits))
