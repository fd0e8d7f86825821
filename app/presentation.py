"""How every page looks: layout fixes for real screen sizes, and presentation mode for a lecture hall.

Presentation mode is one switch in the sidebar, or `?present=1` in the address (bookmarkable; the
address follows the switch). While it is on: body text 20 px, chart axis labels and legends 16 px,
large metric values, the sidebar starts collapsed and the "How it works" boxes start closed, so
Train and the loss chart fit on a 1024×768 projector. Any chart can be shown full screen with the
⛶ button Streamlit puts in its top-right corner.

app/main.py calls `page_config()` and `apply()` once per run; pages draw charts with `chart()` /
`spec_chart()` (column-wide, presentation-size text) and ask `active()` where they change.
All CSS here is constant text written in this file, never user input.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PARAM = "present"                # ?present=1
KEY = "presentation_mode"        # the sidebar switch's session-state key
ON_VALUES = ("1", "true", "yes", "on")
ICON = Path(__file__).parent / "static" / "favicon.png"  # local: a material icon is fetched from a font CDN

BODY_PX = 20          # body text while presenting
CHART_LABEL_PX = 16   # chart axis labels, legends, text marks while presenting
CHART_TITLE_PX = 20

# Always on. Metric labels and deltas wrap instead of ending in "…"; button labels wrap at spaces
# rather than being cut (a column too narrow for one word is still caught by the browser tests).
LAYOUT_CSS = """
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] *,
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  height: auto !important;
}
[data-testid="stMetricDelta"] { align-items: flex-start; }
button [data-testid="stMarkdownContainer"] p { white-space: normal; text-overflow: clip; }
"""

PRESENT_CSS = f"""
html {{ font-size: {BODY_PX}px; }}
[data-testid="stMainBlockContainer"] {{ padding-top: 2.2rem; padding-bottom: 2rem; }}
[data-testid="stMainBlockContainer"] h1 {{ font-size: 2.1rem; padding-top: 0; padding-bottom: 0.4rem; }}
[data-testid="stMetricValue"] {{ font-size: 2.4rem; }}
[data-testid="stMetricLabel"] p {{ font-size: 1rem; }}
"""


def active() -> bool:
    """Whether this browser session presents: the address decides on first load, the switch after."""
    if KEY not in st.session_state:
        st.session_state[KEY] = str(st.query_params.get(PARAM, "")).lower() in ON_VALUES
    return bool(st.session_state[KEY])


def sidebar_state() -> str:
    """st.set_page_config's initial_sidebar_state: collapsed while presenting."""
    return "collapsed" if active() else "auto"


def page_config() -> None:
    st.set_page_config(page_title="Diffusion Classroom", page_icon=str(ICON), layout="wide",
                       initial_sidebar_state=sidebar_state())


def _address_follows_switch() -> None:
    if active():
        st.query_params[PARAM] = "1"
    elif PARAM in st.query_params:
        del st.query_params[PARAM]


def apply() -> None:
    """The sidebar switch, the address kept in step with it, and this run's CSS."""
    active()  # the first run of a session reads ?present=1 before the switch exists
    st.sidebar.toggle("Presentation mode", key=KEY, on_change=_address_follows_switch,
                      help=f"Large type for a projector; the sidebar and the 'How it works' boxes start "
                           f"closed. Bookmark the address with ?{PARAM}=1 to start in it.")
    _address_follows_switch()
    css = LAYOUT_CSS + (PRESENT_CSS if active() else "")
    st.html(f"<style>{css}</style>")


# ----------------------------------------------------------------------------- charts

def chart_config() -> dict:
    """Vega-Lite config for presentation-size chart text (empty when not presenting)."""
    if not active():
        return {}
    label = {"labelFontSize": CHART_LABEL_PX, "titleFontSize": CHART_LABEL_PX + 1}
    return {"axis": label, "legend": {**label, "symbolSize": 140}, "header": label,
            "title": {"fontSize": CHART_TITLE_PX}, "text": {"fontSize": CHART_LABEL_PX}}


def chart(altair_chart, *, width="stretch") -> None:
    """st.altair_chart filling the column, titled for screen readers, with presentation-size text."""
    title = getattr(altair_chart, "title", None)
    config = chart_config()
    if config:
        altair_chart = altair_chart.configure(**config)
    st.altair_chart(altair_chart, width=width, alt=title if isinstance(title, str) and title else "chart")


def spec_chart(spec: dict, *, width="stretch") -> None:
    """st.vega_lite_chart of a Vega-Lite dict (app/training_charts.py), with presentation-size text."""
    config = chart_config()
    if config:
        spec = {**spec, "config": {**spec.get("config", {}), **config}}
    st.vega_lite_chart(spec, width=width, alt=spec.get("title") or "chart")

