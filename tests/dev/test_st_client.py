"""qviz_dev/st_client.py against a real `streamlit run`: the load test's client must keep speaking the protocol.

One session: open the Model page, pick another sample through its selectbox, open Tune. If Streamlit
changes its websocket protocol, these checks fail instead of the load test timing no-ops.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from qviz_dev.browser import serve_app
from qviz_dev.st_client import StreamlitClient


async def drive(url: str) -> list[str]:
    """Run the interactions; return what the page said at each step (asserted in the test)."""
    seen = []
    async with StreamlitClient(url, "model", timeout=60) as app:
        seen.append(app.text_shown("Current model:"))
        picker = app.widget("Bundled sample")
        other = next(o for o in picker.options if o not in seen[0])
        run = await app.set_value("Bundled sample", other)
        seen += [run.errors, other, app.text_shown("Current model:"), app.value("Bundled sample"), app.query]
        run = await app.open_page("Tune")
        seen += [
            run.errors,
            app.text_shown("Accuracy (change vs float)"),
            app.text_shown("Current model:"),
            app.value("lang"),
        ]
    return seen


def test_client_picks_a_sample_and_opens_tune(tmp_path):
    with (tmp_path / "server.log").open("w") as log, serve_app(log) as (url, _):
        # NOTE: in its own thread: the browser tests' Playwright (sync API) keeps an event loop
        # running in the main thread for the whole session, and asyncio.run refuses to nest.
        with ThreadPoolExecutor(1) as thread:
            seen = thread.submit(asyncio.run, drive(url)).result()
        first, errors, other, shown, value, query, tune_errors, accuracy, tune_model, lang = seen
    assert first and first.startswith("Current model:")
    assert errors == [] and tune_errors == []
    assert shown == f"Current model: {other}" and value == other  # the server took the choice; the client holds it
    assert "sample=" in query and "config=" in query  # page_info_changed: the app mirrors its state into the URL
    assert accuracy == "Accuracy (change vs float)"
    assert tune_model.startswith(f"Current model: {other}")  # the choice survived the page switch (server state)
    assert lang == "English"  # a main-script widget's state is kept across the page switch
