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
        # a long title shrinks with the plot's width instead of being cut: min(20, width / (0.5 · characters))
        assert config["title"]["fontSize"]["expr"] == (
            f"min(20, width / {presentation.TITLE_EM_PER_CHAR * presentation._chars(spec['title']):.1f})")


def test_without_the_parameter_charts_keep_the_normal_text():
    at = _forward_noising(present=False)
    assert at.session_state[presentation.KEY] is False
    for el in at.get("vega_lite_chart"):
        config = json.loads(el.proto.spec).get("config", {})
        assert "axis" not in config and config["title"]["fontSize"]["expr"].startswith("min(15, ")
