"""Integer affine quantization: ONNX QuantizeLinear / DequantizeLinear (opset 21), bit for bit.

    q    = saturate(round_half_even(x / scale) + zero_point)      q in [qmin, qmax]
    x_dq = (q - zero_point) * scale

The rules onnxruntime follows, and so do we (tests/quant/test_affine_ort.py checks every one):
- x / scale is a float32 *division*. Multiplying by a precomputed 1/scale differs on about
  one exact tie (x = (k + 0.5) * scale) in ten, so it is not used;
- rounding is np.rint (ties to even: 2.5 -> 2, 3.5 -> 4), saturation comes after it;
- +Inf saturates to qmax, -Inf to qmin, and NaN quantizes to qmin (onnxruntime's behaviour;
  the ONNX spec leaves NaN undefined). So NaN dequantizes to (qmin - zero_point) * scale.
float16 input is computed in float32, float64 input in float64 (onnxruntime has no float64
QuantizeLinear; the division is then exact to float64, not float32).

Example (the ONNX spec's): x = [0, 2, 3, 1000, -254, -1000], scale 2, zero point 128, uint8
-> [128, 129, 130, 255, 1, 0]  (3/2 = 1.5 is a tie and rounds to the even 2; 1000 saturates).

Layout, as ONNX: axis=None is per-tensor (scale of size 1); `axis` alone is per-axis (scale
shape (x.shape[axis],)); `axis` with `block_size` is blocked (scale shape = x.shape with
shape[axis] // block_size at `axis`). zero_point has the scale's shape (or is a scalar).

# NOTE: speed. The work is memory bound: a naive chain (np.clip(np.rint(x / s), ...) * s)
# makes four full-size temporaries. Here every pass runs on chunks of CHUNK elements that stay
# in the CPU cache, in place in the output, so the tensor crosses the memory bus once each way.
# Per-axis / blocked parameters broadcast against a reshaped view of x (pre, C, post) or
# (pre, blocks, block_size, post); the scale is spread over at most one chunk, never over
# the whole tensor. bench/bench_quant.py measures all this against onnxruntime.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from qviz.quant.granularity import rows_to_params, to_groups
from qviz.quant.qparams import qparams_from_range
from qviz.quant.result import QuantResult, make_result
from qviz.quant.rounding import round_values
from qviz.quant.spec import QuantSpec, Rounding, SpecError

CHUNK = 1 << 18  # elements per pass: 1 MB of float32 (L2/L3-resident); fewer calls beat a tighter fit (measured)


def quantize_linear(
    x: npt.ArrayLike,
    scale: npt.ArrayLike,
    zero_point: npt.ArrayLike,
    qmin: int,
    qmax: int,
    axis: int | None = None,
    block_size: int | None = None,
    rounding: Rounding = "half_even",
    seed: int = 0,
) -> npt.NDArray[np.int32]:
    """Integer codes of x (int32, same shape), ONNX QuantizeLinear semantics (module docstring)."""
    x = _as_float(x)
    plan = _Plan(x, scale, zero_point, qmin, qmax, axis, block_size)
    q = np.empty(x.shape, dtype=np.int32)
    qv = q.reshape(plan.shape)
    rng = np.random.default_rng(seed) if rounding == "stochastic" else None
    for idx, s, z, lo, hi in plan.chunks():
        work = np.empty(qv[idx].shape, dtype=plan.dtype)
        _round_clip(plan.x[idx], s, lo, hi, rounding, rng, work)
        work += z.astype(work.dtype)
        np.copyto(qv[idx], work, casting="unsafe")
    return q


def dequantize_linear(
    q: npt.ArrayLike,
    scale: npt.ArrayLike,
    zero_point: npt.ArrayLike,
    axis: int | None = None,
    block_size: int | None = None,
    dtype: npt.DTypeLike = np.float32,
) -> np.ndarray:
    """(q - zero_point) * scale as `dtype` (float32 like onnxruntime; float64 on request)."""
    q = np.asarray(q)
    plan = _Plan(q, scale, zero_point, None, None, axis, block_size, dtype=np.dtype(dtype))
    out = np.empty(q.shape, dtype=plan.dtype)
    ov = out.reshape(plan.shape)
    for idx, s, z, _, _ in plan.chunks():
        o = ov[idx]
        np.subtract(plan.x[idx], z, out=o, casting="unsafe")
        o *= s
    return out


def fake_quantize(
    x: npt.ArrayLike,
    scale: npt.ArrayLike,
    zero_point: npt.ArrayLike,
    qmin: int,
    qmax: int,
    axis: int | None = None,
    block_size: int | None = None,
    rounding: Rounding = "half_even",
    out: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Quantize then dequantize in one pass: equal to dequantize_linear(quantize_linear(x)).

    Writes into `out` (a C-contiguous float array of x's shape; `out=x` works in place) or a
    new array (float32; float64 for float64 x). Extra memory: one chunk, not one tensor.
    """
    x = _as_float(x)
    plan = _Plan(x, scale, zero_point, qmin, qmax, axis, block_size)
    out = _check_out(out, x.shape, plan.dtype)
    ov = out.reshape(plan.shape)
    rng = np.random.default_rng(seed) if rounding == "stochastic" else None
    for idx, s, _, lo, hi in plan.chunks():
        o = ov[idx]
        _round_clip(plan.x[idx], s, lo, hi, rounding, rng, o)
        o *= s
    return out


def quantize_int(x: np.ndarray, spec: QuantSpec) -> QuantResult:
    """Integer affine quantization of x with `spec` (scheme=int): range -> qparams -> codes.

    Per group: [lo, hi] from spec.estimator (non-finite values ignored), scale and zero point
    from qparams_from_range, codes by quantize_linear, x_dq = dequantize_linear(codes) in x's
    float type. The result's lo/hi are the ends of the representable grid of each group,
    (qmin - zp) * scale and (qmax - zp) * scale; the estimator's range is in
    result.extra["range_lo"], ["range_hi"].
    """
    lo, hi = _estimate_range(to_groups(x, spec.granularity, spec.axis, spec.group_size), spec)
    scale, zp = qparams_from_range(lo, hi, spec.qmin, spec.qmax, spec.symmetric, spec.pow2_scale)
    axis, block_size = onnx_layout(spec)
    scale_p, zp_p = (rows_to_params(v, x.shape, spec.granularity, spec.axis, spec.group_size) for v in (scale, zp))
    q = quantize_linear(x, scale_p, zp_p, spec.qmin, spec.qmax, axis, block_size, spec.rounding, spec.seed)
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    x_dq = dequantize_linear(q, scale_p, zp_p, axis, block_size, dtype=dtype)
    grid_lo = (spec.qmin - zp).astype(dtype) * scale.astype(dtype)
    grid_hi = (spec.qmax - zp).astype(dtype) * scale.astype(dtype)
    return make_result(
        spec, x, x_dq, grid_lo, grid_hi, q=q, scale=scale_p, zero_point=zp_p, extra={"range_lo": lo, "range_hi": hi}
    )


def onnx_layout(spec: QuantSpec) -> tuple[int | None, int | None]:
    """(axis, block_size) for QuantizeLinear: (None, None) | (axis, None) | (axis, group_size)."""
    if spec.granularity == "tensor":
        return None, None
    return spec.axis, (spec.group_size if spec.granularity == "group" else None)


def _estimate_range(x2d: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray, np.ndarray]:
    from qviz.quant.ranges import estimate_range  # NOTE: lazy, ranges is a sibling package with its own tests

    lo, hi = estimate_range(x2d, spec)
    # NOTE: a non-finite range would make a NaN scale; the estimators promise finite ranges,
    # this keeps that promise from being the only guard.
    return np.nan_to_num(lo, nan=0.0, posinf=0.0, neginf=0.0), np.nan_to_num(hi, nan=0.0, posinf=0.0, neginf=0.0)


def _round_clip(
    x: np.ndarray,
    s: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    rounding: Rounding,
    rng: np.random.Generator | None,
    out: np.ndarray,
) -> None:
    """out = clip(round(x / s), lo, hi) with NaN -> lo, where lo = qmin - zp, hi = qmax - zp."""
    np.divide(x, s, out=out)
    if rng is None:
        round_values(out, rounding, out=out)
    else:  # stochastic: one generator for the whole tensor, consumed chunk by chunk
        out += rng.random(out.shape, dtype=out.dtype)
        np.floor(out, out=out)
    if np.ndim(lo) == 0:
        np.clip(out, lo, hi, out=out)
    else:  # NOTE: np.maximum/np.minimum with broadcast arrays beat np.clip with arrays 3x
        np.maximum(out, lo, out=out)
        np.minimum(out, hi, out=out)
    # NOTE: np.clip keeps NaN; onnxruntime gives qmin. A min-reduction is the cheapest NaN test.
    if out.size and np.isnan(np.minimum.reduce(out, axis=None)):
        np.copyto(out, np.broadcast_to(lo, out.shape), where=np.isnan(out))


def _as_float(x: npt.ArrayLike) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype in (np.float16, np.float32, np.float64):
        return x
    if x.dtype.kind not in "biuf":
        raise SpecError(f"x must hold real numbers; got dtype {x.dtype}")
    return x.astype(np.float32)


def _check_out(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray) or out.shape != tuple(shape) or out.dtype.kind != "f":
        raise SpecError(f"out must be a float array of shape {tuple(shape)}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise SpecError("out must be a writeable C-contiguous array")
    return out


class _Plan:
    """x reshaped to expose the quantization axis, its parameters shaped to broadcast, chunks.

    per-tensor: x (N,)                       params (1,)
    per-axis:   x (pre, C, post)             params (1, C, 1)      (pre, C) and (1, C) if post == 1
    blocked:    x (pre, B, block_size, post) params (pre, B, 1, post)
                                             (pre * B, block_size) and (pre * B, 1) if post == 1
    # NOTE: dropping a trailing axis of length 1 matters: numpy's inner loop runs along the
    # last axis, and a loop of length 1 per element is ~10x slower.
    """

    def __init__(
        self,
        x: np.ndarray,
        scale: npt.ArrayLike,
        zero_point: npt.ArrayLike,
        qmin: int | None,
        qmax: int | None,
        axis: int | None,
        block_size: int | None,
        dtype: np.dtype | None = None,
    ) -> None:
        self.dtype = dtype or (np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32))
        self.shape, pshape = _layout(x.shape, axis, block_size, np.shape(scale))
        self.x = x.reshape(self.shape)
        self.scale = _check_scale(scale, self.dtype).reshape(pshape)
        self.zero_point = _check_zero_point(zero_point, np.shape(scale), qmin, qmax).reshape(pshape)
        self.lo = self.hi = self.zero_point
        if qmin is not None and qmax is not None:  # both set (quantize) or both None (dequantize)
            # NOTE: a uniform zero point (every symmetric spec) gives scalar bounds, and np.clip
            # with scalars is about 7x faster than with arrays (measured, numpy 2.4).
            zp = self.zero_point.flat[0] if _is_uniform(self.zero_point) else self.zero_point
            self.lo, self.hi = (np.asarray(q - zp).astype(self.dtype) for q in (qmin, qmax))

    def chunks(self) -> Iterator[tuple[tuple[slice, ...], np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Yield (index into x, scale, zero_point, lo, hi) for chunks of about CHUNK elements.

        A per-axis / blocked scale comes spread over the chunk's shape (one chunk-sized buffer,
        reused): numpy divides and multiplies 2-3x faster by a contiguous array than by a
        broadcast one.
        """
        params = (self.scale, self.zero_point, self.lo, self.hi)
        buf = np.empty(CHUNK if self.scale.size > 1 else 0, dtype=self.dtype)
        for idx in _chunk_indices(self.shape, CHUNK):
            s, z, lo, hi = (p[_param_index(p.shape, idx)] if p.ndim else p for p in params)
            if s.size > 1:
                s = _spread(s, self.x[idx].shape, buf)
            yield idx, s, z, lo, hi


def _spread(param: np.ndarray, shape: tuple[int, ...], buf: np.ndarray) -> np.ndarray:
    """param broadcast to `shape`, written into the front of buf (a chunk-sized scratch array)."""
    view = buf[: math.prod(shape)].reshape(shape)
    np.copyto(view, param)
    return view


def _is_uniform(a: np.ndarray) -> bool:
    return a.size > 0 and bool(np.all(a == a.flat[0]))


def _layout(
    shape: tuple[int, ...], axis: int | None, block_size: int | None, pshape: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(view shape of x, broadcastable parameter shape); SpecError if scale has the wrong shape."""
    if axis is None:
        if block_size is not None:
            raise SpecError("block_size needs an axis")
        if math.prod(pshape) != 1:
            raise SpecError(f"per-tensor quantization needs a single scale; got shape {pshape} (pass axis)")
        return (math.prod(shape),), (1,)
    ndim = len(shape)
    if not -ndim <= axis < ndim:
        raise SpecError(f"axis must be in {-ndim}..{ndim - 1} for a {ndim}-d tensor; got {axis}")
    axis %= ndim
    pre, n, post = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])
    if block_size is None:
        _expect_shape(pshape, (n,))
        return ((pre, n), (1, n)) if post == 1 else ((pre, n, post), (1, n, 1))
    if block_size < 1 or n % block_size:
        raise SpecError(f"block_size must be >= 1 and divide the length of axis {axis} ({n}); got {block_size}")
    _expect_shape(pshape, (*shape[:axis], n // block_size, *shape[axis + 1 :]))
    if post == 1:
        return (pre * (n // block_size), block_size), (pre * (n // block_size), 1)
    return (pre, n // block_size, block_size, post), (pre, n // block_size, 1, post)


def _expect_shape(got: tuple[int, ...], want: tuple[int, ...]) -> None:
    if tuple(got) != tuple(want):
        raise SpecError(f"scale must have shape {tuple(want)} for this axis/block_size; got {tuple(got)}")


def _check_scale(scale: npt.ArrayLike, dtype: np.dtype) -> np.ndarray:
    scale = np.asarray(scale)
    if scale.dtype.kind != "f" or not np.all(np.isfinite(scale) & (scale > 0)):
        raise SpecError("scale must be finite and > 0 everywhere")
    return scale.astype(dtype)


def _check_zero_point(
    zero_point: npt.ArrayLike, pshape: tuple[int, ...], qmin: int | None, qmax: int | None
) -> np.ndarray:
    zp = np.asarray(zero_point)
    if zp.dtype.kind not in "iu":
        raise SpecError(f"zero_point must be integers; got dtype {zp.dtype}")
    if zp.size != 1 and zp.shape != tuple(pshape):
        raise SpecError(f"zero_point must have the scale's shape {tuple(pshape)}; got {zp.shape}")
    if qmin is not None and qmax is not None and zp.size and (zp.min() < qmin or zp.max() > qmax):
        raise SpecError(f"zero_point must be in [qmin, qmax] = [{qmin}, {qmax}]")
    return np.broadcast_to(zp.astype(np.int32), pshape) if zp.size == 1 else zp.astype(np.int32)


def _chunk_indices(shape: tuple[int, ...], limit: int) -> Iterator[tuple[slice, ...]]:
    """Tuples of slices covering `shape`, each selecting about `limit` elements or fewer."""
    inner = math.prod(shape[1:])
    if len(shape) > 1 and inner > limit:
        for i in range(shape[0]):
            for rest in _chunk_indices(shape[1:], limit):
                yield (slice(i, i + 1), *rest)
        return
    step = max(1, limit // max(inner, 1))
    for start in range(0, shape[0], step):
        yield (slice(start, start + step),) + (slice(None),) * (len(shape) - 1)


def _param_index(pshape: tuple[int, ...], idx: tuple[slice, ...]) -> tuple[slice, ...]:
    """The chunk index for a broadcast parameter: broadcast (size-1) dims take everything."""
    return tuple(s if n > 1 else slice(None) for s, n in zip(idx, pshape, strict=False))
