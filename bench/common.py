"""What every benchmark shares: the machine line, writing its own section of docs/benchmarks.md, and
onnxruntime's own quantize_static as the reference to measure qviz against."""

from __future__ import annotations

import logging
import os
import platform
import re
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    """nproc, CPU model, SIMD level that matters for int8 kernels, and the library versions."""
    import numpy
    import onnx
    import onnxruntime

    cpu, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    simd = "AVX-512 VNNI" if "avx512_vnni" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"nproc {os.cpu_count()}, CPU {cpu} ({simd}); Python {platform.python_version()}, numpy {numpy.__version__}, "
        f"onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}; load average {load}"
    )


def write_section(section: str, text: str) -> None:
    """Replace (or append) the `## section` of docs/benchmarks.md with text, keeping the others.

    text starts with the section's own heading line.
    """
    doc = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: text.rstrip("\n") + "\n\n", doc)
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(doc.rstrip("\n") + "\n", encoding="utf-8")


def ort_quantize_static(model_bytes: bytes, feeds, *, reduce_range: bool = False, method: str = "MinMax") -> bytes:
    """onnxruntime's quantize_static with its usual settings (QDQ, per-channel int8 weights, uint8
    activations), calibrated on `feeds` with CalibrationMethod `method`: the reference model."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from qviz.model.runtime.ort_quantizer import FeedReader

    logging.getLogger().setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ort.onnx"
        quantize_static(
            onnx.load_model_from_string(model_bytes),
            out,
            FeedReader(feeds),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            reduce_range=reduce_range,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=getattr(CalibrationMethod, method),
        )
        return out.read_bytes()


def interleaved_latency(models: dict[str, bytes], x1, runs: int, warmup: int = 20) -> dict[str, float]:
    """Median one-thread latency (seconds) per model: interleaved rounds of 10 runs each, so that
    the machine's drift hits every model alike."""
    import statistics
    import time

    from qviz.model import make_session

    sessions = {k: make_session(v, threads=1, check=False) for k, v in models.items()}
    name = next(iter(sessions.values())).get_inputs()[0].name
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for s in sessions.values():
        for _ in range(warmup):
            s.run(None, {name: x1})
    for _ in range(runs // 10):
        for k, s in sessions.items():
            for _ in range(10):
                t = time.perf_counter()
                s.run(None, {name: x1})
                times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}
