"""Forward noising follows the noisy cloud: at σ = 20 the Gaussian blob the page talks about is on screen."""

from __future__ import annotations

import re

from tests.helpers import charts, open_page


def _x_domain(spec: dict) -> list[float]:
    """The x axis range: a fixed domain, or (charts that keep squares square) centre ± half-width expressions."""
    scale = spec["encoding"]["x"]["scale"]
    if "domain" in scale:
        return [float(v) for v in scale["domain"]]
    centre, half = re.match(r"\s*([-\d.e]+)\s*\+\s*([\d.e]+)\s*\*", scale["domainMax"]["expr"]).groups()
    return [float(centre) - float(half), float(centre) + float(half)]


def test_the_axes_follow_the_cloud_at_large_sigma_and_the_toggle_keeps_the_data_view():
    at = open_page("views/forward_noising.py", fn_n=200, fn_sigma=20.0)
    noisy = charts(at)[0]
    lo, hi = _x_domain(noisy["spec"])
    assert (lo, hi) == (-70.0, 70.0)  # 3.5 σ
    points = [r for r in noisy["rows"] if r["set"] == "noisy x̃"]
    inside = sum(abs(r["x"]) <= hi and abs(r["y"]) <= hi for r in points) / len(points)
    assert inside >= 0.99
    assert not any("outside the view" in c.value for c in at.caption)

    at.toggle(key="fn_follow").set_value(False).run()  # the data's own view: the blob is mostly off screen
    assert _x_domain(charts(at)[0]["spec"]) == [-3.0, 3.0]
    assert any("of the noisy points are outside the view" in c.value for c in at.caption)

    at.toggle(key="fn_follow").set_value(True)
    at.select_slider(key="fn_sigma").set_value(0.3).run()  # small σ: the data's view either way
    assert _x_domain(charts(at)[0]["spec"]) == [-3.0, 3.0]
