"""Errors a user can cause, shown as a message on the page, never as a traceback.

    with messages.show_errors(stop=True), st.spinner(t("computing")):
        ev = scoring.evaluation(model)

    with messages.show_errors() as shown:
        act = cache.activation_view(model, layer, spec)
    if shown.failed:
        return

A SpecError (a setting qviz refuses) or a ModelError (a model or data file qviz refuses, or an
upload's worker that failed: qviz.worker.WorkerError is one) inside the block becomes st.error with
the translated message `message_key`; its text is escaped (it may quote model-provided names).
Anything else is a bug and propagates (Streamlit shows its short generic message, the details go to
the server log: client.showErrorDetails = "none").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from qviz.model import ModelError
from qviz.quant import SpecError
from qviz.ui.text import md_escape, t


@dataclass
class Shown:
    """What show_errors caught: `error` (None when the block finished)."""

    error: Exception | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@contextmanager
def show_errors(message_key: str = "error_prefix", *, stop: bool = False) -> Iterator[Shown]:
    """Run the block; a SpecError/ModelError is shown with st.error (module doc). `stop=True` ends
    the page run after the message, for pages that cannot go on without the block's result."""
    shown = Shown()
    try:
        yield shown
    except (SpecError, ModelError) as error:
        shown.error = error
        st.error(t(message_key, message=md_escape(str(error))))
        if stop:
            st.stop()
