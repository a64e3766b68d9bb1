"""Image preprocessing: how a decoded picture becomes one row of a model's image input.

One small frozen dataclass with a JSON form that the CLI (`--preprocess`) and the app's
preprocessing card share. The steps, in this order (qviz.model.load.images runs them):

    1. decode (Pillow), convert to RGB (or L, one channel); BGR reverses the channels last
    2. resize the shorter side to `resize` (the longer one to int(resize * long / short)) and
       cut the center `size` = (height, width); resize None: stretch straight to `size`
    3. x = (pixel * scale - mean) / std, per channel, in float32
    4. layout NCHW (channels first) or NHWC

Defaults come from the model's input shape, then a preset, then the fields given:

    >>> from qviz.model.load.loader import TensorInfo
    >>> nchw = TensorInfo("x", "float32", ("N", 3, 224, 224))
    >>> p = resolve_preprocess(None, nchw)              # 3 channels: ImageNet-style
    >>> p.size, p.resize, p.layout, p.channels, p.mean
    ((224, 224), 256, 'NCHW', 'RGB', (0.485, 0.456, 0.406))
    >>> resolve_preprocess("symmetric", nchw).std       # [-1, 1]: (p / 255 - 0.5) / 0.5
    (0.5, 0.5, 0.5)
    >>> p = resolve_preprocess('{"size": 64, "layout": "NHWC"}', TensorInfo("x", "float32", ("N", "h", "w", 3)))
    >>> p.size, p.resize, p.layout                      # the ImageNet crop ratio 224/256 kept
    ((64, 64), 73, 'NHWC')
    >>> Preprocess.from_json(p.to_json()) == p
    True

Presets set the values and the crop: `imagenet` (resize = size * 256/224, mean/std of
ImageNet, /255), `unit` ([0, 1]: /255), `symmetric` ([-1, 1]), `raw` (pixels 0..255 as they
are, for uint8 inputs); `unit`, `symmetric` and `raw` resize the shorter side to the size
(a center crop without margin). Size, layout and channels come from the model (a dynamic
height or width is 224). A JSON object may name a "preset" and override any field; a
one-channel model gets the mean of the three ImageNet values.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from qviz.quant.spec import SpecError

LAYOUTS = ("NCHW", "NHWC")
CHANNELS = ("RGB", "BGR", "L")
RESAMPLES = ("bilinear", "bicubic", "nearest")
PRESETS = ("imagenet", "unit", "symmetric", "raw")
MAX_SIDE = 4096  # the largest model image side (a 4096 x 4096 x 3 float32 row is 192 MiB)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_CROP = 224 / 256  # crop 224 out of a shorter side of 256
DEFAULT_SIDE = 224  # a dynamic height or width


@dataclass(frozen=True)
class Preprocess:
    """One image's preprocessing (module doc); validated, its JSON form is canonical."""

    size: tuple[int, int] = (DEFAULT_SIDE, DEFAULT_SIDE)  # (height, width) the model gets
    resize: int | None = 256  # the shorter side before the center crop; None: stretch to size
    layout: str = "NCHW"
    channels: str = "RGB"
    scale: float = 1 / 255
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    resample: str = "bilinear"

    def __post_init__(self) -> None:
        if len(self.size) != 2 or not all(_is_int(s) and 1 <= s <= MAX_SIDE for s in self.size):
            raise SpecError(f"preprocess size must be 1..{MAX_SIDE} (or [height, width]); got {self.size!r}")
        if self.resize is not None and not (_is_int(self.resize) and max(self.size) <= self.resize <= 2 * MAX_SIDE):
            raise SpecError(
                f"preprocess resize (the shorter side before the center crop) must be {max(self.size)}..{2 * MAX_SIDE}"
                f", at least the size, or null to stretch; got {self.resize!r}"
            )
        _choice("layout", self.layout, LAYOUTS)
        _choice("channels", self.channels, CHANNELS)
        _choice("resample", self.resample, RESAMPLES)
        if not _finite(self.scale) or self.scale == 0:
            raise SpecError(f"preprocess scale must be a finite non-zero number; got {self.scale!r}")
        for name in ("mean", "std"):
            values = getattr(self, name)
            if len(values) not in (1, self.n_channels) or not all(_finite(v) for v in values):
                raise SpecError(
                    f"preprocess {name} must be 1 or {self.n_channels} finite numbers for {self.channels}; got {values!r}"
                )
        if any(v == 0 for v in self.std):
            raise SpecError(f"preprocess std must not be 0; got {self.std!r}")

    @property
    def n_channels(self) -> int:
        return 1 if self.channels == "L" else 3

    def row_shape(self) -> tuple[int, int, int]:
        """The shape of one preprocessed image: (C, H, W) for NCHW, (H, W, C) for NHWC."""
        h, w = self.size
        return (self.n_channels, h, w) if self.layout == "NCHW" else (h, w, self.n_channels)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, fields: dict) -> Preprocess:
        """From a dict of fields (unknown keys refused); size an int or [h, w]; mean/std a number,
        a list or a comma-separated string ("0.5, 0.5, 0.5")."""
        unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise SpecError(f"unknown preprocess field(s) {unknown}; allowed: {', '.join(FIELDS)} and preset")
        kw = dict(fields)
        if "size" in kw:
            kw["size"] = _size(kw["size"])
        for name in ("mean", "std"):
            if name in kw:
                kw[name] = _numbers(name, kw[name])
        if "scale" in kw:
            kw["scale"] = _number("scale", kw["scale"])
        return cls(**kw)

    @classmethod
    def from_json(cls, text: str) -> Preprocess:
        return cls.from_dict(_json_object(text))


FIELDS = tuple(f.name for f in dataclasses.fields(Preprocess))
GEOMETRY = ("size", "layout", "channels")  # what the model's input shape says


def resolve_preprocess(spec, info) -> Preprocess:
    """The preprocessing for model input `info` (a TensorInfo or {"name", "dtype", "shape"}):
    `spec` None (defaults from the shape), a preset name, a JSON object text (optional
    "preset" plus fields) or a dict of the same, or a Preprocess (returned as is)."""
    if isinstance(spec, Preprocess):
        return spec
    fields = _spec_fields(spec)
    preset = fields.pop("preset", None) or default_preset(info)
    geometry = {**infer_geometry(info), **{k: fields.pop(k) for k in GEOMETRY if k in fields}}
    plain = {"resize": None, "mean": (0.0,), "std": (1.0,)}  # valid for any size and channels
    base = preset_fields(preset, Preprocess.from_dict({**geometry, **plain}))
    return Preprocess.from_dict({**base, **fields})


def default_preset(info) -> str:
    """imagenet for float inputs, raw for integer ones (uint8 images)."""
    return "raw" if _dtype(info).startswith(("uint", "int")) else "imagenet"


def preset_fields(preset: str, geometry: Preprocess) -> dict:
    """The fields of `preset` for an image of the given size and channels (module doc)."""
    _choice("preset", preset, PRESETS)
    side = max(geometry.size)
    one = geometry.channels == "L"
    values: dict[str, Any]
    if preset == "imagenet":
        mean, std = ((sum(IMAGENET_MEAN) / 3,), (sum(IMAGENET_STD) / 3,)) if one else (IMAGENET_MEAN, IMAGENET_STD)
        values = {"resize": max(side, round(side / IMAGENET_CROP)), "mean": mean, "std": std}
    else:
        m = {"unit": 0.0, "symmetric": 0.5, "raw": 0.0}[preset]
        s = 0.5 if preset == "symmetric" else 1.0
        values = {"resize": side, "mean": (m,) * geometry.n_channels, "std": (s,) * geometry.n_channels}
    values["scale"] = 1.0 if preset == "raw" else 1 / 255
    return {**geometry.to_dict(), **values}


def infer_geometry(info) -> dict:
    """size, layout and channels from an image input's shape: (N, 1|3, H, W) -> NCHW,
    (N, H, W, 1|3) -> NHWC; a dynamic channel dim is taken as NCHW with 3 channels."""
    name, shape = _name(info), _shape(info)
    if shape is None or len(shape) != 4:
        raise SpecError(
            f"images feed a 4-D input (N, C, H, W or N, H, W, C); input {name!r} has shape "
            f"{'unknown' if shape is None else tuple(shape)}"
        )
    c1, c3 = shape[1], shape[3]
    if c1 in (1, 3) or (not _fixed(c1) and not _fixed(c3)):
        layout, c, hw = "NCHW", c1, shape[2:]
    elif c3 in (1, 3):
        layout, c, hw = "NHWC", c3, shape[1:3]
    else:
        raise SpecError(f"input {name!r} of shape {tuple(shape)} does not look like images (1 or 3 channels)")
    size = [d if _fixed(d) and d <= MAX_SIDE else DEFAULT_SIDE for d in hw]
    return {"size": size, "layout": layout, "channels": "L" if c == 1 else "RGB"}


def _spec_fields(spec) -> dict:
    if spec is None:
        return {}
    if isinstance(spec, dict):
        return dict(spec)
    text = str(spec).strip()
    if text.startswith("{"):
        return _json_object(text)
    if text not in PRESETS:
        raise SpecError(f"preprocess must be a preset ({', '.join(PRESETS)}) or a JSON object; got {text[:80]!r}")
    return {"preset": text}


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise SpecError(f"preprocess is not valid JSON: {text[:80]!r}") from None
    if not isinstance(value, dict):
        raise SpecError(f'preprocess JSON must be an object like {{"size": 224}}; got {type(value).__name__}')
    return value


def _size(value) -> tuple[int, int]:
    if _is_int(value):
        return (value, value)
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_int(v) for v in value):
        return (int(value[0]), int(value[1]))
    raise SpecError(f"preprocess size must be an integer or [height, width]; got {value!r}")


def _numbers(name: str, value) -> tuple[float, ...]:
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, (list, tuple)):
        value = [value]
    if not 1 <= len(value) <= 4:
        raise SpecError(f"preprocess {name} must be 1 or 3 numbers; got {value!r}"[:200])
    return tuple(_number(name, v) for v in value)


def _number(name: str, value) -> float:
    if isinstance(value, bool):
        raise SpecError(f"preprocess {name} must be a number; got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SpecError(f"preprocess {name} must be a number; got {value!r}"[:200]) from None


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SpecError(f"preprocess {name} must be one of {', '.join(allowed)}; got {value!r}"[:200])


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fixed(d) -> bool:
    return _is_int(d) and d > 0


def _name(info) -> str:
    return info["name"] if isinstance(info, dict) else info.name


def _dtype(info) -> str:
    return info["dtype"] if isinstance(info, dict) else info.dtype


def _shape(info):
    return info["shape"] if isinstance(info, dict) else info.shape
