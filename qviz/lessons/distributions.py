"""Toy tensors for the Learn page: named distributions, a 2-D layout, typed values.

Every generator is seeded and returns float32, so a lesson replays exactly:

    >>> make_distribution("normal", 4, seed=0)   # always the same 4 values
    array([ 0.12573022, -0.13210486,  0.64042264,  0.10490011], dtype=float32)
    >>> x = make_tensor("normal", 2048, 0, channels=8, channel_spread=10.0)
    >>> x.shape, round(float(x[7].std() / x[0].std()))     # row 7 is ~10x wider than row 0
    ((8, 256), 10)
"""

from __future__ import annotations

import numpy as np

from qviz.quant import SpecError

DISTRIBUTIONS = ("normal", "laplace", "uniform", "relu", "bimodal", "outliers")

# "outliers": this share of the values (at least one) is replaced by +-OUTLIER_SIZE.
OUTLIER_SHARE = 0.0005
OUTLIER_SIZE = 12.0
MAX_TYPED_VALUES = 10_000


def make_distribution(name: str, n: int, seed: int = 0) -> np.ndarray:
    """n samples (float32) of a named distribution; unit-ish spread, centred on 0.

    normal N(0, 1) | laplace (scale 1/sqrt 2, so std 1) | uniform U(-1, 1)
    | relu max(N(0, 1), 0) | bimodal N(+-2, 0.5) | outliers N(0, 1) with a few values at +-12.
    """
    if name not in DISTRIBUTIONS:
        raise SpecError(f"distribution must be one of {', '.join(DISTRIBUTIONS)}; got {name!r}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise SpecError(f"n (number of values) must be a positive integer; got {n!r}")
    rng = np.random.default_rng(seed)
    return _SAMPLERS[name](rng, int(n)).astype(np.float32)


def _outliers(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal(n)
    count = max(1, round(n * OUTLIER_SHARE))
    where = rng.choice(n, size=count, replace=False)
    x[where] = OUTLIER_SIZE * rng.choice([-1.0, 1.0], size=count)
    return x


def _bimodal(rng: np.random.Generator, n: int) -> np.ndarray:
    centre = rng.choice([-2.0, 2.0], size=n)
    return centre + 0.5 * rng.standard_normal(n)


_SAMPLERS = {
    "normal": lambda rng, n: rng.standard_normal(n),
    "laplace": lambda rng, n: rng.laplace(0.0, 1 / np.sqrt(2), n),
    "uniform": lambda rng, n: rng.uniform(-1.0, 1.0, n),
    "relu": lambda rng, n: np.maximum(rng.standard_normal(n), 0.0),
    "bimodal": _bimodal,
    "outliers": _outliers,
}


def make_tensor(name: str, n: int, seed: int = 0, channels: int = 8, channel_spread: float = 1.0) -> np.ndarray:
    """A [channels, n // channels] toy weight matrix whose row widths grow geometrically.

    Row c is scaled by channel_spread ** (c / (channels - 1)): with spread 10 the last
    channel is 10x wider than the first, the situation where per-channel scales pay off.
    """
    if not isinstance(channels, (int, np.integer)) or not 1 <= channels <= n:
        raise SpecError(f"channels must be an integer in 1..n ({n}); got {channels!r}")
    if not channel_spread >= 1.0:
        raise SpecError(f"channel_spread must be >= 1; got {channel_spread!r}")
    cols = n // channels
    x = make_distribution(name, channels * cols, seed).reshape(channels, cols)
    widths = channel_spread ** (np.arange(channels) / max(channels - 1, 1))
    return (x * widths[:, None]).astype(np.float32)


def parse_values(text: str) -> np.ndarray:
    """'1, -0.5, 2e-3' -> a float32 matrix of shape [1, 3] (one row: one channel).

    Commas, semicolons, spaces and newlines all separate values. A word that is not a
    number, NaN/Inf, or no value at all is a SpecError naming the culprit.
    """
    tokens = [tok for tok in text.replace(";", ",").replace("\n", ",").replace(" ", ",").split(",") if tok]
    if not tokens:
        raise SpecError("values: type at least one number, e.g. -1, 0.5, 1")
    if len(tokens) > MAX_TYPED_VALUES:
        raise SpecError(f"values: at most {MAX_TYPED_VALUES} typed values; got {len(tokens)}")
    values = []
    for tok in tokens:
        try:
            values.append(float(tok))
        except ValueError:
            raise SpecError(f"values: {tok[:20]!r} is not a number; separate numbers with commas") from None
    x = np.asarray(values, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise SpecError("values: NaN and Inf are not allowed here (the engine handles them; the lesson does not)")
    return x.reshape(1, -1)
