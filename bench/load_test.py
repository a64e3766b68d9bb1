"""Classroom load: N benign browser sessions + M hostile uploaders against a real `streamlit run`.

    python bench/load_test.py                       # 20 benign + 2 hostile sessions, 600 s
    python bench/load_test.py --sessions 20 --hostile 2 --seconds 150 --json out.json

The server runs `streamlit run app.py` on 127.0.0.1 (a free port) with the shipped
.streamlit/config.toml and the default worker limits (QVIZ_WORKER_* from the environment).
Sessions are pages of ONE Debian Chromium (/usr/lib/chromium/chromium, Playwright, async API),
each in its own browser context, so each is its own Streamlit session.

Benign session loop: pick a bundled sample (Model page) -> open Tune (evaluates the config)
-> bulk-edit every layer ("*") to 4 or 6 weight bits and apply (re-evaluates) -> back to Model.
Hostile session loop: open the Model page (a new session every time), upload the next model of
tests/security/hostile_models.py, wait until the page settles, record rejected / accepted.

An interaction's time runs from the action until Streamlit's script state goes back to
"notRunning" for a NEW run (a MutationObserver counts finished runs), so it includes the server
run, the websocket round trips and the browser's rendering on this same machine.
Server memory: VmRSS of the streamlit process, sampled every second; "baseline" is after one
warm-up session has visited the same pages (caches filled) and closed; "after" is 30 s after
every session closed. All traffic stays on 127.0.0.1; the script stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "security")]
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, serve_app  # noqa: E402
SAMPLES = ["Digits MLP", "Digits CNN (BatchNorm folded)", "Breast cancer tabular MLP"]
ACTION_MS = 90_000
SETTLE_S = int(os.environ.get("QVIZ_LOAD_SETTLE_S", "30"))
RUN_COUNTER = """
window.__qvRuns = 0;
new MutationObserver(ms => { for (const m of ms) {
  if (m.target.getAttribute('data-test-script-state') === 'notRunning' && m.oldValue !== 'notRunning') window.__qvRuns++;
}}).observe(document, {subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
"""




def _stat(pid) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(the server's own user+system CPU s, its children's: the zygote and its reaped workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    own = _stat(pid)
    kids = 0
    for entry in Path("/proc").iterdir():
        try:
            f = _stat(entry.name) if entry.name.isdigit() else None
        except OSError:
            continue
        if f and int(f[1]) == pid:
            kids += sum(int(x) for x in f[11:15])
    return (int(own[11]) + int(own[12])) / tick, (int(own[13]) + int(own[14]) + kids) / tick


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")




class Stats:
    def __init__(self):
        self.times: dict[str, list[float]] = {}
        self.failures: list[str] = []
        self.hostile: dict[str, int] = {"rejected": 0, "accepted": 0, "failed": 0}

    def ok(self, kind: str, seconds: float) -> None:
        self.times.setdefault(kind, []).append(seconds)


async def runs(page) -> int:
    return await page.evaluate("window.__qvRuns || 0")


async def settle(page, before: int, timeout_ms: int = ACTION_MS) -> None:
    """Wait until a run that started after `before` was counted has finished."""
    await page.wait_for_function(
        f"(window.__qvRuns || 0) > {before} && document.querySelector('[data-test-script-state=\"notRunning\"]')",
        timeout=timeout_ms)


async def shows(page, text: str) -> None:
    """Wait until `text` is on the page AND no script run is going on (both in the same check)."""
    await page.wait_for_function(
        "t => document.body.innerText.includes(t) && document.querySelector('[data-test-script-state=\"notRunning\"]')",
        arg=text, timeout=ACTION_MS, polling=200)


async def url_changes(page, before: str, runs_before: int) -> None:
    """Wait until the URL (the app writes the config code into it) differs or a new run was
    counted, and no run is going on."""
    await page.wait_for_function(
        "([u, n]) => (location.href !== u || (window.__qvRuns || 0) > n)"
        " && document.querySelector('[data-test-script-state=\"notRunning\"]')",
        arg=[before, runs_before], timeout=ACTION_MS, polling=200)


async def timed(stats: Stats, kind: str, page, action, until: str | None = None) -> None:
    """Time `action` until `until` shows with no run going on, else until a new run finished."""
    before = await runs(page)
    t0 = time.monotonic()
    try:
        await action()
        await (shows(page, until) if until else settle(page, before))
    except Exception as e:
        raise RuntimeError(f"{kind} ({page.url}): {type(e).__name__}: {str(e).splitlines()[0][:150]}") from None
    stats.ok(kind, time.monotonic() - t0)


async def open_app(page, url: str, path: str) -> None:
    await page.goto(f"{url}/{path}")
    await page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]')
    await shows(page, "Current model:" if path == "model" else "")


async def choose(page, label: str, option: str) -> None:
    await page.get_by_test_id("stSelectbox").filter(has_text=label).first.click()
    await page.get_by_role("option", name=option, exact=True).click()


async def nav(page, title: str) -> None:
    await page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()


async def quiet(page, action, wait_ms: int = 2000) -> None:
    """A setup step that may or may not rerun (already in that state): act, let it settle."""
    before = await runs(page)
    await action()
    try:
        await settle(page, before, wait_ms)
    except Exception:
        pass


async def bulk_edit(page, bits: str) -> None:
    if not await page.get_by_role("textbox", name="Layer name pattern").count():
        await page.get_by_text("Bulk edit").first.click()
        await quiet(page, lambda: page.get_by_text("a name pattern").first.click())
        box = page.get_by_role("textbox", name="Layer name pattern").first
        await box.fill("*")
        await quiet(page, lambda: box.press("Enter"))
    await quiet(page, lambda: choose(page, "weight bits", bits))


async def benign(i: int, browser, url: str, deadline: float, stats: Stats, max_rounds: int = 10**6) -> None:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    await ctx.add_init_script(RUN_COUNTER)
    page = await ctx.new_page()
    page.set_default_timeout(ACTION_MS)
    k = 0
    try:
        t0 = time.monotonic()
        await open_app(page, url, "model")
        stats.ok("open", time.monotonic() - t0)
        while time.monotonic() < deadline and k < max_rounds:
            k += 1
            try:
                await one_round(page, i + k, stats)
            except Exception as e:  # a failed benign interaction: record, reload, go on
                stats.failures.append(f"session {i} round {k}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
                await open_app(page, url, "model")
    finally:
        await ctx.close()


async def one_round(page, k: int, stats: Stats) -> None:
    sample = SAMPLES[k % len(SAMPLES)]
    current = await page.get_by_text("Current model:").first.inner_text()
    if sample not in current:
        await timed(stats, "pick sample", page, lambda: choose(page, "Bundled sample", sample), f"Current model: {sample}")
    await timed(stats, "open Tune (evaluate)", page, lambda: nav(page, "Tune"), "Accuracy (change vs float)")
    await bulk_edit(page, "4" if k % 2 else "6")
    url, n, t0 = page.url, await runs(page), time.monotonic()  # the bits alternate 4/6, so the config in the URL changes
    try:
        await page.get_by_role("button", name="Apply to these layers").click()
        await url_changes(page, url, n)
    except Exception as e:
        raise RuntimeError(f"apply bits ({page.url}): {type(e).__name__}: {str(e).splitlines()[0][:150]}") from None
    stats.ok("apply bits to layers (evaluate)", time.monotonic() - t0)
    await timed(stats, "open Model", page, lambda: nav(page, "Model"), "Current model:")


async def hostile(j: int, browser, url: str, deadline: float, stats: Stats, files: list[Path]) -> None:
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    await ctx.add_init_script(RUN_COUNTER)
    page = await ctx.new_page()
    page.set_default_timeout(ACTION_MS)
    k = j
    try:
        while time.monotonic() < deadline:
            path = files[k % len(files)]
            k += 1
            try:
                await open_app(page, url, "model")
                await page.get_by_text("Upload your own model").first.click()
                before = await runs(page)
                await page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(path))
                await settle(page, before, 180_000)
                rejected = await page.get_by_test_id("stAlertContentError").count()
                stats.hostile["rejected" if rejected else "accepted"] += 1
            except Exception as e:
                stats.hostile["failed"] += 1
                stats.failures.append(f"hostile {j} {path.name}: {type(e).__name__}: {str(e).splitlines()[0][:200]}")
    finally:
        await ctx.close()


def hostile_files(tmp: Path) -> list[Path]:
    from hostile_models import CORPUS

    files = []
    for name, case in CORPUS.items():
        if case.expect != "accept":
            path = tmp / f"{name}.onnx"
            path.write_bytes(case.data)
            files.append(path)
    return files


async def sampler(pid: int, samples: list, stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(rss_mb(pid))
        await asyncio.sleep(1)


async def drive(url: str, pid: int, args, tmp: Path) -> dict:
    from playwright.async_api import async_playwright

    stats, files = Stats(), hostile_files(tmp)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        cold = rss_mb(pid)
        warm = Stats()  # warm-up: one round per sample, caches filled
        await benign(-1, browser, url, time.monotonic() + 300, warm, max_rounds=len(SAMPLES))
        await asyncio.sleep(SETTLE_S)
        baseline = rss_mb(pid)
        samples, stop = [], asyncio.Event()
        watch = asyncio.create_task(sampler(pid, samples, stop))
        deadline = time.monotonic() + args.seconds
        t0, cpu0 = time.monotonic(), cpu_seconds(pid)
        await asyncio.gather(*[benign(i, browser, url, deadline, stats) for i in range(args.sessions)],
                             *[hostile(j, browser, url, deadline, stats, files) for j in range(args.hostile)])
        wall, cpu = time.monotonic() - t0, [b - a for a, b in zip(cpu0, cpu_seconds(pid))]
        await browser.close()
    await asyncio.sleep(SETTLE_S)
    stop.set()
    await watch
    result = report(stats, args, wall, cold, baseline, max(samples, default=baseline), rss_mb(pid))
    result["cores_used"] = {"server": round(cpu[0] / wall, 2), "workers": round(cpu[1] / wall, 2),
                            "machine_load_avg_1min_at_end": round(os.getloadavg()[0], 1)}
    result["warm_up_failures"] = warm.failures
    return result


def p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20)[-1] if len(xs) >= 2 else (xs[0] if xs else float("nan"))


def report(stats: Stats, args, wall: float, cold: float, baseline: float, peak: float, after: float) -> dict:
    every = [t for kind, ts in stats.times.items() if kind != "open" for t in ts]
    rows = {kind: {"n": len(ts), "median_s": round(statistics.median(ts), 2), "p95_s": round(p95(ts), 2)}
            for kind, ts in stats.times.items()}
    return {"sessions": args.sessions, "hostile_sessions": args.hostile, "seconds": args.seconds, "wall_s": round(wall, 1),
            "interactions_ok": sum(len(ts) for ts in stats.times.values()), "benign_failures": len(
                [f for f in stats.failures if f.startswith("session")]),
            "p95_s": round(p95(every), 2), "median_s": round(statistics.median(every), 2) if every else None,
            "by_kind": rows, "hostile": stats.hostile, "failures": stats.failures[:20],
            "rss_mb": {"cold": round(cold), "baseline": round(baseline), "peak": round(peak), "after": round(after)},
            "cpus": os.cpu_count()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--hostile", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with open(Path(tmp) / "server.log", "w") as log, serve_app(log) as (url, proc):
            result = asyncio.run(drive(url, proc.pid, args, Path(tmp)))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text)


if __name__ == "__main__":
    main()
