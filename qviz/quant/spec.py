"""QuantSpec: how one tensor is quantized. Immutable, validated, JSON-friendly.

A spec is flat on purpose: every field is a plain value, so a spec is one row of the
per-layer table in the app, one JSON object in a config file, and a cache key.

    >>> QuantSpec(bits=4, granularity="group", axis=1, group_size=32).qmax   # int4: codes -8..7
    7
    >>> QuantSpec(scheme="float", float_format="float8_e4m3fn").bits          # set by the format
    8
    >>> s = QuantSpec(scheme="fixed_point", bits=8, frac_bits=5)      # Q2.5 with a sign bit
    >>> s.qmin / 2**5, s.qmax / 2**5                                  # its range
    (-4.0, 3.96875)

Fields that a scheme does not use keep their defaults and are ignored by it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Literal, get_args

Scheme = Literal["int", "fixed_point", "log", "kmeans", "float"]
Granularity = Literal["tensor", "channel", "group"]
Rounding = Literal["half_even", "half_away", "floor", "trunc", "stochastic"]
Estimator = Literal["minmax", "percentile", "sigma", "mse", "entropy", "manual"]
FloatFormat = Literal["float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"]

SCHEMES: tuple[Scheme, ...] = get_args(Scheme)
GRANULARITIES: tuple[Granularity, ...] = get_args(Granularity)
ROUNDINGS: tuple[Rounding, ...] = get_args(Rounding)
ESTIMATORS: tuple[Estimator, ...] = get_args(Estimator)
FLOAT_FORMATS: tuple[FloatFormat, ...] = get_args(FloatFormat)

# Allowed bit widths per scheme (inclusive).
BITS_RANGE: dict[Scheme, tuple[int, int]] = {
    "int": (2, 16),
    "fixed_point": (2, 32),
    "log": (2, 8),
    "kmeans": (1, 8),
    "float": (8, 16),
}
FLOAT_FORMAT_BITS: dict[FloatFormat, int] = {"float16": 16, "bfloat16": 16, "float8_e4m3fn": 8, "float8_e5m2": 8}


class SpecError(ValueError):
    """A spec or config parameter has an impossible value; the message names it."""


def _choice(name: str, value: object, allowed: Collection[object]) -> None:
    if value not in allowed:
        raise SpecError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class QuantSpec:
    """One tensor's quantization scheme.

    scheme          int (integer affine) | fixed_point (Qm.n) | log (signed powers of two)
                    | kmeans (codebook of 2**bits centroids) | float (simulated float format)
    bits            integer bit width (int 2..16, fixed_point 2..32, log 2..8, kmeans 1..8);
                    for scheme=float it is set from float_format
    signed          int codes in [-2**(b-1), 2**(b-1)-1] if True, else [0, 2**b - 1]
    symmetric       zero point 0 (signed) or the mid code (unsigned); range [-a, a]
    restricted_range  symmetric only: drop the most negative code, e.g. int8 in [-127, 127]
    granularity     tensor | channel (one scale per index of `axis`) | group (blocks of
                    `group_size` consecutive values along `axis`, as ONNX blocked quantization)
    rounding        half_even (ONNX) | half_away | floor | trunc (toward zero) | stochastic (seeded)
    estimator       how the clipping range [lo, hi] is chosen: minmax | percentile | sigma
                    (mean +- k*std) | mse (search minimizing error) | entropy (KL, histogram) | manual
    percentile      for estimator=percentile: keep this percentage of |x| inside the range
    sigmas          for estimator=sigma: k; None chooses k from bits
    range_min/max   for estimator=manual
    pow2_scale      round the scale up to a power of two (shift-only hardware)
    frac_bits       for scheme=fixed_point: n in Qm.n (step 2**-n)
    float_format    for scheme=float
    seed            for rounding=stochastic and k-means init
    """

    scheme: Scheme = "int"
    bits: int = 8
    signed: bool = True
    symmetric: bool = True
    restricted_range: bool = False
    granularity: Granularity = "tensor"
    axis: int = 0
    group_size: int = 32
    rounding: Rounding = "half_even"
    estimator: Estimator = "minmax"
    percentile: float = 99.99
    sigmas: float | None = None
    range_min: float | None = None
    range_max: float | None = None
    pow2_scale: bool = False
    frac_bits: int = 4
    float_format: FloatFormat = "float16"
    seed: int = 0

    def __post_init__(self) -> None:
        _choice("scheme", self.scheme, SCHEMES)
        _choice("granularity", self.granularity, GRANULARITIES)
        _choice("rounding", self.rounding, ROUNDINGS)
        _choice("estimator", self.estimator, ESTIMATORS)
        _choice("float_format", self.float_format, FLOAT_FORMATS)
        if self.scheme == "float":
            object.__setattr__(self, "bits", FLOAT_FORMAT_BITS[self.float_format])
        for name in ("bits", "axis", "group_size", "frac_bits", "seed"):
            if not _is_int(getattr(self, name)):
                raise SpecError(f"{name} must be an integer; got {getattr(self, name)!r}")
        for name in ("signed", "symmetric", "restricted_range", "pow2_scale"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(f"{name} must be true or false; got {getattr(self, name)!r}")
        lo, hi = BITS_RANGE[self.scheme]
        if not lo <= self.bits <= hi:
            raise SpecError(f"bits must be in {lo}..{hi} for scheme={self.scheme}; got {self.bits}")
        if self.group_size < 1:
            raise SpecError(f"group_size must be >= 1; got {self.group_size}")
        if self.restricted_range and not (self.symmetric and self.signed):
            raise SpecError("restricted_range needs symmetric=true and signed=true")
        if self.scheme == "fixed_point" and not 0 <= self.frac_bits <= self.bits:
            raise SpecError(f"frac_bits must be in 0..bits ({self.bits}); got {self.frac_bits}")
        if not (isinstance(self.percentile, (int, float)) and 50.0 < self.percentile <= 100.0):
            raise SpecError(f"percentile must be in (50, 100]; got {self.percentile!r}")
        if self.sigmas is not None and not (isinstance(self.sigmas, (int, float)) and self.sigmas > 0):
            raise SpecError(f"sigmas must be a positive number or null; got {self.sigmas!r}")
        self._check_manual_range()

    def _check_manual_range(self) -> None:
        if self.estimator != "manual":
            return
        lo, hi = self.range_min, self.range_max
        if lo is None or hi is None:
            raise SpecError("estimator=manual needs range_min and range_max")
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise SpecError(f"range_min <= range_max, both finite, is required; got [{lo}, {hi}]")

    @property
    def qmin(self) -> int:
        """Smallest integer code: -2**(b-1) (+1 if restricted) when signed, else 0."""
        if not self.signed:
            return 0
        half: int = 2 ** (self.bits - 1)  # typeshed types int ** int as Any (a negative power is a float)
        return -half + (1 if self.restricted_range else 0)

    @property
    def qmax(self) -> int:
        """Largest integer code: 2**(b-1)-1 when signed, else 2**b - 1."""
        codes: int = 2 ** (self.bits - 1) if self.signed else 2**self.bits  # int ** int is typed Any
        return codes - 1

    def replace(self, **changes: Any) -> QuantSpec:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantSpec:
        """Build from JSON data; unknown keys are an error (a typo must not be ignored)."""
        if not isinstance(data, dict):
            raise SpecError(f"a quantization spec must be a JSON object; got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"unknown key(s) {', '.join(unknown)} in spec; allowed: {', '.join(sorted(known))}")
        return cls(**data)
