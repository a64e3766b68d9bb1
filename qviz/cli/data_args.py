"""The data options of the CLI: --data / --calib PATH of any kind, and how to read images and text.

    --data PATH, --calib PATH    a .npz, an image folder or .zip, or a .txt/.csv of text
    --preprocess PRESET_OR_JSON  images: imagenet, unit, symmetric, raw, or a JSON object such as
                                 '{"size": 224, "layout": "NHWC"}' (qviz.model.load.preprocess);
                                 default: from the model's input shape
    --classes A,B,C              class folder names (images) or label names (text) in index order;
                                 default: the sorted names
    --tokenizer tokenizer.json   text: the model's tokenizer (the tokenizers library reads it)
    --seq-len N                  text: the sequence length when the model's is dynamic

Each option goes to the kind it is for (one command can take an image folder as --data and a
.npz as --calib); an option no given data can use is an error, not silently dropped. What was
read is said in one `qviz: note:` line on stderr (images and text; a .npz reads as before).
"""

from __future__ import annotations

import sys
from pathlib import Path

OPTIONS = {"images": ("preprocess", "classes"), "text": ("tokenizer", "classes", "seq_len"), "npz": ()}


def add_data_options(p) -> None:
    """The options that say how --data / --calib files are read (module doc)."""
    p.add_argument(
        "--preprocess",
        metavar="PRESET_OR_JSON",
        help='images: imagenet, unit, symmetric, raw or a JSON object like \'{"size": 224, "layout": "NHWC"}\' '
        "(fields size, resize, layout, channels, scale, mean, std, resample, preset); default from the model",
    )
    p.add_argument("--classes", metavar="A,B,C", help="class names in index order (default: sorted folder/label names)")
    p.add_argument("--tokenizer", metavar="tokenizer.json", help="text data: the model's tokenizer.json")
    p.add_argument("--seq-len", type=int, metavar="N", help="text data: sequence length when the model's is dynamic")


def data_kind_of(path: str) -> str:
    from qviz.model.load.data_files import data_kind

    return data_kind(path, Path(path).is_dir())


def check_data_options(args) -> None:
    """An option given while no --data / --calib is of the kind it is for: a usage error."""
    from qviz.quant import SpecError

    kinds = {data_kind_of(p) for p in (getattr(args, "data", None), args.calib) if p}
    for option in ("preprocess", "tokenizer", "seq_len", "classes"):
        if getattr(args, option) is not None and not any(option in OPTIONS[k] for k in kinds):
            flag = "--" + option.replace("_", "-")
            wanted = "image data (a folder or .zip)" if option == "preprocess" else "text data (.txt/.csv)"
            if option == "classes":
                wanted = "image or text data"
            raise SpecError(f"{flag} applies to {wanted} given with --data or --calib")


def read_data(args, loaded, flag: str, path: str):
    """InputData (x, y, rows) of `path` for the model, read with the options of its kind."""
    from qviz.model.load.data_files import read_data_path

    kind = data_kind_of(path)
    options = {name: getattr(args, name) for name in OPTIONS[kind]}
    read = read_data_path(path, loaded.inputs, **options, what=f"{flag} {path}")
    if kind != "npz":
        print(f"qviz: note: {flag} {path}: {read.note}", file=sys.stderr)
    return read.data
