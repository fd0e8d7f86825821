"""The 2-D lab's command line, `python -m models.toy2d`: one parser for every model the lab trains
(NCSN, single-σ, flow), dispatching to the score and flow families' commands. An entry layer
above the families, like app/."""
