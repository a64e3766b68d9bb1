"""The Model page's data options: how an uploaded images .zip or text file becomes model inputs.

    options = data_options(file.name, model)   # draws the card; {} for .npz, None while incomplete
    upload.handle_inputs_upload(file.name, data, model, options)

Images: a "preprocessing" expander with a preset and every field of
qviz.model.load.preprocess.Preprocess, filled from the model's input shape (and again from
the preset when it changes), plus an optional class list. Text: a tokenizer.json uploader,
a sequence length (for a dynamic one) and a class list. The options are what
qviz.worker.uploaded_data.read_uploaded_data takes: the preprocessing as its JSON text.

Session-state keys: data_pp_* (the fields), data_pp_for (the model sha256 they were filled for;
they are filled again when Streamlit forgot them: the uploader is then empty too),
data_text_* and model_upload_tokenizer (the text options).
"""

from __future__ import annotations

import streamlit as st

from qviz.model.load.data_files import data_kind, image_input, parse_classes
from qviz.model.load.preprocess import CHANNELS, LAYOUTS, PRESETS, Preprocess, default_preset, resolve_preprocess
from qviz.quant import SpecError
from qviz.ui.models import CurrentModel
from qviz.ui.text import md_escape, option_labels, t

PRESET_KEY = "data_pp_preset"
FOR_KEY = "data_pp_for"
TOKENIZER_KEY = "model_upload_tokenizer"


def data_options(name: str, model: CurrentModel) -> dict | None:
    """Draw the options card of the data file `name`; its options, or None (with a message) until usable."""
    try:
        kind = data_kind(name)
        if kind == "images":
            return _image_options(model)
        if kind == "text":
            return _text_options()
        return {}
    except SpecError as e:
        st.error(t("mp_npz_error", message=md_escape(str(e))))
        return None


def _image_options(model: CurrentModel) -> dict:
    info = image_input(model.loaded.inputs, "images")
    if st.session_state.get(FOR_KEY) != model.sha256 or "data_pp_height" not in st.session_state:
        st.session_state[FOR_KEY] = model.sha256
        st.session_state[PRESET_KEY] = default_preset(info)
        fill_fields(resolve_preprocess(None, info))
    with st.expander(t("mp_pp_header"), expanded=True):
        st.selectbox(
            t("mp_pp_preset"),
            PRESETS,
            key=PRESET_KEY,
            format_func=option_labels("pp_preset_"),
            on_change=_on_preset,
            args=(info,),
        )
        h, w, r = st.columns(3)
        h.number_input(t("mp_pp_height"), 1, 4096, key="data_pp_height")
        w.number_input(t("mp_pp_width"), 1, 4096, key="data_pp_width")
        r.number_input(t("mp_pp_resize"), 0, 8192, key="data_pp_resize")
        layout, channels, scale = st.columns(3)
        layout.radio(t("mp_pp_layout"), LAYOUTS, key="data_pp_layout", horizontal=True)
        channels.radio(t("mp_pp_channels"), CHANNELS, key="data_pp_channels", horizontal=True)
        scale.number_input(t("mp_pp_scale"), key="data_pp_scale", format="%.6f")
        mean, std = st.columns(2)
        mean.text_input(t("mp_pp_mean"), key="data_pp_mean")
        std.text_input(t("mp_pp_std"), key="data_pp_std")
        st.caption(t("mp_pp_help"))
        classes = st.text_input(t("mp_data_classes"), key="data_pp_classes")
    return {"preprocess": field_preprocess().to_json(), "classes": _classes(classes)}


def _text_options() -> dict | None:
    tokenizer = st.file_uploader(t("mp_upload_tokenizer"), type=["json"], key=TOKENIZER_KEY)
    left, right = st.columns(2)
    seq_len = left.number_input(t("mp_seq_len"), 0, 8192, 0, key="data_text_seq_len")
    classes = right.text_input(t("mp_data_classes"), key="data_text_classes")
    if tokenizer is None:
        st.info(t("mp_need_tokenizer"))
        return None
    return {"tokenizer": tokenizer.getvalue(), "seq_len": int(seq_len) or None, "classes": _classes(classes)}


def _classes(text: str) -> list[str] | None:
    names = parse_classes(text)
    return list(names) if names else None


def fill_fields(p: Preprocess) -> None:
    """Write a Preprocess into the card's widgets (before they are drawn, or from a callback)."""
    state = st.session_state
    state["data_pp_height"], state["data_pp_width"] = p.size
    state["data_pp_resize"] = p.resize or 0
    state["data_pp_layout"], state["data_pp_channels"] = p.layout, p.channels
    state["data_pp_scale"] = float(p.scale)
    state["data_pp_mean"] = ", ".join(f"{v:g}" for v in p.mean)
    state["data_pp_std"] = ", ".join(f"{v:g}" for v in p.std)


def field_preprocess() -> Preprocess:
    """The Preprocess the card's widgets say (SpecError when they say something impossible)."""
    state = st.session_state
    return Preprocess.from_dict(
        {
            "size": [int(state["data_pp_height"]), int(state["data_pp_width"])],
            "resize": int(state["data_pp_resize"]) or None,
            "layout": state["data_pp_layout"],
            "channels": state["data_pp_channels"],
            "scale": state["data_pp_scale"],
            "mean": state["data_pp_mean"],
            "std": state["data_pp_std"],
        }
    )


def _on_preset(info) -> None:
    """A new preset: its values for the size, layout and channels the card shows now."""
    geometry = {"size": [st.session_state["data_pp_height"], st.session_state["data_pp_width"]]}
    geometry |= {"layout": st.session_state["data_pp_layout"], "channels": st.session_state["data_pp_channels"]}
    try:
        fill_fields(resolve_preprocess({"preset": st.session_state[PRESET_KEY], **geometry}, info))
    except SpecError:
        fill_fields(resolve_preprocess(st.session_state[PRESET_KEY], info))
