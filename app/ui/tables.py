"""Tables the text asks students to read: every column on screen, whatever the window.

`st.dataframe` draws a fixed-width grid that scrolls sideways once its columns are wider than the
column it sits in, so on a projector the last columns (the ones a caption usually talks about) are
simply not there. A reading table is an HTML table instead: its headers and cells wrap, so it always
fits, and nothing is hidden behind a scroll bar. Numbers keep their type (tests read them back); only
their display is formatted.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd
import streamlit as st

# display formats by name, for the columns that need one
FORMATS = {"percent": "{:.0%}", "percent1": "{:.1%}"}


def reading_table(rows: pd.DataFrame | Sequence[Mapping], formats: Mapping[str, str] | None = None) -> None:
    """`rows` as a table that wraps to fit its column. `formats`: column → a str.format pattern
    ("{:.3f}") or a name in FORMATS, used for a number column (text is shown as it is); a number
    column without one shows its values as the caller rounded them (0.786, not 0.7860)."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    numbers = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    shown = {c: "{:g}" for c in numbers if pd.api.types.is_float_dtype(frame[c])}
    shown.update({c: FORMATS.get(f, f) for c, f in (formats or {}).items() if c in numbers})
    st.table(frame.style.format(shown, na_rep="–"), hide_index=True)
