"""Every sampler draws its start (the prior) and its noise from streams of their own.

Two generators seeded alike replay each other's numbers: a sampler whose noise was seeded like its
prior re-added the prior's draws as noise (correlation ≈ 1) and skewed the NCSN toy's heavy-mode
share. Two checks, over every sampler entry point of the score and flow families:

* the mechanism: no two generators made during one call (training included, where a model is
  trained for it) share a seed;
* the symptom: the noise a sampler adds in its first steps is uncorrelated with where it started.

A new sampler must join ENTRY_POINTS: a test fails while one is missing.
"""

from __future__ import annotations

import inspect
from collections import Counter

import numpy as np
import pytest
import torch

from models.flow.model import FlowModel
from models.flow.reflow import reflow_pairs
from models.flow.run import flow_config, paths, train as train_flow
from models.lab import flow_matching
from models.lab.datasets import DatasetSpec, dataset_mixture, sample_dataset, training_data
from models.lab.streams import PRIOR, SAMPLER_NOISE, stream, stream_seed
from models.score import experiments, sampling
from models.score.prior import gaussian_prior, mixture_prior, points_prior
from models.score.run import SAMPLERS, draw_samples, train, training_config
from models.score.sampler_comparison import SAMPLER_LABELS, run_sampler, step_decomposition
from models.score.samplers import ancestral_step_parts

TOY = dataset_mixture("ncsn-mixture")
LADDER = torch.tensor([20.0, 1.0])
SEED = 3


def const_score(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """The same drift for every particle: what the particles gain beyond it is the sampler's noise alone."""
    return torch.tensor([1.0, 0.0]).expand_as(x)


PRIORS = {"exact mixture": mixture_prior(TOY, 20.0),
          "moment-matched Gaussian": gaussian_prior(torch.zeros(2), 4.0, 20.0),
          "points + noise": points_prior(sample_dataset("moons", 500, 0), 20.0), "no prior": None}


@pytest.fixture(scope="module")
def tiny_ncsn():
    data = training_data(DatasetSpec.builtin("ncsn-mixture"), 500, SEED)
    return lambda: train(data, training_config(steps=2, batch_size=16, seed=SEED))[0]


@pytest.fixture(scope="module")
def tiny_single_sigma():
    data = training_data(DatasetSpec.builtin("moons"), 500, SEED)
    return lambda: train(data, training_config(model="single-sigma", steps=2, batch_size=16, seed=SEED))[0]


@pytest.fixture(scope="module")
def tiny_flow():
    data = training_data(DatasetSpec.builtin("moons"), 500, SEED)
    return lambda: train_flow(data, flow_config(steps=2, batch_size=16, seed=SEED))[0]


def _sampling_calls() -> dict:
    calls = {}
    for prior_name, prior in PRIORS.items():
        common = dict(n=200, seed=SEED, prior=prior)
        calls[f"sample_annealed_langevin, {prior_name}"] = lambda c=common: sampling.sample_annealed_langevin(
            const_score, LADDER, levels=3, steps_per_level=2, **c)
        calls[f"sample_denoising, {prior_name}"] = lambda c=common: sampling.sample_denoising(
            const_score, LADDER, levels=4, **c)
        calls[f"sample_predictor_corrector, {prior_name}"] = lambda c=common: sampling.sample_predictor_corrector(
            const_score, LADDER, levels=4, **c)
        calls[f"sample_ode, {prior_name}"] = lambda c=common: sampling.sample_ode(const_score, LADDER, steps=3, **c)
    calls["sample_langevin"] = lambda: sampling.sample_langevin(const_score, 1.0, eps=0.1, n=200, seed=SEED, steps=3)
    return calls


def entry_points(tiny_ncsn, tiny_single_sigma, tiny_flow) -> dict:
    """Every way a page, the CLI or a benchmark draws samples, as a call with seed SEED (a trained model
    trained with the same seed inside the call, so training's generators are compared too).
    Two samplers run side by side from one start may share their noise on purpose (the Langevin page's
    network panel): each is listed on its own."""
    calls = _sampling_calls()
    for name in SAMPLERS:
        calls[f"draw_samples {name}"] = lambda name=name: draw_samples(tiny_ncsn(), name, n=200, seed=SEED,
                                                                        steps_per_level=2, steps=3)
    calls["draw_samples langevin (single σ)"] = lambda: draw_samples(tiny_single_sigma(), "langevin", n=200,
                                                                      seed=SEED)
    for name in SAMPLER_LABELS:
        calls[f"run_sampler {name}"] = lambda name=name: run_sampler(name, const_score, LADDER, PRIORS["exact mixture"],
                                                                     n=200, seed=SEED)
    for kind in ("langevin", "annealed"):
        calls[f"ncsn_toy_sampling {kind}"] = lambda kind=kind: experiments.ncsn_toy_sampling(
            kind, n=200, seed=SEED, eps=0.1, steps=3, levels=3)
    calls["empirical_optimal_samples"] = lambda: experiments.empirical_optimal_samples("moons", 200, 100, SEED)
    calls["network_samples"] = lambda: experiments.network_samples(tiny_ncsn(), 100, SEED)
    calls["step_decomposition"] = lambda: step_decomposition(const_score, TOY, 2.0, 1.9, n=200, seed=SEED)
    calls["ancestral_step_parts"] = lambda: ancestral_step_parts(
        const_score, PRIORS["exact mixture"].sample(200, SEED), 2.0, 1.9, seed=SEED)
    calls["flow sample"] = lambda: tiny_flow().sample(n=200, steps=3, seed=SEED)
    calls["flow paths"] = lambda: paths(tiny_flow(), n=20, steps=3, seed=SEED)
    calls["flow reflow pairs"] = lambda: reflow_pairs(tiny_flow(), 100, SEED, steps=2)
    return calls


@pytest.fixture
def seed_log(monkeypatch):
    """The seed of every torch.Generator made while the test runs."""
    seeds: list[int] = []

    class Recording(torch.Generator):
        def manual_seed(self, seed):
            seeds.append(int(seed))
            return super().manual_seed(seed)

    monkeypatch.setattr(torch, "Generator", Recording)
    return seeds


def test_streams_are_reproducible_and_distinct():
    a = torch.randn(1000, generator=stream(SEED, PRIOR))
    assert torch.equal(a, torch.randn(1000, generator=stream(SEED, PRIOR)))
    b = torch.randn(1000, generator=stream(SEED, SAMPLER_NOISE))
    assert abs(float(np.corrcoef(a, b)[0, 1])) < 0.15
    assert len({stream_seed(s, n) for s in range(50) for n in (PRIOR, SAMPLER_NOISE)} | set(range(50))) == 150


def test_every_sampler_is_an_entry_point(tiny_ncsn, tiny_single_sigma, tiny_flow):
    names = " | ".join(entry_points(tiny_ncsn, tiny_single_sigma, tiny_flow))
    public = [n for n, f in inspect.getmembers(sampling, inspect.isfunction)
              if n.startswith("sample_") and f.__module__ == sampling.__name__]
    missing = [n for n in public if n not in names]
    missing += [f"draw_samples {n}" for n in SAMPLERS if f"draw_samples {n}" not in names]
    missing += [f"run_sampler {n}" for n in SAMPLER_LABELS if f"run_sampler {n}" not in names]
    assert not missing, f"samplers the stream test does not cover: {missing}"


def test_no_two_generators_of_one_sampling_call_share_a_seed(tiny_ncsn, tiny_single_sigma, tiny_flow, seed_log):
    shared = {}
    for name, call in entry_points(tiny_ncsn, tiny_single_sigma, tiny_flow).items():
        seed_log.clear()
        call()
        twice = [s for s, k in Counter(seed_log).items() if k > 1]
        if twice:
            shared[name] = twice
    assert not shared, f"generators seeded alike (they replay each other's draws): {shared}"


def _max_correlation(frames: list[torch.Tensor], first: int = 6) -> float:
    """Largest |correlation| between the first steps' increments and the start (and its square), per axis."""
    start = frames[0].double().numpy()
    best = 0.0
    for before, after in list(zip(frames, frames[1:]))[:first]:
        step = (after - before).double().numpy()
        for a in range(2):
            for b in range(2):
                for feature in (start[:, b], start[:, b] ** 2):
                    best = max(best, abs(float(np.corrcoef(step[:, a], feature)[0, 1])))
    return best


@pytest.mark.parametrize("sampler, prior", [(s, p) for s in ("annealed", "denoise", "pc") for p in PRIORS]
                         + [("langevin", "no prior")])   # plain Langevin starts from N(center, spread²I)
def test_a_samplers_first_noise_is_independent_of_where_it_started(sampler, prior):
    """n = 4000: an independent pair correlates by ~0.016, so 0.1 is over 6 standard errors
    (a replayed draw measured 0.98–1.0)."""
    common = dict(n=4000, seed=SEED, prior=PRIORS[prior], stride=1)
    if sampler == "annealed":
        r = sampling.sample_annealed_langevin(const_score, LADDER, levels=3, steps_per_level=3, **common)
    elif sampler == "denoise":
        r = sampling.sample_denoising(const_score, LADDER, levels=8, **common)
    elif sampler == "pc":  # one frame per level: a large r makes the corrector's noise dominate the level's move
        r = sampling.sample_predictor_corrector(const_score, LADDER, levels=8, snr=100.0, **common)
    else:
        r = sampling.sample_langevin(const_score, 1.0, eps=0.1, n=4000, seed=SEED, steps=8, stride=1)
    assert _max_correlation(r.frames) < 0.1


def test_a_flows_start_is_not_its_training_noise(tiny_flow, seed_log):
    """A flow sampled with the seed it was trained with starts from noise of its own."""
    model = tiny_flow()
    trained = list(seed_log)
    seed_log.clear()
    model.sample(n=50, steps=2, seed=SEED)
    assert not set(trained) & set(seed_log)
    replay = torch.randn(50, 2, generator=torch.Generator().manual_seed(SEED))
    assert not torch.equal(flow_matching.noise_start(50, SEED), replay)


@pytest.mark.parametrize("family", ["ncsn", "single-sigma", "flow"])
def test_training_draws_its_data_weights_and_batches_from_streams_of_their_own(family, seed_log, monkeypatch):
    """From the dataset to the trained weights with one seed: the points, the initial weights (torch's
    global generator) and the batches were all seeded with the seed itself, so the first batches replayed
    the numbers that drew the points. Every generator of the whole pipeline now has a seed of its own."""
    global_seeds = []
    manual_seed = torch.manual_seed
    monkeypatch.setattr(torch, "manual_seed", lambda s: (global_seeds.append(int(s)), manual_seed(s))[1])
    spec = DatasetSpec.builtin("ncsn-mixture" if family == "ncsn" else "moons")
    data = training_data(spec, 500, SEED)
    if family == "flow":
        train_flow(data, flow_config(steps=2, batch_size=16, seed=SEED))
    else:
        train(data, training_config(model=family, steps=2, batch_size=16, seed=SEED))
    seeds = seed_log + global_seeds
    assert len(seeds) >= 3, seeds  # the data, the weights and the batches were all seen
    assert not [s for s, k in Counter(seeds).items() if k > 1], f"seeded alike: {seeds}"
