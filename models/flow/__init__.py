"""Flow matching in 2-D, with FLUX's convention (x_t = (1 − t)·x₀ + t·ε, t = 1 is noise, v ≈ ε − x₀).

One idea per module: `path` (the interpolation, its time draws and the score ↔ velocity
conversion), `exact` (the exact velocity field of a Gaussian mixture), `network`, `trainer`,
`sampling` (Euler/Heun ODE solvers, guidance), `model` (a trained flow in data coordinates),
`checkpoints`, `labels`, `reflow`, `run` (the front door for the page and the CLI) and `cli`.
"""
