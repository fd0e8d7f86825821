"""What the pages and docs say about flow matching and FLUX, checked against the code that does it.

Each test finds the sentence that makes a claim (tests/claims.py) and checks it against a computation:
exact velocities of Gaussian mixtures (models/flow/exact.py), the engine's own functions, or the tiny
FLUX-shaped pipeline. Numbers agree within 3 standard errors of their measurement plus their rounding.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from models.flow.defaults import DEFAULTS
from models.flow.exact import mixture_velocity, standardized
from models.flow.labels import mode_centers
from models.flow.model import FlowModel
from models.flow.run import ed_floor, evaluation_points, fresh_data_ratios, guidance_summary
from models.flow.trainer import FlowConfig
from models.lab.datasets import DatasetSpec, dataset_mixture, training_data
from models.lab.flow_matching import flow_matching_loss, integrate, interpolate, noise_start
from models.lab.mixture import GaussianMixture
from tests.claims import mean_and_se, sentence, sentences

pytest_plugins = ["tests.flux_fixtures"]

SCHNELL_TEXTS = ("app/views/home.py", "app/flow_lab/guidance.py", "app/gallery/recall.py", "docs/samplers.md",
                 "docs/flow-matching.md", "README.md")


# ----------------------------------------------------------------------------- schnell has no guidance input

def test_schnell_has_no_guidance_input(tiny_pipe):
    """A FLUX transformer without a guidance embedding (schnell's config) ignores guidance_scale and runs
    once per step: one conditional pass, which is w = 1 in classifier-free-guidance terms, not the
    unconditional w = 0 that "guidance 0" suggests."""
    assert not tiny_pipe.transformer.config.guidance_embeds
    passes = []
    hook = tiny_pipe.transformer.register_forward_hook(lambda *_: passes.append(1))
    try:
        images = [tiny_pipe("a cat", num_inference_steps=4, guidance_scale=w, height=32, width=32,
                            generator=torch.Generator("cpu").manual_seed(0), output_type="np").images
                  for w in (0.0, 3.5)]
    finally:
        hook.remove()
    assert np.array_equal(images[0], images[1])
    assert len(passes) == 2 * 4
    for path in SCHNELL_TEXTS:
        assert not [s for s in sentences(path) if "guidance 0" in s], f"{path} still says schnell runs with guidance 0"
    for path in ("app/views/home.py", "app/flow_lab/guidance.py"):
        said = sentence(path, "FLUX.1-schnell has no guidance input")
        assert "one conditional pass" in said and "w = 1" in said, said
    assert "which schnell ignores" in sentence("app/gallery/recall.py", "Use schnell's values")


# ----------------------------------------------------------------------------- what the model card says

def _texts() -> list[str]:
    """Every page, model and doc."""
    from tests.claims import ROOT

    return [str(p.relative_to(ROOT)) for folder in ("app", "models", "docs") for p in (ROOT / folder).rglob("*")
            if p.suffix in (".py", ".md")] + ["README.md"]


def test_schnell_is_said_to_be_trained_with_ladd_not_distilled_from_a_larger_model():
    """The model card says only that schnell was trained with latent adversarial diffusion distillation
    (LADD); it names no teacher."""
    for path in _texts():
        for s in sentences(path):
            if "LADD" in s or "adversarial diffusion distillation" in s:
                assert "larger model" not in s, f"{path}: {s}"
    assert "trained with latent adversarial diffusion distillation (LADD)" in sentence(
        "app/flow_lab/sections.py", "It was not trained like this toy")


# ----------------------------------------------------------------------------- what straightness S = 0 means

_ZERO_STRAIGHT = re.compile(r"\b0\s*[=:]\s*straight|\bS\s*=\s*0\b|\b0 (only )?for (perfectly )?straight")


def test_straightness_zero_means_straight_paths_at_constant_speed():
    """S = E∫‖v‖²dt − E‖x₁ − x₀‖² vanishes only for straight paths run at constant speed, where one Euler
    step is exact. Exact velocities: data at one point has such paths (S = 0, one step lands on it);
    Gaussian data N(0, I) has straight radial paths too, but each runs in and back out, so
    S = E‖ε‖²·∫(2t − 1)²/((1 − t)² + t²)dt = 2(2 − π/2) ≈ 0.858."""
    start = noise_start(4000, 0)
    point = GaussianMixture((1.0,), ((1.0, -2.0),), (1e-4,))
    straight = integrate(lambda x, t: mixture_velocity(point, x.double(), t).float(), start, steps=200)
    assert float(straight.bend.abs().max()) < 1e-3
    one_step = integrate(lambda x, t: mixture_velocity(point, x.double(), t).float(), start, steps=1)
    torch.testing.assert_close(one_step.samples, torch.tensor([[1.0, -2.0]]).expand(4000, 2), atol=1e-3, rtol=0)

    gaussian = GaussianMixture((1.0,), ((0.0, 0.0),), (1.0,))
    radial = integrate(lambda x, t: mixture_velocity(gaussian, x.double(), t).float(), start, steps=2000, stride=200)
    for frame in radial.frames:   # every point stays on the line through the origin and its start
        assert float((start[:, 0] * frame[:, 1] - start[:, 1] * frame[:, 0]).abs().max()) < 1e-3
    per_path = (start**2).sum(1) * (2 - math.pi / 2)
    torch.testing.assert_close(radial.bend, per_path, atol=2e-3, rtol=2e-3)
    mean, se = float(radial.bend.mean()), float(radial.bend.std()) / math.sqrt(len(start))
    assert abs(mean - 2 * (2 - math.pi / 2)) <= 3 * se

    for path in _texts():
        for s in sentences(path):
            if _ZERO_STRAIGHT.search(s):
                assert "constant speed" in s, f"{path}: {s}"


# ----------------------------------------------------------------------------- loose sentences

def test_the_plotted_flow_loss_is_half_the_squared_norm():
    """flow_matching_loss averages over the batch AND the 2 coordinates: per point it is ½‖v − (ε − x₀)‖².
    The loss chart's axis says so."""
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Linear(3, 2)
    network = lambda x, t: net(torch.cat([x, t[:, None]], 1))          # noqa: E731
    x0, eps, t = torch.randn(500, 2, generator=g), torch.randn(500, 2, generator=g), torch.rand(500, generator=g)
    with torch.no_grad():
        loss = float(flow_matching_loss(network, x0, eps, t))
        per_point = ((network(interpolate(x0, eps, t), t) - (eps - x0)) ** 2).sum(1)
    assert loss == pytest.approx(0.5 * float(per_point.mean()), rel=1e-6)
    assert "½‖v − (ε − x₀)‖²" in sentence("app/flow_lab/live.py", "y_title=")


def test_a_fresh_draw_of_the_data_is_not_held_to_one_floor():
    """Energy distance ÷ floor: the floor is an average of a few data-vs-data distances, and one fresh draw
    of the data itself lands well below and above it (moons, 10 draws), so 1× is no bound and the page
    gives the band instead of 'as good as it gets'."""
    spec = DatasetSpec.builtin("moons")
    evaluation, floor = evaluation_points(spec), ed_floor(spec)
    ratios = fresh_data_ratios(spec, evaluation, floor)
    assert len(ratios) == 10 and min(ratios) < 0.8 and max(ratios) > 1.3
    for path in _texts():
        assert not [s for s in sentences(path) if "as good as it gets" in s], path
    said = sentence("app/flow_lab/sections.py", "A single fresh draw of the data itself lands")
    assert "fresh[0]" in said and "fresh[-1]" in said, said


def test_logit_normal_times_and_the_loss_are_cited_to_sd3():
    """Black Forest Labs published no training objective: the rectified-flow loss with logit-normal t
    is from the SD3 paper (Esser et al. 2024)."""
    credit = re.compile(r"logit-normal[^.;\"()]{0,40}FLUX|FLUX[^.;\"()]{0,40}logit-normal|loss FLUX|FLUX uses", re.I)
    for path in _texts():
        for s in sentences(path):
            assert not credit.search(s), f"{path}: {s}"
    assert "Esser et al. 2024" in sentence("app/flow_lab/intro.py", "The network learns the velocity along that line")
    assert "Esser et al. 2024" in sentence("app/flow_lab/train.py", "Logit-normal")


# ----------------------------------------------------------------------------- guidance, and guidance in an interval

class ExactLabelled(torch.nn.Module):
    """The exact velocities of labelled 8-gaussians in a network's calling convention: standardized x, a time
    t, and a batch of one class (its mode alone) or None (every mode). No training error at all."""

    def __init__(self, mixture: GaussianMixture):
        super().__init__()
        self.mixture, self.anchor = mixture, torch.nn.Parameter(torch.zeros(1))

    def forward(self, x, t, labels=None):
        mix = self.mixture
        if labels is not None:
            k = int(labels[0])
            mix = GaussianMixture((1.0,), (mix.means[k],), (mix.stds[k],))
        return mixture_velocity(mix, x.double(), float(t)).float()


def _exact_guided_flow() -> FlowModel:
    data = training_data(DatasetSpec.builtin("8-gaussians"), 10_000, 0)
    network = ExactLabelled(standardized(dataset_mixture("8-gaussians"), data.center, data.spread))
    return FlowModel(network, FlowConfig(num_classes=8), data.center, data.spread)


def test_guidance_pushes_a_class_past_its_mode_most_of_it_at_high_noise():
    """With exact velocities, w = 3 on the whole path narrows each class and moves its mean past the mode's
    centre (pushed away from the others); guidance only at high noise (t > 0.7) moves it much further than
    guidance only near the data (t ≤ 0.3), and guidance only in the page's interval moves it less than on
    the whole path. Paired over the 8 classes (1000 samples each); 3 standard errors of the paired mean."""
    model, centers = _exact_guided_flow(), mode_centers(DatasetSpec.builtin("8-gaussians"))

    def summaries(w, interval=None):
        return [guidance_summary(model, k, w, centers, n=1000, interval=interval) for k in range(8)]

    def gap(a, b, key):   # mean of b − a over the classes, and its s.e.
        return mean_and_se([y[key] - x[key] for x, y in zip(a, b)])

    plain, whole = summaries(1.0), summaries(3.0)
    high, low = summaries(3.0, (0.7, 1.0)), summaries(3.0, (0.0, 0.3))
    interval = summaries(3.0, DEFAULTS.guidance_interval)
    for a, b, key in ((plain, whole, "offset"), (whole, plain, "spread"), (low, high, "offset"),
                      (interval, whole, "offset")):
        mean, se = gap(a, b, key)
        assert mean > 3 * se, (key, mean, se)
    assert all(s["share"] == 1.0 for s in whole + interval)
    said = sentence("app/flow_lab/guidance.py", "most of that push comes from guidance at")
    assert "high noise" in said
    assert "Kynkäänniemi et al. 2024" in sentence("app/flow_lab/guidance.py", "Guidance only in a band of t")
