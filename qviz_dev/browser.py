"""Serve the app with `streamlit run` and drive it with Debian's Chromium (Playwright, sync API).

The one way the browser tests (tests/e2e), scripts/screenshots.py and bench/load_test.py serve
and drive the app.

# NOTE: never a downloaded browser build: Playwright drives the system binary, CHROMIUM.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from qviz_dev import REPO

CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
STARTUP_SECONDS = 60
ACTION_MS = 60_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not become healthy in time")


@contextlib.contextmanager
def serve_app(log=subprocess.DEVNULL):
    """`streamlit run app.py` on a free loopback port; yields (url, process) once healthy, stops it after."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


# ---- driving a page ---------------------------------------------------------------------------


def open_app(page, url: str, path: str = "") -> None:
    """Load a page of the app and wait until its script has finished running."""
    page.goto(f"{url}/{path}")
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    wait_idle(page)


def wait_idle(page) -> None:
    """Wait for the current script run to end (a rerun starts a moment after an action)."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-test-script-state="notRunning"]')


def go(page, title: str) -> None:
    """Switch page through the sidebar navigation (same session: state is kept)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    wait_idle(page)


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`."""
    page.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def type_into(page, label: str, text: str) -> None:
    """Type `text` into the text input labelled `label` and submit it (Enter)."""
    box = page.get_by_role("textbox", name=label).first
    box.fill(text)
    box.press("Enter")
    wait_idle(page)


def metric_value(page, label: str) -> str:
    """The value shown by the metric labelled `label`."""
    metric = page.get_by_test_id("stMetric").filter(has_text=label).first
    return metric.get_by_test_id("stMetricValue").inner_text()


ACCURACY = "Accuracy (change vs float)"


def upload_into(page, label: str, path) -> None:
    """Give `path` to the file uploader labelled `label` (its hidden <input type=file>)."""
    uploader = page.get_by_test_id("stFileUploader").filter(has_text=label).first
    uploader.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))


def assert_no_errors(page) -> None:
    """No error box and no traceback on the page."""
    for test_id in ("stAlertContentError", "stException"):
        boxes = page.get_by_test_id(test_id)
        assert boxes.count() == 0, f"{test_id}: {boxes.all_inner_texts()}"


def upload_model(page, app_url, path) -> None:
    open_app(page, app_url, "model")
    page.get_by_text("Upload your own model").first.click()
    upload_into(page, "ONNX model", path)
    page.get_by_text(f"Current model: {path.name}").first.wait_for()
    wait_idle(page)
    assert_no_errors(page)


def tune_accuracy(page) -> str:
    """Go to Tune, wait for the scored metric, and return the accuracy shown."""
    go(page, "Tune")
    page.get_by_text("Tune: per-layer quantization").first.wait_for()
    page.get_by_test_id("stMetric").filter(has_text=ACCURACY).first.wait_for()
    wait_idle(page)
    assert_no_errors(page)
    return metric_value(page, ACCURACY)
