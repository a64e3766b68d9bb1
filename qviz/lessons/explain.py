"""One value through the quantizer, step by step, with the numbers the engine uses.

Integer affine (the classic worked example, 0.5 in [-1, 1], 8 bits asymmetric):

    scale      = (hi - lo) / (qmax - qmin)      = 2 / 255                  = 0.0078431
    zero_point = round(qmin - lo / scale)       = round(127.49999)         = 127
    q          = clip(round(x / scale) + zp)    = clip(round(63.75) + 127) = 191
    x_hat      = (q - zero_point) * scale       = 64 * 0.0078431           = 0.50196

Fixed point Qm.n: q = clip(round(x * 2**n)), x_hat = q / 2**n. Log, k-means and float:
x_hat is the nearest representable level (the engine decides which; we report it).
The numbers come from the same functions the engine calls (qparams_from_range,
round_values), in float32 like the engine, so the code shown equals the code computed.

# NOTE: rounding=stochastic draws its own noise for the single value, so its code can differ
# from the code the same value got inside the tensor (the table); every other mode agrees.
"""

from __future__ import annotations

import numpy as np

from qviz.quant import QuantSpec
from qviz.quant.api import quantize
from qviz.quant.granularity import to_groups
from qviz.quant.qparams import qparams_from_range
from qviz.quant.ranges import estimate_range
from qviz.quant.rounding import round_values


def explain_value(value: float, x: np.ndarray, spec: QuantSpec) -> dict:
    """Named numbers of the formula for `value`, using the first group's parameters of x.

    Keys always present: kind ("int" | "fixed_point" | "level"), x, q (None for float),
    x_hat, error. int adds lo_est, hi_est, lo, hi, qmin, qmax, scale, zp_raw, zero_point,
    x_over_s, rounded, shifted; fixed_point adds frac_bits, x_times, rounded, qmin, qmax.
    """
    if spec.scheme == "int":
        return _explain_int(float(value), x, spec)
    if spec.scheme == "fixed_point":
        return _explain_fixed(float(value), spec)
    return _explain_level(float(value), x, spec)


def _first_group_range(x: np.ndarray, spec: QuantSpec) -> tuple[float, float]:
    x2d = to_groups(np.asarray(x), spec.granularity, spec.axis, spec.group_size)
    lo, hi = estimate_range(x2d, spec)
    return float(np.asarray(lo).reshape(-1)[0]), float(np.asarray(hi).reshape(-1)[0])


def _explain_int(value: float, x: np.ndarray, spec: QuantSpec) -> dict:
    lo_est, hi_est = _first_group_range(x, spec)
    lo, hi = min(lo_est, 0.0), max(hi_est, 0.0)  # 0 must be representable
    if spec.symmetric:
        lo, hi = -max(-lo, hi), max(-lo, hi)
    scale_array, zp_array = qparams_from_range(lo_est, hi_est, spec.qmin, spec.qmax, spec.symmetric, spec.pow2_scale)
    scale, zero_point = np.float32(scale_array), int(zp_array)
    x_over_s = np.float32(value) / scale
    rounded = int(round_values(np.asarray([x_over_s]), spec.rounding, spec.seed)[0])
    q = int(np.clip(rounded + zero_point, spec.qmin, spec.qmax))
    x_hat = float(np.float32((q - zero_point) * scale))
    return {
        "kind": "int",
        "x": value,
        "lo_est": lo_est,
        "hi_est": hi_est,
        "lo": lo,
        "hi": hi,
        "qmin": spec.qmin,
        "qmax": spec.qmax,
        "scale": float(scale),
        "scale_raw": (hi - lo) / (spec.qmax - spec.qmin),
        "zp_raw": spec.qmin - lo / float(scale),
        "zero_point": zero_point,
        "x_over_s": float(x_over_s),
        "rounded": rounded,
        "shifted": rounded + zero_point,
        "q": q,
        "x_hat": x_hat,
        "error": value - x_hat,
    }


def _explain_fixed(value: float, spec: QuantSpec) -> dict:
    x_times = np.float32(value) * np.float32(2.0**spec.frac_bits)
    rounded = int(round_values(np.asarray([x_times], dtype=np.float64), spec.rounding, spec.seed)[0])
    q = int(np.clip(rounded, spec.qmin, spec.qmax))
    x_hat = q / 2.0**spec.frac_bits
    return {
        "kind": "fixed_point",
        "x": value,
        "frac_bits": spec.frac_bits,
        "x_times": float(x_times),
        "rounded": rounded,
        "qmin": spec.qmin,
        "qmax": spec.qmax,
        "q": q,
        "x_hat": x_hat,
        "error": value - x_hat,
    }


def _explain_level(value: float, x: np.ndarray, spec: QuantSpec) -> dict:
    """log / kmeans / float: quantize value together with x (so k-means fits the same centroids)."""
    flat = np.append(np.asarray(x, dtype=np.float32).reshape(-1)[: _first_group_size(x, spec)], np.float32(value))
    result = quantize(flat, spec.replace(granularity="tensor", axis=0))
    x_hat = float(result.x_dq[-1])
    q = None if result.q is None else int(np.asarray(result.q).reshape(-1)[-1])
    return {"kind": "level", "x": value, "q": q, "x_hat": x_hat, "error": value - x_hat}


def _first_group_size(x: np.ndarray, spec: QuantSpec) -> int:
    return to_groups(np.asarray(x), spec.granularity, spec.axis, spec.group_size).shape[1]


def _num(v, digits: int = 6) -> str:
    """A number for LaTeX."""
    return f"{v:.{digits}g}"


def _p(v, digits: int = 6) -> str:
    """A number that follows an operator: negatives in parentheses, so 'a - (-1)' reads right."""
    text = _num(v, digits)
    return f"({text})" if text.startswith("-") else text


_ROUND_TEX = {
    "half_even": r"\mathrm{round}",
    "half_away": r"\mathrm{round}_{\pm}",
    "floor": r"\mathrm{floor}",
    "trunc": r"\mathrm{trunc}",
    "stochastic": r"\mathrm{round}_{\mathrm{stoch}}",
}


def _steps(lhs: str, *rows: str) -> str:
    """One equation as an aligned block: lhs = row1 (newline) = row2 ... so long steps wrap.

    A row starting with a relation of its own (\\to: "becomes") keeps it instead of "=".
    """
    body = [row if row.startswith("\\to") else "= " + row for row in rows]
    # NOTE: lhs goes in braces: "\begin{aligned}[lo, hi]" would read [lo, hi] as aligned's [t]/[b] option.
    return r"\begin{aligned}{" + lhs + "} &" + r" \\ &".join(body) + r"\end{aligned}"


def formula_latex(d: dict, spec: QuantSpec) -> list[str]:
    """The explain_value numbers as LaTeX blocks, one step per block (language-neutral math)."""
    if d["kind"] == "int":
        return _int_latex(d, spec)
    x_hat, error = _num(d["x_hat"], 8), rf"x - \hat{{x}} = {_num(d['x'])} - {_p(d['x_hat'], 8)} = {_num(d['error'])}"
    if d["kind"] == "fixed_point":
        r, n = _ROUND_TEX[spec.rounding], d["frac_bits"]
        return [
            _steps(
                "q",
                rf"\mathrm{{clip}}({r}(x \cdot 2^{{n}}), q_{{min}}, q_{{max}})",
                rf"\mathrm{{clip}}({r}({_num(d['x'])} \cdot 2^{{{n}}}), {d['qmin']}, {d['qmax']})",
                rf"\mathrm{{clip}}({r}({_num(d['x_times'], 8)}))",
                rf"\mathrm{{clip}}({d['rounded']})",
                str(d["q"]),
            ),
            _steps(r"\hat{x}", r"q / 2^{n}", rf"{d['q']} / {2**n}", x_hat),
            error,
        ]
    code = "" if d["q"] is None else rf",\quad \text{{code}} = {d['q']}"
    return [rf"\hat{{x}} = \text{{nearest level}}({_num(d['x'])}) = {x_hat}{code}", error]


def _int_latex(d: dict, spec: QuantSpec) -> list[str]:
    r, s, z = _ROUND_TEX[spec.rounding], _num(d["scale"], 8), _p(d["zero_point"])
    symmetric = [r"\to [-a, a],\ a = \max(|lo|, |hi|)"] if spec.symmetric else []
    exact = _num(d["scale_raw"], 8)
    stored = [rf"\to {s}\ (\text{{float32}})"] if exact != s and not spec.pow2_scale else []
    pow2 = [rf"\to 2^{{\lceil \log_2 {exact} \rceil}} = {s}"] if spec.pow2_scale else []
    lines = [
        _steps(
            "[lo, hi]",
            rf"[\min({_num(d['lo_est'])}, 0), \max({_num(d['hi_est'])}, 0)]",
            *symmetric,
            rf"[{_num(d['lo'])}, {_num(d['hi'])}]",
        ),
        _steps(
            "s",
            r"\frac{hi - lo}{q_{max} - q_{min}}",
            rf"\frac{{{_num(d['hi'])} - {_p(d['lo'])}}}{{{d['qmax']} - {_p(d['qmin'])}}}",
            exact,
            *stored,
            *pow2,
        ),
    ]
    if spec.symmetric:
        lines.append(
            rf"z = {d['zero_point']}"
            + (r"\ (\text{symmetric, signed})" if spec.signed else r"\ (\text{symmetric: middle code})")
        )
    else:
        lines.append(
            _steps(
                "z",
                r"\mathrm{round}(q_{min} - lo / s)",
                rf"\mathrm{{round}}({_num(d['qmin'])} - {_p(d['lo'])} / {s})",
                rf"\mathrm{{round}}({_num(d['zp_raw'], 9)})",
                str(d["zero_point"]),
            )
        )
    lines.append(
        _steps(
            "q",
            rf"\mathrm{{clip}}({r}(x / s) + z, q_{{min}}, q_{{max}})",
            rf"\mathrm{{clip}}({r}({_num(d['x'])} / {s}) + {z}, {d['qmin']}, {d['qmax']})",
            rf"\mathrm{{clip}}({r}({_num(d['x_over_s'], 8)}) + {z})",
            rf"\mathrm{{clip}}({d['shifted']})",
            str(d["q"]),
        )
    )
    lines.append(_steps(r"\hat{x}", r"(q - z) \cdot s", rf"({d['q']} - {z}) \cdot {s}", _num(d["x_hat"], 8)))
    lines.append(rf"x - \hat{{x}} = {_num(d['x'])} - {_p(d['x_hat'], 8)} = {_num(d['error'])}")
    return lines
