"""Development helpers shared by tests/, bench/ and scripts/: never imported by qviz, never shipped.

    model_factory    small ONNX models built with onnx.helper
    hostile_models   the corpus of hostile or broken uploads (tests/security, bench)
    fault_tasks      test-only worker tasks (hang, segfault, ...), loaded by WorkerPool(task_modules=...)
    workers          worker pools with short limits, waiting for workers, process checks
    app_pages        AppTest helpers: open a page, read what it shows
    cli_helpers      run `qviz` in-process, check its one-line errors
    browser          serve the app with `streamlit run`, drive it with Debian's Chromium
    st_client        a protocol-level Streamlit client (no browser), for the load test
    wait             wait_until: poll a condition instead of sleeping a fixed time

The repository root must be on sys.path (pytest's `pythonpath`; bench/ and scripts/ insert it).
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # the repository root: app.py, qviz/, docs/
