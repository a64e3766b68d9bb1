"""App interactions on the Tune and Layer pages, driven with AppTest (server side only).

    python bench/bench_pages.py        # prints the table and rewrites its section of docs/benchmarks.md

Each interaction is one `AppTest.run()` after a widget change, i.e. everything the server does
for that click: the script run(s) (the Tune table's edit applies, then reruns), evaluation,
per-layer errors, figures. Each change makes a config not seen before (no cache hit), except
where said. Target: median <= 1 s on the largest samples. Reference, measured in the same
process: one pass of the test split through the float model (onnxruntime, pre-built session).
"""

from __future__ import annotations

import logging
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # qviz, qviz_dev and bench.common

import streamlit  # noqa: E402

from bench.common import machine, write_section  # noqa: E402
from qviz.config import ModelConfig  # noqa: E402
from qviz.evaluate import from_sample  # noqa: E402
from qviz.model import layer_table, load_model, make_session  # noqa: E402
from qviz.samples import load_sample  # noqa: E402
from qviz.ui import tune  # noqa: E402
from qviz_dev.app_pages import by_label, open_page  # noqa: E402

SECTION = "## App interactions"
SAMPLES = ("digits_mobilenet", "digits_transformer")
REPEATS = 7


def reference_ms(sample_id: str) -> float:
    sample = load_sample(sample_id)
    sess = make_session(sample.model_bytes, check=False)
    feeds = from_sample(sample, "test").feeds
    times = []
    for _ in range(7):
        t = time.perf_counter()
        [sess.run(None, f) for f in feeds]
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def timed(at) -> float:
    t = time.perf_counter()
    at.run()
    assert not at.exception, at.exception
    return time.perf_counter() - t


def tune_bits(sample_id: str) -> list[float]:
    """Tune: set one layer's weight bits in the table (a different layer each time)."""
    at = open_page("views/tune.py", "en", {"model_source": {"kind": "sample", "id": sample_id}})
    sha = load_model(load_sample(sample_id).model_bytes).sha256
    out = []
    for i in range(REPEATS):
        config = ModelConfig.from_json(at.session_state["model_config"])
        key = tune.tune_table_key(SimpleNamespace(sha256=sha), config)
        at.session_state[key] = {"edited_rows": {i: {"w_bits": 4}}, "added_rows": [], "deleted_rows": []}
        out.append(timed(at))
    return out


def layer_page(sample_id: str):
    return open_page("views/layer.py", "en", {"model_source": {"kind": "sample", "id": sample_id}})


def layer_bits(sample_id: str) -> list[float]:
    """Layer: move the bits slider of the layer's spec editor (a new spec each time)."""
    at = layer_page(sample_id)
    out = []
    for bits in (4, 5, 6, 3, 7, 2, 8)[:REPEATS]:
        by_label(at.slider, "bits").set_value(bits)
        out.append(timed(at))
    return out


def layer_switch(sample_id: str) -> list[float]:
    """Layer: pick another layer in the layer selectbox (a layer not shown before each time)."""
    at = layer_page(sample_id)
    ids = [x.id for x in layer_table(load_model(load_sample(sample_id).model_bytes))]
    out = []
    for layer_id in ids[1 : REPEATS + 1]:
        by_label(at.selectbox, "mp_layer").set_value(layer_id)
        out.append(timed(at))
    return out


def main() -> None:
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    rows = []
    for sample_id in SAMPLES:
        ref = reference_ms(sample_id)
        for name, fn in (
            ("Tune: one layer's bits", tune_bits),
            ("Layer: bits slider", layer_bits),
            ("Layer: switch layer", layer_switch),
        ):
            times = fn(sample_id)
            med = statistics.median(times)
            rows.append(
                f"| {sample_id} | {name} | {len(times)} | {1000 * med:.0f} | {1000 * max(times):.0f} | "
                f"{1000 * med / ref:.1f} | {'met' if med <= 1.0 else 'MISSED'} |"
            )
            print(rows[-1], flush=True)
        rows.append(f"| {sample_id} | reference: one float pass of the test split | 7 | {ref:.1f} | | 1.0 | |")
    text = "\n".join(
        [
            SECTION,
            "",
            f"Machine: {machine()}; streamlit {streamlit.__version__}.",
            "",
            "Command: `python bench/bench_pages.py` (AppTest, server side only: the script runs, evaluation, per-layer "
            "errors and figures; no browser). Each interaction makes a config or view not computed before.",
            "",
            "| sample | interaction | n | median ms | max ms | median / reference | target <= 1 s |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            "Tune: a table edit costs two script runs (the edit is applied, then the page reruns with a fresh table) "
            "plus one evaluation of the new config on the test split (one simulated session + one pass; the shared "
            "Runner is warm) and the per-layer local/propagated errors on 32 samples. A config seen before "
            "(Trade-offs restore, going back to a page) is a cache hit (model hash + config JSON).",
            "",
        ]
    )
    write_section(SECTION, text)


if __name__ == "__main__":
    main()
