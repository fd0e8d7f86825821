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

import math
import textwrap
import unicodedata

import streamlit as st

PARAM = "present"                # ?present=1
KEY = "presentation_mode"        # the sidebar switch's session-state key
ON_VALUES = ("1", "true", "yes", "on")
# An emoji: Streamlit draws it as an inline SVG (a material icon is fetched from a font CDN, and an image file
# costs the first page of a cold start ~0.1 s of importing PIL). Checking that it is an emoji still costs the first
# page ~50 ms (Streamlit compiles a regex of every emoji), but no icon is not an option: the tab then takes the
# page's material icon, from the CDN.
ICON = "🎓"

BODY_PX = 20          # body text while presenting
CHART_LABEL_PX = 16   # chart axis labels, legends, text marks while presenting
CHART_TITLE_PX = 20
CHART_TITLE_MIN_PX = 14  # presenting, a title never shrinks below this: a long one takes two lines instead
TITLE_LINE_CHARS = 34    # presenting, a longer title takes lines (14 px fits 34 characters in 240 px)
TITLE_PX = 15         # chart titles otherwise
# Plot heights while presenting: a chart fits on a 1024×768 projector, and the live training charts
# (Vega-Lite dicts) are short enough for Train, the numbers, the loss chart and the live samples beside it
# to fit on one screen.
CHART_MAX_PX, LIVE_CHART_MAX_PX = 400, 140
TITLE_EM_PER_CHAR = 0.5  # a bold title's average character width, in font sizes (measured ~0.4)
LABEL_EM_PER_CHAR = 0.45  # a legend label's
LABEL_PX = 12             # legend labels otherwise

# Always on. Metric labels and deltas wrap instead of ending in "…"; button labels wrap at spaces
# rather than being cut (a column too narrow for one word is still caught by the browser tests).
# A displayed equation too wide for its column breaks after a top-level =, + or − (KaTeX splits it
# there, as TeX would; its own CSS forbids the break) instead of scrolling sideways. The 2 px of
# padding hold KaTeX's 2-px struts (.vlist-s), which stuck out of an equation as wide as its column
# and gave it a scroll bar of its own.
LAYOUT_CSS = """
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] *,
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  height: auto !important;
}
[data-testid="stMetricDelta"] { align-items: flex-start; }
button [data-testid="stMarkdownContainer"] p { white-space: normal; text-overflow: clip; }
.katex-display > .katex { white-space: normal; padding-inline: 2px; }
"""

PRESENT_CSS = f"""
html {{ font-size: {BODY_PX}px; }}
[data-testid="stMainBlockContainer"] {{ padding-top: 4rem; padding-bottom: 2rem; }}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] {{ gap: 0.35rem; }}
[data-testid="stMainBlockContainer"] h1 {{ font-size: 1.6rem; padding-top: 0; padding-bottom: 0.4rem; }}
[data-testid="stMainBlockContainer"] h2 {{ font-size: 1.4rem; }}
[data-testid="stMainBlockContainer"] h3 {{ font-size: 1.2rem; }}
.katex-display > .katex {{ font-size: 1.05em; }}
[data-testid="stMetricValue"] {{ font-size: 2.2rem; }}
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
    st.set_page_config(page_title="Diffusion Classroom", page_icon=ICON, layout="wide",
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

def chart_config(title: str = "") -> dict:
    """Vega-Lite config: presentation-size chart text while presenting, and a title that shrinks to
    fit a narrow chart instead of ending in "…" (Vega cuts a title at the chart's width). Presenting, it
    shrinks to CHART_TITLE_MIN_PX at most, its longest line counted (`title_lines` splits a long one)."""
    config = {}
    if active():
        label = {"labelFontSize": CHART_LABEL_PX, "titleFontSize": CHART_LABEL_PX + 1}
        config = {"axis": label, "legend": {**label, "symbolSize": 140}, "header": label,
                  "text": {"fontSize": CHART_LABEL_PX}}
    if title:  # `width` is the plot's width in pixels, known only in the browser
        size = CHART_TITLE_PX if active() else TITLE_PX
        longest = max(_chars(line) for line in _as_lines(title_lines(title)))
        fit = f"min({size}, width / {TITLE_EM_PER_CHAR * longest:.1f})"
        config["title"] = {"fontSize": {"expr": f"max({CHART_TITLE_MIN_PX}, {fit})" if active() else fit}}
    return config


def title_lines(title: str) -> str | list[str]:
    """The title as drawn: presenting, one longer than TITLE_LINE_CHARS takes as many lines of about
    equal length as it needs (a 41-character title in a 250-px column shrank to 12 px)."""
    if not active() or _chars(title) <= TITLE_LINE_CHARS or " " not in title.strip():
        return title
    lines = math.ceil(len(title) / TITLE_LINE_CHARS)
    for width in range(math.ceil(len(title) / lines), TITLE_LINE_CHARS + 1):  # the most even split in `lines`
        wrapped = textwrap.wrap(title, width, break_long_words=False)
        if len(wrapped) <= lines:
            return wrapped
    return textwrap.wrap(title, TITLE_LINE_CHARS, break_long_words=False)


def _as_lines(title: str | list[str]) -> list[str]:
    return [title] if isinstance(title, str) else title


def _chars(text: str) -> int:
    """Characters as drawn: x̃ is one (x and a combining tilde)."""
    return max(sum(not unicodedata.combining(c) for c in text), 1)


def _title(title) -> str:
    return title if isinstance(title, str) else ""


def _fit_legend_labels(spec: dict) -> dict:
    """Colour legends of a Vega-Lite dict whose labels are listed in the scale's domain get labels
    that shrink to fit the plot's width, like titles, instead of being cut at the chart's edge."""
    spec = dict(spec)
    for holder in [spec] + spec.get("layer", []):
        color = holder.get("encoding", {}).get("color", {})
        legend, domain = color.get("legend"), color.get("scale", {}).get("domain")
        if isinstance(legend, dict) and isinstance(domain, list) and domain:
            longest = max(_chars(str(d)) for d in domain) + 3  # + the symbol
            size = CHART_LABEL_PX if active() else LABEL_PX
            legend["labelFontSize"] = {"expr": f"min({size}, width / {LABEL_EM_PER_CHAR * longest:.1f})"}
    return spec


def chart(chart_or_spec, *, width="stretch") -> None:
    """A chart filling the column, titled for screen readers, with presentation-size text: a Vega-Lite
    dict (a builder of app/ui/charts.py) or an Altair chart (converted here, never by st.altair_chart:
    see app/ui/chart_specs.py)."""
    if not isinstance(chart_or_spec, dict):
        from app.ui.chart_specs import vega_lite  # Altair and pandas: not on Home's first paint

        chart_or_spec = vega_lite(chart_or_spec)
    _draw(chart_or_spec, width, CHART_MAX_PX, fit_legend=False)


def spec_chart(spec: dict, *, width="stretch") -> None:
    """st.vega_lite_chart of a Vega-Lite dict (app/ui/training_charts.py), with presentation-size text."""
    _draw(spec, width, LIVE_CHART_MAX_PX, fit_legend=True)


def _draw(spec: dict, width, max_height: int, fit_legend: bool) -> None:
    title = _title(spec.get("title"))
    if fit_legend:
        spec = _fit_legend_labels(spec)
    config = chart_config(title)
    if title:
        spec = {**spec, "title": title_lines(title)}
    if config:
        spec = {**spec, "config": {**spec.get("config", {}), **config}}
    if active() and isinstance(spec.get("height"), int) and spec["height"] > max_height:
        spec = {**spec, "height": max_height}
    st.vega_lite_chart(spec, width=width, alt=title or "chart")

