"""A headless Streamlit session that speaks the browser's websocket protocol (Streamlit 1.67), no browser.

    async with StreamlitClient("http://127.0.0.1:8501", "model") as app:
        app.text_shown("Current model:")                  # "Current model: Digits MobileNetV2-style ..."
        run = await app.set_value("Bundled sample", "Digits CNN (BatchNorm folded)")
        run = await app.open_page("Tune")
        run.seconds, run.errors

Why: a load test with one Chromium per session measures the browsers' rendering on the server's own
cores. This client sends the same BackMsgs the frontend sends and times each interaction from
sending the BackMsg until the run's `script_finished` arrives: the server run plus the websocket,
nothing rendered.

The protocol, as the 1.67 frontend speaks it (frontend/app/src/App.tsx, WidgetStateManager.ts):
- connect to ws://HOST/_stcore/stream with subprotocols ["streamlit", xsrf token, session id]; the
  server selects "streamlit" and reads the other two (both optional: a fresh session sends neither);
- every message is one binary protobuf: BackMsg up, ForwardMsg down;
- a run starts with `rerun_script` (ClientState: query string, ALL widget states, page_script_hash or,
  on the first run, page_name = the URL path). The server answers new_session (run started),
  deltas (element at metadata.delta_path), page_info_changed (the new query string) and
  script_finished;
- widget states: the browser holds a value for every widget on the page (its default, or what the
  server pushed with set_value, or what the user chose) and sends the whole set with every rerun;
  after a run finishes, states of widgets no longer on the page are dropped. Triggers (a button
  click) are sent once, then forgotten.
- page switch (st.navigation): page_script_hash of the target page (from the `navigation` message),
  the query string cleared, and only the states of widgets drawn by the main script (app.py) kept.

# NOTE: `script_finished` also arrives between the runs of one interaction: FINISHED_EARLY_FOR_RERUN
# after a callback's st.rerun / st.switch_page, and it can belong to the run before ours (the
# frontend's `hasReceivedNewSession`). An interaction ends at the first FINISHED_SUCCESSFULLY (or
# compile error) after a new_session that came after our request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

FINAL = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR}
TRIGGERS = {"button", "download_button", "form_submit_button"}
CHOICE = {"selectbox", "radio"}  # state: string_value = the chosen option's label, as shown
TEXT = {"text_input", "text_area"}  # state: string_value = the text
# element fields that hold the text a user reads, by element type
TEXT_FIELDS = {
    "text": "body",
    "markdown": "body",
    "heading": "body",
    "alert": "body",
    "metric": "label",
    "code": "code_text",
    "exception": "message",
}


class ProtocolError(RuntimeError):
    """The server did something a browser would not expect (closed, timed out, no such widget)."""


@dataclass
class Widget:
    """One widget of the current page, as its delta described it."""

    id: str
    kind: str
    label: str
    proto: object

    @property
    def key(self) -> str | None:
        """The user key is the id's tail: `$$ID-<hash>-<key>` ("None" when the widget has no key)."""
        tail = self.id.split("-", 2)[-1]
        return None if tail == "None" else tail

    @property
    def options(self) -> list[str]:
        return list(getattr(self.proto, "options", []))


@dataclass
class Run:
    """What one interaction produced: seconds from BackMsg to script_finished, how it finished, errors shown."""

    seconds: float
    status: int
    errors: list[str] = field(default_factory=list)


def initial_state(w: Widget) -> WidgetState | None:
    """The value a browser would hold for a widget it just drew: set_value's value, else the default.

    None for triggers, uploads, charts and editors: their state exists only once a user acted.
    """
    p, s = w.proto, WidgetState(id=w.id)
    if w.kind in CHOICE:
        if p.set_value:
            value = p.raw_value if p.HasField("raw_value") else None
        else:
            value = w.options[p.default] if p.HasField("default") and w.options else None
        if value is not None:  # no value at all = "nothing selected", as the browser sends it
            s.string_value = value
    elif w.kind in TEXT:
        value = p.value if p.set_value else p.default
        if p.HasField("value" if p.set_value else "default"):
            s.string_value = value
    elif w.kind == "checkbox":
        s.bool_value = p.value if p.set_value else p.default
    elif w.kind == "number_input":
        if p.HasField("value" if p.set_value else "default"):
            s.double_value = p.value if p.set_value else p.default
    elif w.kind == "multiselect":
        s.string_array_value.data[:] = list(p.raw_values) if p.set_value else [w.options[i] for i in p.default]
    elif w.kind == "slider" and not w.options:
        s.double_array_value.data[:] = list(p.value) if p.set_value else list(p.default)
    elif w.kind == "slider":
        s.string_array_value.data[:] = list(p.raw_value) if p.set_value else [w.options[int(i)] for i in p.default]
    else:
        return None
    return s


def widget_of(element) -> Widget | None:
    """The Widget an element is, or None for display elements (no `id`, or an empty one: a chart without selection)."""
    kind = element.WhichOneof("type")
    if kind is None:
        return None
    proto = getattr(element, kind)
    wid = proto.id if "id" in proto.DESCRIPTOR.fields_by_name else ""
    return Widget(wid, kind, getattr(proto, "label", ""), proto) if wid else None


def shown_text(element) -> str:
    kind = element.WhichOneof("type")
    name = TEXT_FIELDS.get(kind)
    return getattr(getattr(element, kind), name) if name else ""


def error_of(element) -> str | None:
    """An exception delta, or an st.error alert: what a user would see as an error."""
    kind = element.WhichOneof("type")
    if kind == "exception":
        return f"exception {element.exception.type}: {element.exception.message}"
    if kind == "alert" and element.alert.format == Alert.ERROR:
        return f"st.error: {element.alert.body}"
    return None


class StreamlitClient:
    """One browser-less Streamlit session: open it with `async with`, then interact; each call returns a Run."""

    def __init__(self, url: str, page: str = "", query: str = "", timeout: float = 120.0):
        self.ws_url = url.replace("http", "ws", 1).rstrip("/") + "/_stcore/stream"
        self.first_page, self.query, self.timeout = page, query, timeout
        self.states: dict[str, WidgetState] = {}
        self.elements: dict[tuple, object] = {}  # the finished page: delta_path -> Element
        self.pages: dict[str, object] = {}  # page title -> AppPage (from the `navigation` message)
        self.page_hash = self.main_hash = ""
        self.main_ids: set[str] = set()  # widgets drawn by the main script (kept across page switches)
        self._ws = None

    async def __aenter__(self) -> StreamlitClient:
        await self.open()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def open(self) -> Run:
        """Connect and run the first page, addressed by its URL path like a browser's first load."""
        self._ws = await connect(self.ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=self.timeout)
        return await self._rerun(page_name=self.first_page)

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    # ---- what the page shows
    @property
    def widgets(self) -> list[Widget]:
        return [w for _, e in sorted(self.elements.items()) if (w := widget_of(e))]

    def widget(self, name: str) -> Widget:
        """The widget whose label or key is `name` (the first one in page order)."""
        for w in self.widgets:
            if name in (w.label, w.key):
                return w
        raise ProtocolError(
            f"no widget labelled or keyed {name!r}; widgets: {[w.label or w.key for w in self.widgets]}"
        )

    def value(self, name: str):
        """The value this client holds for a widget (what the next rerun sends), None if it holds none."""
        state = self.states.get(self.widget(name).id)
        kind = state.WhichOneof("value") if state is not None else None
        return getattr(state, kind) if kind else None

    def texts(self) -> list[str]:
        return [t for _, e in sorted(self.elements.items()) if (t := shown_text(e))]

    def text_shown(self, fragment: str) -> str | None:
        """The first text on the page that contains `fragment`, else None."""
        return next((t for t in self.texts() if fragment in t), None)

    def errors(self) -> list[str]:
        return [err for _, e in sorted(self.elements.items()) if (err := error_of(e))]

    # ---- interactions
    async def set_value(self, name: str, value) -> Run:
        """Set a widget like a user would and rerun: an option label (selectbox, radio), text, bool, number."""
        w = self.widget(name)
        s = WidgetState(id=w.id)
        if w.kind in CHOICE:
            if value not in w.options:
                raise ProtocolError(f"{value!r} is not an option of {name!r}: {w.options}")
            s.string_value = value
        elif w.kind in TEXT:
            s.string_value = value
        elif w.kind == "checkbox":
            s.bool_value = bool(value)
        elif w.kind == "number_input":
            s.double_value = float(value)
        else:
            raise ProtocolError(f"set_value does not know {w.kind} widgets ({name!r})")
        self.states[w.id] = s
        return await self._rerun()

    async def click(self, name: str) -> Run:
        """Press a button: its trigger goes out with this one rerun, then is forgotten (as in the browser)."""
        w = self.widget(name)
        if w.kind not in TRIGGERS:
            raise ProtocolError(f"{name!r} is a {w.kind}, not a button")
        return await self._rerun(extra=[WidgetState(id=w.id, trigger_value=True)])

    async def open_page(self, title: str) -> Run:
        """Switch pages like the sidebar link: the page's hash, no query string, main-script widgets only."""
        if title not in self.pages:
            raise ProtocolError(f"no page titled {title!r}; pages: {list(self.pages)}")
        self.states = {i: s for i, s in self.states.items() if i in self.main_ids}
        self.query = ""
        return await self._rerun(page_hash=self.pages[title].page_script_hash)

    # ---- the protocol
    async def _rerun(self, page_name: str = "", page_hash: str | None = None, extra: list | None = None) -> Run:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_script_hash = self.page_hash if page_hash is None else page_hash
        cs.page_name = page_name
        cs.widget_states.widgets.extend([*self.states.values(), *(extra or [])])
        t0 = time.monotonic()
        await self._ws.send(msg.SerializeToString())
        status = await self._until_finished()
        return Run(time.monotonic() - t0, status, self.errors())

    async def _until_finished(self) -> int:
        """Read ForwardMsgs until our run chain finishes; the finished run's elements become the page."""
        started, pending = False, {}
        deadline = time.monotonic() + self.timeout
        while True:
            msg = await self._receive(deadline)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                started, pending = True, {}
                self._on_new_session(msg.new_session)
            elif kind == "delta" and started and msg.delta.WhichOneof("type") == "new_element":
                path = tuple(msg.metadata.delta_path)
                pending[path] = msg.delta.new_element
                self._on_widget(msg.delta.new_element, msg.metadata.active_script_hash)
            elif kind == "page_info_changed":
                self.query = msg.page_info_changed.query_string
            elif kind == "navigation":
                self.pages = {p.page_name: p for p in msg.navigation.app_pages}
                self.page_hash = msg.navigation.page_script_hash or self.page_hash
            elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
                raise ProtocolError(f"script compile error: {msg.session_event.script_compilation_exception.message}")
            elif kind == "script_finished" and started and msg.script_finished in FINAL:
                self._on_finished(pending)
                return msg.script_finished

    async def _receive(self, deadline: float) -> ForwardMsg:
        try:
            data = await asyncio.wait_for(self._ws.recv(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise ProtocolError(f"no script_finished within {self.timeout:.0f} s") from None
        msg = ForwardMsg()
        msg.ParseFromString(data)
        return msg

    def _on_new_session(self, ns) -> None:
        self.page_hash, self.main_hash = ns.page_script_hash, ns.main_script_hash

    def _on_widget(self, element, script_hash: str) -> None:
        """A drawn widget: take the server's value if it pushed one (set_value), else keep ours or the default."""
        w = widget_of(element)
        if w is None:
            return
        if script_hash == self.main_hash:
            self.main_ids.add(w.id)
        if w.id not in self.states or getattr(w.proto, "set_value", False):
            state = initial_state(w)
            if state is not None:
                self.states[w.id] = state

    def _on_finished(self, elements: dict) -> None:
        """The page is what this run drew; states of widgets it did not draw are dropped (removeInactive)."""
        self.elements = elements
        active = {w.id for w in self.widgets}
        self.states = {i: s for i, s in self.states.items() if i in active}
        self.main_ids &= active
