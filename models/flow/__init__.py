"""Flow matching in 2-D, with FLUX's convention (x_t = (1 − t)·x₀ + t·ε, t = 1 is noise, v ≈ ε − x₀).

The path, the loss, the Euler/Heun samplers and guidance are `models.lab.flow_matching` (shared with
the text-to-image model). One idea per module here: `exact` (the exact velocity field of a Gaussian
mixture), `network`, `trainer`, `model` (a trained flow in data coordinates), `checkpoints`, `labels`,
`reflow`, `run` (the front door for the page and the CLI) and `cli`.
"""
