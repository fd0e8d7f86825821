"""Sampling: Euler steps of the flow from noise (t = 1) to a digit (t = 0), steered by a prompt.

As in How FLUX samples: x ← x + (t_next − t)·v on an even time grid, 1–20 steps, and classifier-free
guidance v = v_u + w·(v_c − v_u) with v_u the velocity for the empty prompt. w = 0 ignores the prompt,
w = 1 is the plain conditional velocity (one pass), w > 1 pushes further towards it.

The step timeline shows, at each step, x̂₀ = x_t − t·v: the model's current guess of the final image.
The starting noise has its own stream (`train.stream(seed, "sample-noise")`), never a training stream's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models.lab import flow_matching as fm
from models.lab.training import limited_threads

from .data import PIXELS, from_model
from .model import TextToImage
from .text_encoder import EMPTY_PROMPT, tokenize
from .train import stream

MAX_STEPS = 20
MAX_GUIDANCE = 8.0
MAX_IMAGES = 10_000  # a CLI run; the page offers 1–16
DEFAULT_STEPS = 4
DEFAULT_GUIDANCE = 2.0


@dataclass
class Samples:
    images: torch.Tensor                 # (n, 8, 8) in [0, 1], 0 = background
    times: list[float]                   # t at the start of each step, then 0
    previews: list[torch.Tensor]         # per step: x̂₀ = x_t − t·v as (n, 8, 8) images (empty unless asked)


def start_noise(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, PIXELS, generator=stream(seed, "sample-noise"))


@torch.no_grad()
def generate(model: TextToImage, prompt: str, *, n: int = 16, steps: int = DEFAULT_STEPS,
             guidance: float = DEFAULT_GUIDANCE, seed: int = 0, timeline: bool = False,
             num_threads: int = 1, noise: torch.Tensor | None = None) -> Samples:
    """n images for `prompt`. The same seed gives the same starting noise for any prompt (two-prompt compare)."""
    model.eval()
    with limited_threads(num_threads):
        device = next(model.parameters()).device
        start = (start_noise(n, seed) if noise is None else noise.clone()).to(device)
        text = model.text(tokenize([prompt, EMPTY_PROMPT]).to(device))
        cond, uncond = text[:1].expand(n, -1), text[1:].expand(n, -1)

        def network(x: torch.Tensor, t: float, c: torch.Tensor | None) -> torch.Tensor:
            return model.velocity(x, t, uncond if c is None else c)

        guided = fm.guided_velocity(network, cond, guidance)
        previews = []

        def velocity(x: torch.Tensor, t: float) -> torch.Tensor:
            v = guided(x, t)
            if timeline:  # Euler calls this once per step: the model's guess of the final image there
                previews.append(from_model(fm.velocity_to_x0(x, t, v)).cpu())
            return v

        result = fm.integrate(velocity, start, steps=steps, sampler="euler")
    return Samples(images=from_model(result.samples), times=fm.time_grid(steps).tolist(), previews=previews)
