"""A trained flow in the data's own coordinates: velocity, samples and the implied score.

The network was trained on standardized points z = (x − center)/spread with noise
ε ~ N(0, I) there. In data coordinates the path is x_t = center + spread·z_t, so the noise
end is N(center, spread²·I) and velocities scale by `spread`.

`implied_score(x, σ)` closes the loop with Part 2: the path's marginal at time t is the data
blurred by σ = t/(1 − t) and shrunk by (1 − t) (see `path.sigma_of_time`), so a flow's
velocity gives the NCSN score s(x, σ) = ∇log p_σ(x) of the same data at every σ:

    t = σ/(1 + σ),  z = (1 − t)·(x − center)/spread,
    s(x, σ) = (1 − t)·(−(z + (1 − t)·v(z, t))/t) / spread
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models.lab.flow_matching import FlowSamples, guided_velocity, integrate, noise_start
from models.lab.flow_matching import time_of_sigma, velocity_to_score
from models.lab.training import Trainer, limited_threads

from .defaults import DEFAULTS
from .trainer import FlowConfig


@dataclass
class FlowModel:
    network: torch.nn.Module
    config: FlowConfig
    center: torch.Tensor              # (2,)
    spread: float
    dataset: dict | None = None       # DatasetSpec.to_dict()
    steps_trained: int = 0
    dataset_from_upload: dict | None = None

    @classmethod
    def from_trainer(cls, trainer: Trainer, center, spread: float, dataset: dict | None = None) -> "FlowModel":
        return cls(trainer.sampling_network, trainer.config, torch.as_tensor(center, dtype=torch.float32),
                   float(spread), dataset, trainer.state.step)

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def to_standard(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.center.to(x.device)) / self.spread

    def to_data(self, z: torch.Tensor) -> torch.Tensor:
        return self.center.to(z.device) + self.spread * z

    def _labels(self, label: int | None, n: int) -> torch.Tensor | None:
        if label is None:
            return None
        if not self.config.conditional:
            raise ValueError("this flow was trained without classes: no class to guide towards")
        if not 0 <= label < self.config.num_classes:
            raise ValueError(f"class {label} does not exist (this flow has classes 0…{self.config.num_classes - 1})")
        return torch.full((n,), int(label), dtype=torch.long, device=self.device)

    @torch.no_grad()
    def standard_velocity(self, z: torch.Tensor, t: float, label: int | None = None,
                          guidance: float = 1.0) -> torch.Tensor:
        """v(z, t) in standardized coordinates (guided towards `label` with weight `guidance`)."""
        fn = guided_velocity(self.network, self._labels(label, len(z)), guidance)
        return fn(z.to(self.device), float(t)).cpu()

    @torch.no_grad()
    def velocity(self, x: torch.Tensor, t: float, label: int | None = None, guidance: float = 1.0) -> torch.Tensor:
        """v(x, t) in data coordinates: dx_t/dt."""
        return self.spread * self.standard_velocity(self.to_standard(x.float()), t, label, guidance)

    @torch.no_grad()
    def implied_score(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        """∇log p_σ(x) of the data blurred by N(0, σ²I) (data coordinates), read off the velocity at t = σ/(1 + σ)."""
        t = time_of_sigma(float(sigma) / self.spread)
        z = (1 - t) * self.to_standard(x.float())
        v = self.standard_velocity(z, t)
        return (1 - t) * velocity_to_score(z, t, v) / self.spread

    def sample(self, *, n: int = 2000, steps: int = DEFAULTS.sample_steps, sampler: str = "euler", seed: int = 0,
               shift: float = 1.0, label: int | None = None, guidance: float = 1.0,
               guidance_interval: tuple[float, float] | None = None, stride: int = 0,
               start: torch.Tensor | None = None) -> FlowSamples:
        """Integrate from noise (or `start`, standardized) to data; samples and frames in data coordinates.
        `guidance_interval` (t_low, t_high): guide only there (see `flow_matching.guided_velocity`)."""
        z0 = noise_start(n, seed) if start is None else start.float()
        labels = self._labels(label, len(z0))
        fn = guided_velocity(self.network, labels, guidance, interval=guidance_interval)
        dev = self.device
        with limited_threads(self.config.num_threads):
            result = integrate(lambda z, t: fn(z.to(dev), t).cpu(), z0, steps=steps, sampler=sampler, shift=shift,
                               stride=stride)
        # energies stay in standardized units (straightness is compared within one model)
        result.samples = self.to_data(result.samples)
        result.frames = [self.to_data(f) for f in result.frames]
        return result
