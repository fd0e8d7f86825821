"""Presentation mode through the app's own entry point: ?present=1 turns it on for the session, and
the charts a page sends carry presentation-size text (axis labels and legends ≥ 16 px)."""

import json

from app.ui import presentation
from tests.helpers import open_page


def _forward_noising(present: bool):
    return open_page("views/forward_noising.py", query={presentation.PARAM: "1"} if present else None)


def test_present_1_makes_chart_text_large_and_titles_shrink_to_fit():
    at = _forward_noising(present=True)
    assert at.session_state[presentation.KEY] is True
    specs = [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]
    assert len(specs) >= 3
    for spec in specs:
        config = spec["config"]
        assert config["axis"]["labelFontSize"] >= 16 and config["legend"]["labelFontSize"] >= 16
        # a title shrinks with the plot's width instead of being cut, min(20, width / (0.5 · characters)),
        # but never below 14 px: a long one is two lines (its longest counted)
        lines = [spec["title"]] if isinstance(spec["title"], str) else spec["title"]
        assert all(presentation._chars(line) <= presentation.TITLE_LINE_CHARS for line in lines)
        longest = max(presentation._chars(line) for line in lines)
        assert config["title"]["fontSize"]["expr"] == (
            f"max(14, min(20, width / {presentation.TITLE_EM_PER_CHAR * longest:.1f}))")



def test_without_the_parameter_charts_keep_the_normal_text():
    at = _forward_noising(present=False)
    assert at.session_state[presentation.KEY] is False
    for el in at.get("vega_lite_chart"):
        config = json.loads(el.proto.spec).get("config", {})
        assert "axis" not in config and config["title"]["fontSize"]["expr"].startswith("min(15, ")


def test_presenting_a_chart_title_stays_at_least_14_px_and_a_long_one_takes_lines(monkeypatch):
    monkeypatch.setattr(presentation, "active", lambda: True)
    for title in ["Loss per noise level (dashed: floors)", "Exact velocity of the mixture at t = 0.50",
                  "1,000 samples of “moon 1” at w = 3, guided for 0.4 < t ≤ 0.8"]:
        lines = presentation.title_lines(title)
        assert isinstance(lines, list) and " ".join(lines) == title
        assert all(presentation._chars(line) <= presentation.TITLE_LINE_CHARS for line in lines)
        expr = presentation.chart_config(title)["title"]["fontSize"]["expr"]
        assert expr.startswith("max(14, ")
        # in a 240-px plot its longest line still fits at 14 px: width / (0.5 · characters) ≥ 14
        per_px = float(expr.rsplit("/ ", 1)[1].rstrip("))"))
        assert 240 / per_px >= 14
    assert presentation.title_lines("Data: moons") == "Data: moons"
    monkeypatch.setattr(presentation, "active", lambda: False)
    assert presentation.title_lines("Loss per noise level (dashed: floors)") == "Loss per noise level (dashed: floors)"
