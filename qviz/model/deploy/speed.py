"""speed_report: where a deployed model's time goes, op by op, next to the float model's, and why.

    >>> from qviz.config import PRESETS
    >>> from qviz.model.deploy.deployable import deploy
    >>> from qviz.samples import load_sample
    >>> sample = load_sample("digits_cnn")
    >>> int8 = deploy(sample.model_bytes, PRESETS["w8a8"], sample.calibration.x)
    >>> r = speed_report(int8, sample.model_bytes, {"input": sample.test.x[:1]}, runs=3)
    >>> r.kernels["/features/features.0/Conv"], list(r.by_op.columns)
    ('integer', ['op type', 'int8 ms', 'int8 nodes', 'fp32 ms', 'fp32 nodes'])
    >>> explain_slowdown(speedup=0.6, overhead_share=0.45, vnni=True, x86=True, nbits_share=0.0, overhead_ops="QLinearAdd")
    'int8 is slower than fp32 (0.60x): small layers dominated by Q/DQ: QLinearAdd take 45% of the int8 time'

How: each model runs `runs` times in one session with onnxruntime's profiler on
(SessionOptions.enable_profiling, one thread, no spinning); the JSON profile it writes is
parsed: every "Node" event is one kernel run (name "<node>_kernel_time", args.op_name, dur
in microseconds). Times are per run (sum over runs / runs); compare the two columns, which
were measured in the same process one after the other: absolute numbers drift on a shared
machine, the ratio holds better.

The explanation (explain_slowdown) is a function of the measured numbers only: when the int8
model is slower, the first cause that applies is named: quantization overhead taking a quarter
or more of the int8 time (Q/DQ nodes left unfused, element-wise QLinearAdd/QLinearMul...: on
small layers converting costs more than the integer arithmetic saves; measured on 12 MatMul 4x4
+ Add pairs: QLinearAdd 85% of the int8 time, 0.03x fp32); float ops the fp32 graph fuses
that the int8 graph runs between its Q/DQ nodes (the orientation model: 27 BatchNormalization,
30 HardSigmoid, 28 Mul and 60 Transposes, where fp32 folded BN and the activations into its
Convs: 0.37x fp32); MatMulNBits
without a fast int4 path (x86 without VNNI, ARM without dot-product); no VNNI (u8 x s8 kernels
multiply in int16 pairs: about 1.3x at best on conv nets); else layers that fall back to float.
The hardware line reads /proc/cpuinfo flags (what MLAS dispatches on).
"""

from __future__ import annotations

import json
import platform
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort
import pandas as pd

from qviz.model.deploy.kernels import integer_ops_report
from qviz.model.runtime.session import make_session, run_session, session_options

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
INTEGER_KERNELS = ("QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "MatMulNBits", "QGemm")
OVERHEAD_DOMINATES = 0.25  # share of the int8 time in Q/DQ overhead above which it is the cause
NBITS_DOMINATES = 0.3


@dataclass
class SpeedReport:
    """Per-op-type times of the int8 and fp32 models, kernels, unfused Q/DQ, hardware, the why."""

    by_op: pd.DataFrame  # op type, int8 ms, int8 nodes, fp32 ms, fp32 nodes (per run), slowest first
    int8_ms: float
    fp32_ms: float
    kernels: dict[str, str]  # layer id -> integer | float fallback | float (kernels.py)
    unfused_qdq: int  # QuantizeLinear/DequantizeLinear nodes executed in the int8 profile
    qdq_ms: float
    hardware: str
    recommendations: list[str]
    explanation: str | None

    @property
    def speedup(self) -> float:
        """fp32 time / int8 time: above 1 int8 is faster."""
        return self.fp32_ms / self.int8_ms if self.int8_ms > 0 else float("inf")

    def to_dict(self) -> dict:
        return {
            "by_op": [
                {k: v.item() if hasattr(v, "item") else v for k, v in r.items()} for r in self.by_op.to_dict("records")
            ],
            "int8_ms": self.int8_ms,
            "fp32_ms": self.fp32_ms,
            "speedup": self.speedup,
            "kernels": self.kernels,
            "unfused_qdq": self.unfused_qdq,
            "qdq_ms": self.qdq_ms,
            "hardware": self.hardware,
            "recommendations": self.recommendations,
            "explanation": self.explanation,
        }


def profile_ops(model_bytes: bytes, feed: dict, runs: int = 20, warmup: int = 3, *, check: bool = False) -> list[dict]:
    """[{"node", "op_type", "ms"}] per node: mean milliseconds per run from onnxruntime's profiler.
    `check`: run the static safety checks first (bytes not built by qviz from a loaded model)."""
    warm = make_session(model_bytes, check=check)  # warm-up in a session of its own: the profile holds timed runs only
    for _ in range(warmup):
        run_session(warm, None, feed)
    with tempfile.TemporaryDirectory() as tmp:
        so = session_options(1)
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(tmp) / "qviz_profile")
        sess = make_session(model_bytes, options=so, check=False)
        for _ in range(runs):
            run_session(sess, None, feed)
        events = json.loads(Path(sess.end_profiling()).read_text(encoding="utf-8"))
    total: dict[tuple[str, str], float] = defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and str(e.get("name", "")).endswith("_kernel_time"):
            node = e["name"][: -len("_kernel_time")]
            total[(node, e.get("args", {}).get("op_name", "?"))] += float(e.get("dur", 0)) / 1e3
    return [{"node": n, "op_type": op, "ms": ms / runs} for (n, op), ms in total.items()]


def by_op_type(int8: list[dict], fp32: list[dict]) -> pd.DataFrame:
    """One row per op type: time and node count in each model, slowest (int8) first."""

    def group(rows):
        df = pd.DataFrame(rows, columns=["node", "op_type", "ms"])
        return df.groupby("op_type").agg(ms=("ms", "sum"), nodes=("node", "count"))

    a, b = group(int8), group(fp32)
    df = a.join(b, how="outer", lsuffix="_int8", rsuffix="_fp32").fillna(0).reset_index()
    df = df.rename(
        columns={"op_type": "op type", "ms_int8": "int8 ms", "nodes_int8": "int8 nodes", "ms_fp32": "fp32 ms"}
    )
    df = df.rename(columns={"nodes_fp32": "fp32 nodes"}).astype({"int8 nodes": int, "fp32 nodes": int})
    return df.sort_values(["int8 ms", "fp32 ms"], ascending=False, ignore_index=True)


def cpu_features(cpuinfo: str | None = None, machine: str | None = None) -> dict[str, bool]:
    """The CPU features MLAS picks integer kernels by, from /proc/cpuinfo flags.

    >>> cpu_features("flags : fpu avx2 avx512f avx512_vnni", "x86_64")["avx512_vnni"]
    True
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    flags = set(cpuinfo.replace(":", " ").split())
    machine = machine or platform.machine()
    return {
        "x86": machine.lower() in ("x86_64", "amd64", "i686", "x86"),
        "avx2": "avx2" in flags,
        "avx512_vnni": "avx512_vnni" in flags,
        "avx_vnni": "avx_vnni" in flags,
        "amx": "amx_int8" in flags,
        "arm_dotprod": "asimddp" in flags,
    }


def hardware_line(f: dict[str, bool]) -> str:
    """What this CPU offers integer kernels, and what onnxruntime's MLAS does with it."""
    have = [name for key, name in _FEATURE_NAMES if f.get(key)]
    what = ", ".join(have) or "none of AVX2 / VNNI / AMX / dot-product"
    if f.get("amx") or f.get("avx512_vnni") or f.get("avx_vnni"):
        uses = "u8 x s8 dot products in int32 (VNNI): full int8 speed"
    elif f.get("arm_dotprod"):
        uses = "int8 dot-product instructions (SDOT/UDOT)"
    elif f.get("avx2"):
        uses = "AVX2 u8 x s8 pairs summed in int16 (saturating): 7-bit weights needed, smaller speed-up"
    else:
        uses = "generic integer kernels"
    return f"CPU: {what}; onnxruntime {ort.__version__} (MLAS) uses {uses}"


_FEATURE_NAMES = (
    ("avx2", "AVX2"),
    ("avx512_vnni", "AVX-512 VNNI"),
    ("avx_vnni", "AVX-VNNI"),
    ("amx", "AMX"),
    ("arm_dotprod", "ARM dot-product"),
)


def recommendations(f: dict[str, bool]) -> list[str]:
    """Settings for this CPU (quantize_static options, session options)."""
    vnni = f.get("avx512_vnni") or f.get("avx_vnni") or f.get("amx")
    out = []
    if f.get("x86") and not vnni:
        out.append("reduce_range=True (7-bit weights): u8 x s8 sums saturate in int16 without VNNI")
    else:
        out.append("reduce_range=False: this CPU sums u8 x s8 in int32")
    out.append("QDQ format with per-channel weights; keep graph optimizations on (they fuse Q/DQ into QLinear kernels)")
    out.append("quantize only large layers when small ones are dominated by Q/DQ (nodes_to_exclude)")
    return out


def explain_slowdown(
    *,
    speedup: float,
    overhead_share: float,
    vnni: bool,
    x86: bool,
    nbits_share: float,
    overhead_ops: str = "Q/DQ",
    unfused_share: float = 0.0,
    unfused_ops: str = "",
) -> str | None:
    """One line saying why int8 is slower than fp32, or None when it is not (module doc).

    overhead_share: the share of the int8 time in quantization overhead (`overhead_ops` names
    it): Q/DQ nodes left unfused and element-wise QLinear ops (QLinearAdd, QLinearMul...: a
    requantization per element, where the float model did one add). unfused_share: the share in
    float ops the fp32 model fuses away (a BatchNormalization folded into its Conv) that the int8
    model runs between its Q/DQ nodes (`unfused_ops` names them). Both are named when both weigh.
    """
    if speedup >= 1.0:
        return None
    causes = []
    if overhead_share >= OVERHEAD_DOMINATES:
        causes.append(f"small layers dominated by Q/DQ: {overhead_ops} take {overhead_share:.0%} of the int8 time")
    if unfused_share >= OVERHEAD_DOMINATES:
        fold = " (fold BatchNormalization into Conv before quantizing)" if "BatchNormalization" in unfused_ops else ""
        causes.append(
            f"float ops the fp32 model fuses run between Q/DQ in the int8 one: {unfused_ops} take "
            f"{unfused_share:.0%} of the int8 time{fold}"
        )
    if not causes and nbits_share >= NBITS_DOMINATES and not vnni:
        causes.append(f"MatMulNBits without a fast int4 path on this CPU takes {nbits_share:.0%} of the int8 time")
    if not causes and x86 and not vnni:
        causes.append("no VNNI: the u8 x s8 kernels multiply in int16 pairs, little faster than float")
    if not causes:
        causes.append("the integer kernels do not pay off at these sizes (layers too small, or float fallbacks)")
    return f"int8 is slower than fp32 ({speedup:.2f}x): " + "; ".join(causes)


def unfused_float(int8: list[dict], fp32: list[dict]) -> tuple[float, str]:
    """(milliseconds, names) of the float ops the int8 model runs more often than the fp32 one
    (neither quantization overhead nor integer kernels): what the fp32 graph fused and the
    Q/DQ nodes kept apart. Counted per op type: the extra nodes' share of that type's time."""
    count: dict[str, int] = defaultdict(int)
    for r in fp32:
        count[r["op_type"]] += 1
    rows = [r for r in int8 if not _is_overhead(r["op_type"]) and r["op_type"] not in INTEGER_KERNELS]
    per_type: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        per_type[r["op_type"]].append(r["ms"])
    extra = {op: sum(ms) * (len(ms) - count[op]) / len(ms) for op, ms in per_type.items() if len(ms) > count[op]}
    names = sorted(extra, key=lambda op: -extra[op])
    return sum(extra.values()), ", ".join(names)


def overhead(rows: list[dict]) -> tuple[float, str]:
    """(milliseconds, names) of the quantization overhead in an int8 profile: unfused Q/DQ and
    element-wise QLinear ops (every QLinear* but the Conv/MatMul/Gemm kernels)."""
    ops = sorted({r["op_type"] for r in rows if _is_overhead(r["op_type"])})
    ms = sum(r["ms"] for r in rows if _is_overhead(r["op_type"]))
    return ms, ", ".join(ops) or "Q/DQ"


def _is_overhead(op: str) -> bool:
    return op in QDQ_OPS or (op.startswith("QLinear") and op not in ("QLinearConv", "QLinearMatMul"))


def speed_report(
    deployed: bytes, float_model: bytes, feed: dict, runs: int = 20, warmup: int = 3, *, check: bool = False
) -> SpeedReport:
    """Profile both models on `feed` (one batch) in this process and explain (module doc);
    `check` as profile_ops (the worker task checks the bytes it is sent)."""
    int8 = profile_ops(deployed, feed, runs, warmup, check=check)
    fp32 = profile_ops(float_model, feed, runs, warmup, check=check)
    int8_ms, fp32_ms = sum(r["ms"] for r in int8), sum(r["ms"] for r in fp32)
    qdq = [r for r in int8 if r["op_type"] in QDQ_OPS]
    overhead_ms, overhead_ops = overhead(int8)
    nbits_ms = sum(r["ms"] for r in int8 if r["op_type"] == "MatMulNBits")
    unfused_ms, unfused_ops = unfused_float(int8, fp32)
    f = cpu_features()
    vnni = bool(f["avx512_vnni"] or f["avx_vnni"] or f["amx"] or f["arm_dotprod"])
    why = explain_slowdown(
        speedup=fp32_ms / int8_ms if int8_ms > 0 else float("inf"),
        overhead_share=overhead_ms / int8_ms if int8_ms > 0 else 0.0,
        vnni=vnni,
        x86=f["x86"],
        nbits_share=nbits_ms / int8_ms if int8_ms > 0 else 0.0,
        overhead_ops=overhead_ops,
        unfused_share=unfused_ms / int8_ms if int8_ms > 0 else 0.0,
        unfused_ops=unfused_ops,
    )
    return SpeedReport(
        by_op_type(int8, fp32),
        int8_ms,
        fp32_ms,
        integer_ops_report(deployed),
        len(qdq),
        sum(r["ms"] for r in qdq),
        hardware_line(f),
        recommendations(f),
        why,
    )
