"""An EvalData's `source` (qviz.evaluate.data writes it in English) as text in the page's language.

sample <id> (<split>)[, first <n>]    -> translated words; the id stays (it is a name)
generated (seed …, n …)               -> "generated" translated, the numbers kept
npz | images | text                   -> kept (file kinds)
"""

from __future__ import annotations

import re

from qviz.ui.text import t

_SAMPLE = re.compile(r"sample (?P<id>\S+) \((?P<split>test|calibration)\)(?:, first (?P<n>\d+))?$")
_GENERATED = re.compile(r"generated \((?P<detail>.*)\)$")


def data_source_text(source: str) -> str:
    """`source` with its words translated (anything not recognised is returned unchanged)."""
    sample = _SAMPLE.match(source)
    if sample:
        text = t("src_sample", id=sample["id"], split=t(f"src_split_{sample['split']}"))
        return text + (t("src_first", n=sample["n"]) if sample["n"] else "")
    generated = _GENERATED.match(source)
    if generated:
        return t("src_generated", detail=generated["detail"])
    return source
