"""Reflow (Liu, Gong & Liu 2022, "Flow straight and fast"): train a new flow on the first one's own pairs.

A flow trained on (data, independent noise) pairs learns curved ODE paths: lines that cross
in the straight interpolation are averaged into bends. Running the trained ODE couples each
noise draw ε with ONE sample x₀; a flow trained on these (x₀, ε) pairs has lines that (almost)
never cross, so its paths are straighter and few Euler steps go further.

The straightness of a flow is measured as in the paper:

    S = E ∫₀¹ ‖(ε − x₀) − v(x_t, t)‖² dt = E[∫‖v‖²dt] − E‖x₁ − x₀‖²   (along the ODE's own paths)

0 only for straight paths run at constant speed, where one Euler step is exact (Gaussian data has
straight radial paths, yet S = 2(2 − π/2) ≈ 0.86 at unit variance: they run in and back out);
estimated with a fine Euler grid (`flow_matching.integrate`'s `bend`).

FLUX.1-schnell was NOT made with reflow: it was distilled with latent adversarial diffusion
distillation (LADD). Reflow is the 2-D way to see why straight paths allow few steps.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from models.core.errors import InputError
from models.lab.flow_matching import noise_start
from models.lab.training import Trainer

from .model import FlowModel
from .trainer import flow_trainer

PAIR_STEPS = 50            # Heun steps (100 network calls) to couple each noise draw with its sample
STRAIGHTNESS_STEPS = 100   # the Euler grid that estimates ∫‖v‖²dt


def reflow_pairs(model: FlowModel, n: int, seed: int, steps: int = PAIR_STEPS) -> tuple[torch.Tensor, torch.Tensor]:
    """(noise, sample) pairs of the flow's ODE, both in standardized coordinates."""
    eps = noise_start(n, seed)
    result = model.sample(n=n, steps=steps, sampler="heun", start=eps)
    return eps, model.to_standard(result.samples)


def reflow_trainer(parent: FlowModel, pairs: tuple[torch.Tensor, torch.Tensor], *, steps: int | None = None,
                   seed: int | None = None) -> Trainer:
    """A trainer for the next rectified flow: on `pairs`, starting from the parent's weights."""
    c = parent.config
    if c.conditional:
        raise InputError("reflow is for unconditional flows: this one was trained with classes")
    config = replace(c, reflow=c.reflow + 1, steps=steps or c.steps, seed=c.seed if seed is None else seed,
                     device=str(parent.device))
    eps, x0 = pairs
    trainer = flow_trainer(config, x0, noise=eps)
    # start where the parent is: the new flow only has to learn the straightening
    state = {k: v.detach().clone() for k, v in parent.network.state_dict().items()}
    trainer.network.load_state_dict(state)
    if trainer.ema_network is not None:
        trainer.ema_network.load_state_dict(state)
    return trainer


def straightness(model: FlowModel, n: int = 1000, seed: int = 0, steps: int = STRAIGHTNESS_STEPS) -> float:
    """S = E ∫‖v‖²dt − E‖x₁ − x₀‖² along the flow's own paths (standardized units; 0 = straight paths at
    constant speed)."""
    result = model.sample(n=n, steps=steps, sampler="euler", seed=seed)
    return float(result.bend.mean())

