"""One score, many samplers (run: `python -m benchmarks.bench_samplers`).

Quality and cost of every sampler with the same score, each against baselines from the same run:
  1. the EXACT score of the NCSN toy (0.2·N((−5,−5), I) + 0.8·N((5,5), I)): heavy-mode share
     (truth 0.80) over 8 seeds × 4000 samples with its standard error, within-mode std (truth 1.00),
     energy distance ÷ the data-vs-data floor, score calls, and seconds as a ratio to the ancestral
     sampler; the old annealed default (10 levels × 20 steps from N(data mean, σ_1²I)) as the baseline
     the defaults replace, and the ancestral sampler on a 4× finer ladder (its step bias);
  2. default-trained NCSNs (2000 steps; 6 training seeds) on the toy, sampled through `draw_samples`
     with each sampler's defaults, beside the exact score's numbers;
  3. a 3-component mixture known only as a CSV of points: default NCSNs (3 training seeds), every
     sampler, every mode's share vs its weight, energy distance against fresh points;
  4. the ODE log-likelihood with the exact score vs the true mixture log density.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from models.lab.datasets import DatasetSpec, training_data, write_points_csv
from models.lab.metrics import energy_distance, mode_shares
from models.lab.mixture import GaussianMixture
from models.score.likelihood import ode_log_likelihood
from models.score.prior import mixture_prior
from models.score.run import draw_samples, train, training_config
from models.score.sampler_comparison import exact_setup, run_sampler, within_mode_std
from models.score.sampling import sample_annealed_langevin, sample_denoising

TRAIN_SEEDS = (0, 1, 2, 3, 4, 5)  # sections 2 and 3 (its first three): a network per seed
N = 2000
EXACT_SEEDS, EXACT_N = tuple(range(8)), 4000   # share s.e. ≈ 0.002: enough to see a 0.01 bias
THREE = GaussianMixture((0.5, 0.3, 0.2), ((2.0, 6.0), (7.0, 0.0), (-3.0, -1.0)), (1.0, 0.7, 0.5))


def _floor(fresh_fn, n: int) -> float:
    return float(np.mean([energy_distance(fresh_fn(n, 101 + 2 * i), fresh_fn(n, 102 + 2 * i)) for i in range(3)]))


def _row(label: str, xs: list[torch.Tensor], seconds: float, calls: int | None, mixture, fresh, floor) -> dict:
    heavy = int(np.argmax(mixture.weights))
    shares = [float(mode_shares(x, mixture.means_tensor())[heavy]) for x in xs]
    stds = [within_mode_std(x, mixture) for x in xs]
    ratios = [energy_distance(x, fresh) / floor for x in xs]
    return dict(label=label, share=np.mean(shares), share_se=np.std(shares, ddof=1) / np.sqrt(len(xs)),
                std=np.mean(stds), ed_ratio=np.mean(ratios), seconds=seconds, calls=calls)


def _print(rows: list[dict], baseline_s: float) -> None:
    print(f"  {'sampler':44s} {'share ± s.e.':>14s} {'std':>6s} {'ED/floor':>9s} {'calls':>6s} {'time':>8s}")
    for r in rows:
        calls = "" if r["calls"] is None else f"{r['calls']:6d}"
        print(f"  {r['label']:44s} {r['share']:6.4f} ±{r['share_se']:.4f} {r['std']:6.3f} {r['ed_ratio']:9.2f} "
              f"{calls:>6s} {r['seconds'] / baseline_s:7.2f}×")


def exact_score_samplers() -> None:
    setup = exact_setup("ncsn-mixture")
    n, seeds = EXACT_N, EXACT_SEEDS
    fresh = setup.fresh_fn(n, 12_345)
    floor = _floor(setup.fresh_fn, n)
    rows = []
    center = setup.prior.mean
    t = time.perf_counter()
    old = [sample_annealed_langevin(setup.score_fn, setup.sigmas, n=n, seed=s, levels=10, center=center).samples
           for s in seeds]
    rows.append(_row("annealed, OLD default (10 × 20, N(mean, σ₁²I))", old, (time.perf_counter() - t) / len(seeds),
                     200, setup.truth, fresh, floor))
    for name, label in (("annealed", "annealed (default: 50 levels × 20)"), ("denoise", "ancestral (100 levels)"),
                        ("pc", "predictor-corrector (100 levels, r = 0.1)"), ("ode", "ODE Heun, 100 steps"),
                        ("ode-euler", "ODE Euler, 100 steps")):
        calls = {"annealed": 1001, "denoise": 100, "pc": 200, "ode": 200, "ode-euler": 100}[name]
        t = time.perf_counter()
        xs = [run_sampler(name, setup.score_fn, setup.sigmas, setup.prior, n=n, seed=s).samples for s in seeds]
        rows.append(_row(label, xs, (time.perf_counter() - t) / len(seeds), calls, setup.truth, fresh, floor))
    t = time.perf_counter()
    fine = [sample_denoising(setup.score_fn, setup.sigmas, n=n, seed=s, levels=400, prior=setup.prior).samples
            for s in seeds]
    rows.append(_row("ancestral, 400 levels (not a default)", fine, (time.perf_counter() - t) / len(seeds), 400,
                     setup.truth, fresh, floor))
    print(f"1. exact score, NCSN toy ({n} samples × {len(seeds)} seeds; ED floor {floor:.4f}; "
          "time as a ratio to the ancestral sampler)")
    _print(rows, rows[2]["seconds"])


def trained_network_samplers() -> None:
    """One network's answer is mostly that network's: the spread is over networks trained with different
    seeds (one sampling run of each), so the share's standard error includes training."""
    setup = exact_setup("ncsn-mixture")
    fresh = setup.fresh_fn(N, 12_345)
    floor = _floor(setup.fresh_fn, N)
    t = time.perf_counter()
    models = [train(training_data(DatasetSpec.builtin("ncsn-mixture"), 10_000, seed),
                    training_config(steps=2000, seed=seed))[0] for seed in TRAIN_SEEDS]
    train_s = (time.perf_counter() - t) / len(TRAIN_SEEDS)
    rows = []
    for name in ("annealed", "denoise", "pc", "ode"):
        t = time.perf_counter()
        xs = [draw_samples(model, name, n=N, seed=seed).samples for model, seed in zip(models, TRAIN_SEEDS)]
        rows.append(_row(f"network, {name} (defaults)", xs, (time.perf_counter() - t) / len(models), None, setup.truth,
                         fresh, floor))
    print(f"2. default NCSN (2000 steps, {train_s:.0f} s each to train) on the NCSN toy, trained with seeds "
          f"{TRAIN_SEEDS}, draw_samples defaults ({N} samples from each); time as a ratio to the ancestral sampler")
    _print(rows, rows[1]["seconds"])


def csv_mixture() -> None:
    g = torch.Generator().manual_seed(0)
    seeds = TRAIN_SEEDS[:3]  # a network per seed, each trained on the same CSV and sampled once
    with tempfile.TemporaryDirectory() as tmp:
        path = write_points_csv(THREE.sample(10_000, g), Path(tmp) / "three.csv")
        models = [train(training_data(DatasetSpec.csv(path), 10_000, seed), training_config(steps=2000, seed=seed))[0]
                  for seed in seeds]
    fresh = THREE.sample(N, torch.Generator().manual_seed(99))
    floor = float(np.mean([energy_distance(THREE.sample(N, torch.Generator().manual_seed(200 + i)),
                                           THREE.sample(N, torch.Generator().manual_seed(300 + i))) for i in range(3)]))
    print(f"3. 3-component mixture from a CSV of points (weights {THREE.weights}), default NCSN trained with seeds "
          f"{seeds}, {N} samples from each; ED floor {floor:.4f}")
    for name in ("annealed", "denoise", "pc", "ode"):
        for model, seed in zip(models, seeds):
            x = draw_samples(model, name, n=N, seed=seed).samples
            shares = mode_shares(x, THREE.means_tensor())
            print(f"  {name:9s} network {seed}  shares {np.round(shares, 3)}  "
                  f"max error {np.max(np.abs(shares - THREE.weights)):.3f}  ED {energy_distance(x, fresh):.4f}")


def likelihood() -> None:
    setup = exact_setup("ncsn-mixture")
    x = setup.truth.sample(1000, torch.Generator().manual_seed(3))
    high = float(setup.sigmas[0])
    for steps in (50, 100, 200):
        t = time.perf_counter()
        ll = ode_log_likelihood(setup.score_fn, x, sigma_min=1e-3, sigma_max=high,
                                prior=mixture_prior(setup.truth, high), steps=steps)
        seconds = time.perf_counter() - t
        true = setup.truth.log_prob(x.double(), 0.0)
        print(f"4. ODE log-likelihood, exact score, {steps} Heun steps: {float(ll.mean()):.4f} vs true "
              f"{float(true.mean()):.4f} nats/point (|mean gap| {abs(float(ll.double().mean() - true.mean())):.4f}; "
              f"{seconds:.1f} s for 1000 points)")


def main() -> None:
    torch.set_num_threads(1)
    exact_score_samplers()
    likelihood()
    trained_network_samplers()
    csv_mixture()


if __name__ == "__main__":
    main()
