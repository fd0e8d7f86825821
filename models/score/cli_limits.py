"""The score CLI's own ceilings, and which `sample` options each sampler does not read."""

MAX_SAMPLER_STEPS = 100_000      # sample --steps (plain Langevin)
MAX_STEPS_PER_LEVEL = 10_000     # sample/animate --steps-per-level
MAX_SAMPLE_LEVELS = 1000         # sample --levels (a re-laddered run, or the denoising sampler's steps)
MAX_GIF_POINTS = 100_000         # animate --n: more is one blob in a GIF, and 50 snapshots of it in memory
MAX_GIF_SIZE = 2048              # animate --size, pixels
MAX_GIF_FRAMES = 500             # animate --frames
MAX_LOGLIK_POINTS = 100_000      # loglik --data: each point follows its own ODE path (4 score calls per step)
MAX_LOGLIK_STEPS = 10_000        # loglik --steps


# For each sampler, the `sample` options it does NOT read and what to use instead.
NOT_READ_BY = {
    "annealed": {
        "steps": "annealed Langevin takes --steps-per-level",
        "solver": "only the probability-flow ODE has a solver",
        "sigma": "annealed Langevin walks the whole ladder: set its ends with --sigma-max/--sigma-min",
    },
    "langevin": {
        "steps_per_level": "plain Langevin takes --steps",
        "levels": "plain Langevin runs at one σ: give it with --sigma",
        "sigma_max": "plain Langevin runs at one σ: give it with --sigma",
        "sigma_min": "plain Langevin runs at one σ: give it with --sigma",
        "solver": "only the probability-flow ODE has a solver",
    },
    "denoise": {
        "steps": "the denoising sampler takes one step per level: set how many with --levels",
        "steps_per_level": "the denoising sampler takes one step per level: set how many with --levels",
        "sigma": "the denoising sampler walks the whole ladder: set its ends with --sigma-max/--sigma-min",
        "eps": "the denoising sampler's step sizes come from the ladder",
        "final_denoise": "the denoising sampler always ends with the Tweedie mean",
        "solver": "only the probability-flow ODE has a solver",
    },
    "pc": {
        "steps": "predictor-corrector takes one predictor step per level: set how many with --levels",
        "steps_per_level": "predictor-corrector takes one Langevin corrector step per level",
        "sigma": "predictor-corrector walks the whole ladder: set its ends with --sigma-max/--sigma-min",
        "eps": "predictor-corrector sets its corrector step from a signal-to-noise ratio",
        "final_denoise": "predictor-corrector always ends with the Tweedie mean",
        "solver": "only the probability-flow ODE has a solver",
    },
    "ode": {
        "steps_per_level": "the ODE takes --steps",
        "levels": "the ODE takes --steps",
        "sigma": "the ODE walks the whole ladder: set its ends with --sigma-max/--sigma-min",
        "eps": "the ODE's step sizes come from the ladder and --steps",
        "final_denoise": "the ODE ends at σ_min without a Tweedie step",
    },
}
