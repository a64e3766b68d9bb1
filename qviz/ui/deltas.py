"""st.metric deltas that never show a change of zero as a gain.

Streamlit colours any delta that does not start with "-" green with an up arrow, so a change
that rounds to 0 ("+0.00%") looked like an improvement. A delta whose shown digits are all 0 is
None here (st.metric then draws no arrow at all).
"""

from __future__ import annotations


def delta_text(change: float | None, fmt: str, unit: str = "") -> str | None:
    """`change` formatted with a sign, or None when it is missing or its shown digits are all 0.

    >>> delta_text(0.00001, "+.2%"), delta_text(-0.0312, "+.2%"), delta_text(0.5, "+.2f", " dB")
    (None, '-3.12%', '+0.50 dB')
    """
    if change is None:
        return None
    text = format(change, fmt)
    mantissa = text.lower().split("e")[0]
    return text + unit if any(c in "123456789" for c in mantissa) else None
