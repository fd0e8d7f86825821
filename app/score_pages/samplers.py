"""The samplers page's job and results: every sampler on each score, their samples and paths, and one
table row per sampler."""

from __future__ import annotations

import streamlit as st

from app.ui import charts, presentation
from app.ui.tables import reading_table
from models.core.jobs import Task
from models.score.sampler_comparison import every_sampler_job


def every_sampler(setups: list, n: int, seed: int) -> Task:
    """The job: compare every sampler on each score setup in turn, in a worker (None once stopped).
    `setups`: ("exact", mixture name) or ("network", a run), see `sampler_comparison.setup_of`."""
    specs = [(kind, what.model_only() if kind == "network" else what) for kind, what in setups]
    return Task(every_sampler_job, (specs, n, seed))


def comparison_ui(comparisons: list, n_samples: int) -> None:
    """`comparisons`: the chosen score's comparison, then (for a network) the exact score's on the same data."""
    main = comparisons[0]
    exact = comparisons[1] if len(comparisons) > 1 else None
    st.subheader(f"Samples and a few paths — {main.score_label}")
    data = main.fresh
    domain = charts.square_domain(data)
    for pair in range(0, len(main.outcomes), 2):
        for col, outcome in zip(st.columns(2), main.outcomes[pair:pair + 2]):
            with col:
                presentation.chart(charts.scatter(outcome.samples, data, outcome.short_label, domain,
                                                  paths=outcome.paths, size=280))
    rows = _table_rows(main, exact)
    reading_table(rows, {c: "{:.2f}" if c in ("seconds", ED_COLUMN) else "{:.3f}" for c in rows[0] if c != "score calls"})
    st.caption(f"{n_samples} samples per sampler, default settings. The energy distance is divided by the "
               f"distance between two fresh draws of the data ({main.floor:.4f}): about 1 is as close as two "
               "samples of the data itself. Seconds depend on the machine and its load.")


ED_COLUMN = "energy distance ÷ data-vs-data floor"


def _table_rows(main, exact) -> list[dict]:
    """Per sampler: the heaviest mode's share (and with the exact score), the largest share error, the
    within-mode spread, the energy distance over its floor, the cost."""
    rows = []
    for k, o in enumerate(main.outcomes):
        row = {"sampler": o.label}
        if main.truth is not None:
            heavy = max(range(len(main.truth.weights)), key=lambda i: main.truth.weights[i])
            row[f"heaviest-mode share (truth {main.truth.weights[heavy]:.2f})"] = round(float(o.shares[heavy]), 3)
            if exact is not None:
                row["same, exact score"] = round(float(exact.outcomes[k].shares[heavy]), 3)
            row["largest share error"] = round(float(max(abs(o.shares - main.truth.weights))), 3)
            row[f"within-mode std (truth {main.true_within_std:.2f})"] = round(o.within_std, 3)
        row[ED_COLUMN] = round(o.energy_ratio, 2)
        row["score calls"] = o.calls
        row["seconds"] = round(o.seconds, 2)
        rows.append(row)
    return rows
