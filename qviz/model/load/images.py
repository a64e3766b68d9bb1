"""Image folders and .zip files of images as model inputs, with labels from class folders.

    >>> import io, zipfile
    >>> from PIL import Image
    >>> from qviz.model.load.loader import TensorInfo
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as z:
    ...     for i, folder in enumerate(["cat", "dog", "cat"]):
    ...         png = io.BytesIO()
    ...         Image.new("RGB", (40, 30), (i * 100, 0, 0)).save(png, "PNG")
    ...         z.writestr(f"{folder}/{i}.png", png.getvalue())
    >>> info = TensorInfo("x", "float32", ("N", 3, 24, 24))
    >>> images = read_image_zip(buf.getvalue(), info)    # preprocessing inferred: ImageNet-style, resize 27, crop 24
    >>> images.data.x.shape, images.data.y.tolist(), images.classes
    ((3, 3, 24, 24), [0, 0, 1], ('cat', 'dog'))

Files: PNG, JPEG and WebP by extension (.png .jpg .jpeg .webp, any case), decoded by Pillow
with only those three decoders; other files, hidden files (a name part starting with ".")
and __MACOSX/ are skipped. A zip whose files all sit in one folder that is not a class name
is read from inside that folder (what zipping a folder makes). Images are read in path order.

Labels: images in sub-folders get the index of their top folder among the sorted folder
names (torchvision's ImageFolder rule), or among `classes` when given (a folder not in it is
an error). Images all at the top: no labels. Both at once: an error.

Hostile files (every violation is a SpecError naming the file), checked before the work:
  - at most MAX_IMAGES images, MAX_FILE_BYTES per file, MAX_ARCHIVE_BYTES in all (the zip
    directory's sizes, checked before anything is decompressed; encrypted members and
    compression other than stored/deflated are refused);
  - the preprocessed tensor within `max_bytes` (MAX_TENSOR_BYTES), from the count alone;
  - each image's pixel count from its header, before decoding: MAX_IMAGE_PIXELS (Pillow's
    own Image.MAX_IMAGE_PIXELS is set to the same while decoding, and its warning is an
    error), MAX_TOTAL_PIXELS over all images, and MAX_RESIZED_PIXELS after the resize (a
    1 x 10000 strip would otherwise grow to 256 x 2560000).

# NOTE: EXIF orientation is ignored, as torchvision's ImageFolder loader does: a photo is
# fed as stored, which is how such models were trained and evaluated. Alpha is dropped.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from qviz.model.load.input_data import InputData, class_indices
from qviz.model.load.preprocess import Preprocess, resolve_preprocess
from qviz.quant.spec import SpecError

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
MAX_IMAGES = 5000
MAX_FILE_BYTES = 32 * 2**20
MAX_ARCHIVE_BYTES = 512 * 2**20
MAX_TENSOR_BYTES = 192 * 2**20  # under the worker's 256 MiB reply cap (qviz.worker.limits)
MAX_IMAGE_PIXELS = 50_000_000  # one decoded image (a 50 MP RGB image is 150 MB)
MAX_TOTAL_PIXELS = 500_000_000  # all decoded images: bounds the decoding time
MAX_RESIZED_PIXELS = 50_000_000
RESAMPLE = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "nearest": Image.Resampling.NEAREST,
}


@dataclass(frozen=True)
class ImageFile:
    path: str  # "/"-separated, relative to the folder or the zip's root
    size: int  # bytes
    read: Callable[[], bytes]


@dataclass(frozen=True, eq=False)
class ImageSet:
    """The model inputs (InputData: x [N, ...], y or None) and how they were made."""

    data: InputData
    classes: tuple[str, ...]  # class index -> folder name; () without labels
    preprocess: Preprocess

    def note(self) -> str:
        """One line for the user: how many images, the classes, the preprocessing."""
        n = self.data.rows
        classes = ", ".join(f"{name}={i}" for i, name in enumerate(self.classes[:20]))
        more = ", ..." if len(self.classes) > 20 else ""
        labels = f" in {len(self.classes)} classes ({classes}{more})" if self.classes else " (no labels)"
        return f"{n} images{labels}; preprocessing {self.preprocess.to_json()}"


def read_image_folder(path, info, preprocess=None, classes=None, max_bytes: int = MAX_TENSOR_BYTES) -> ImageSet:
    """A folder of images (module doc) for model input `info`; `preprocess` as resolve_preprocess takes it."""
    root = Path(path)
    return read_images(folder_files(root), info, preprocess, classes, max_bytes, what=str(path))


def read_image_zip(
    data: bytes, info, preprocess=None, classes=None, max_bytes: int = MAX_TENSOR_BYTES, what: str = "images .zip"
) -> ImageSet:
    """A .zip of images (module doc); errors start with `what`."""
    with _open_zip(data, what) as z:
        files = zip_files(z, what)
        return read_images(_unwrap(files, classes), info, preprocess, classes, max_bytes, what)


def read_images(files: list[ImageFile], info, preprocess, classes, max_bytes: int, what: str) -> ImageSet:
    """Label, check and decode `files` into one array for input `info` (module doc)."""
    p = resolve_preprocess(preprocess, info)
    _check_input(info, p, what)
    files = sorted(files, key=lambda f: f.path)
    _check_counts(files, p, max_bytes, what)
    labels, names = label_files([f.path for f in files], classes, what)
    x = np.empty((len(files), *p.row_shape()), np.float32)
    budget = [MAX_TOTAL_PIXELS]
    with _bomb_guard():
        for i, f in enumerate(files):
            x[i] = preprocess_image(decode_image(f.read(), f.path, p.channels, budget, what), p, f.path, what)
    data = InputData(x=_cast(x, _dtype(info)), y=labels, rows=len(files))
    return ImageSet(data, names, p)


def preprocess_image(im: Image.Image, p: Preprocess, name: str = "image", what: str = "images") -> np.ndarray:
    """Resize + center crop (or stretch), scale, normalize and lay out one decoded image (module doc of
    qviz.model.load.preprocess); float32 of p.row_shape()."""
    h, w = p.size
    if p.resize is None:
        im = im.resize((w, h), RESAMPLE[p.resample])
    else:
        nw, nh = shorter_side(im.size, p.resize)
        if nw * nh > MAX_RESIZED_PIXELS:
            raise SpecError(
                f"{what}: {name} is {im.size[0]} x {im.size[1]}: too thin to resize to a side of {p.resize}"
            )
        im = im.resize((nw, nh), RESAMPLE[p.resample])
        top, left = round((nh - h) / 2), round((nw - w) / 2)  # torchvision's center_crop
        im = im.crop((left, top, left + w, top + h))
    x = np.asarray(im, np.float32)
    x = x[:, :, None] if x.ndim == 2 else x
    if p.channels == "BGR":
        x = x[:, :, ::-1]
    mean, std = np.asarray(p.mean, np.float32), np.asarray(p.std, np.float32)
    x = (x * np.float32(p.scale) - mean) / std
    return x.transpose(2, 0, 1) if p.layout == "NCHW" else x


def shorter_side(size: tuple[int, int], side: int) -> tuple[int, int]:
    """(width, height) with the shorter side `side` and the longer int(side * long / short),
    as torchvision's Resize(int) computes it."""
    w, h = size
    return (side, int(side * h / w)) if w <= h else (int(side * w / h), side)


def decode_image(data: bytes, name: str, channels: str, budget: list[int], what: str) -> Image.Image:
    """One PNG/JPEG/WebP decoded to RGB or L after its header's pixel count passed the caps;
    `budget` holds the pixels left for all images (decremented)."""
    try:
        im = Image.open(io.BytesIO(data), formats=sorted(set(FORMATS.values())))
        w, h = im.size
        if w * h > MAX_IMAGE_PIXELS or w * h > budget[0]:
            cap = "the total" if w * h <= MAX_IMAGE_PIXELS else "one image"
            raise SpecError(f"{what}: {name} is {w} x {h} pixels: over the limit for {cap} (decompression bomb?)")
        budget[0] -= w * h
        return im.convert("L" if channels == "L" else "RGB")
    except SpecError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise SpecError(f"{what}: {name} declares too many pixels (decompression bomb)") from None
    except Exception as e:  # noqa: BLE001 - Pillow raises many types (OSError, SyntaxError, struct.error...) on hostile files
        raise SpecError(f"{what}: {name} is not a readable PNG, JPEG or WebP image ({type(e).__name__})") from None


@contextlib.contextmanager
def _bomb_guard() -> Iterator[None]:
    """Pillow's own bomb check at MAX_IMAGE_PIXELS while decoding, its warning as an error.

    # NOTE: both are process-wide settings; decoding runs in the CLI or a worker, one thread.
    """
    before = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = before


def label_files(paths: list[str], classes, what: str) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """(labels, class names) from the top folder of each path (module doc); (None, ()) when flat."""
    nested = ["/" in p for p in paths]
    if not any(nested):
        if classes:
            raise SpecError(f"{what}: a class list needs the images in class folders; they are all at the top")
        return None, ()
    if not all(nested):
        flat = next(p for p, n in zip(paths, nested, strict=True) if not n)
        raise SpecError(f"{what}: images both at the top ({flat}) and in class folders; put every image in a folder")
    return class_indices([p.split("/", 1)[0] for p in paths], classes, what, kind="folder")


def folder_files(root: Path) -> list[ImageFile]:
    """The image files under `root` (symlinked folders are not followed)."""
    if not root.is_dir():
        raise SpecError(f"{root}: not a folder")
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not _skipped(d)]
        for name in names:
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            if _is_image(rel):
                files.append(ImageFile(rel, path.stat().st_size, path.read_bytes))
        if len(files) > MAX_IMAGES:
            raise SpecError(f"{root}: more than {MAX_IMAGES} images; the limit is {MAX_IMAGES}")
    return files


def _open_zip(data: bytes, what: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - BadZipFile, EOFError, ... on a hostile file
        raise SpecError(f"{what}: not a readable .zip file ({type(e).__name__})") from None


def zip_files(z: zipfile.ZipFile, what: str) -> list[ImageFile]:
    """The image members of `z`, refused from the zip directory alone when encrypted, compressed
    in another way, or too large (module doc)."""
    infos = [i for i in z.infolist() if not i.is_dir() and _is_image(i.filename.replace("\\", "/"))]
    if len(infos) > MAX_IMAGES:
        raise SpecError(f"{what}: {len(infos)} images; the limit is {MAX_IMAGES}")
    files = []
    for info in infos:
        if info.flag_bits & 0x1:
            raise SpecError(f"{what}: {info.filename} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise SpecError(f"{what}: {info.filename} uses an unsupported compression method ({info.compress_type})")
        files.append(ImageFile(info.filename.replace("\\", "/"), info.file_size, _member_reader(z, info, what)))
    return files


def _member_reader(z: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            with z.open(info) as fp:
                return fp.read(MAX_FILE_BYTES + 1)
        except Exception as e:  # noqa: BLE001 - zlib.error, BadZipFile (CRC), EOFError on a hostile file
            raise SpecError(f"{what}: cannot read {info.filename} from the zip ({type(e).__name__})") from None

    return read


def _unwrap(files: list[ImageFile], classes) -> list[ImageFile]:
    """Files from inside the one folder that holds them all, unless that folder is a class name."""
    tops = {f.path.split("/", 1)[0] if "/" in f.path else None for f in files}
    if len(tops) != 1 or None in tops or (classes and next(iter(tops)) in classes):
        return files
    return [ImageFile(f.path.split("/", 1)[1], f.size, f.read) for f in files]


def _check_counts(files: list[ImageFile], p: Preprocess, max_bytes: int, what: str) -> None:
    if not files:
        raise SpecError(f"{what}: no images (.png, .jpg, .jpeg or .webp files) found")
    if len(files) > MAX_IMAGES:
        raise SpecError(f"{what}: {len(files)} images; the limit is {MAX_IMAGES}")
    big = next((f for f in files if f.size > MAX_FILE_BYTES), None)
    if big is not None:
        raise SpecError(f"{what}: {big.path} is {_size(big.size)}; the limit is {_size(MAX_FILE_BYTES)}")
    total = sum(f.size for f in files)
    if total > MAX_ARCHIVE_BYTES:
        raise SpecError(f"{what}: {_size(total)} of images; the limit is {_size(MAX_ARCHIVE_BYTES)}")
    need = len(files) * int(np.prod(p.row_shape())) * 4
    if need > max_bytes:
        raise SpecError(
            f"{what}: {len(files)} images of {'x'.join(map(str, p.row_shape()))} floats make {need / 2**20:.0f} MiB; "
            f"the limit is {max_bytes / 2**20:.0f} MiB (use fewer images)"
        )


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n:,} bytes"


def _check_input(info, p: Preprocess, what: str) -> None:
    """The preprocessed row shape against the input's fixed dims."""
    name, shape = _field(info, "name"), _field(info, "shape")
    row = p.row_shape()
    for want, got in zip(shape[1:], row, strict=True):
        if isinstance(want, int) and want > 0 and want != got:
            raise SpecError(
                f"{what}: the preprocessing makes images of {row} ({p.layout}) but input {name!r} takes "
                f"{tuple(shape)}: set the size, layout or channels"
            )


def _cast(x: np.ndarray, dtype: str) -> np.ndarray:
    """float32 to the input's type: other floats cast, integers rounded and clipped to their range."""
    try:
        target = np.dtype(dtype)
    except TypeError:  # bfloat16 and friends: float32 as the other readers do
        return x
    if target.kind == "f":
        return x.astype(target)
    if target.kind in "iu":
        lim = np.iinfo(target)
        return np.clip(np.rint(x), lim.min, lim.max).astype(target)
    return x


def _dtype(info) -> str:
    return str(_field(info, "dtype"))


def _field(info, name: str):
    return info[name] if isinstance(info, dict) else getattr(info, name)


def _skipped(part: str) -> bool:
    return part.startswith(".") or part == "__MACOSX"


def _is_image(path: str) -> bool:
    parts = path.split("/")
    return not any(_skipped(p) for p in parts) and Path(parts[-1]).suffix.lower() in FORMATS
