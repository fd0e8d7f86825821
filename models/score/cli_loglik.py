"""`python -m models.score loglik`: the mean log-likelihood of a CSV of points under a model.

    loglik (--run DIR | --reference exact --dataset NAME) --data FILE.csv [--steps N]

The log-density comes from the probability-flow ODE with the exact 2×2 divergence
(likelihood.py), integrated from the ladder's σ_min up to σ_max, where the sampler's
prior closes the integral. When the data is a known Gaussian mixture the true mean
log-density (of the mixture smoothed by the same σ_min) is printed beside it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from models.core.errors import InputError
from models.lab.cli import device, whole_number

from . import cli_limits


def add_loglik_parser(sub) -> None:
    ll = sub.add_parser("loglik", help="the mean log-likelihood of points under a model (probability-flow ODE)")
    llsrc = ll.add_mutually_exclusive_group(required=True)
    llsrc.add_argument("--run", type=Path, help="a run directory written by `train` (an NCSN)")
    llsrc.add_argument("--reference", choices=["exact"], help="the exact score of a Gaussian-mixture --dataset")
    ll.add_argument("--dataset", help="with --reference exact: 8-gaussians or ncsn-mixture")
    ll.add_argument("--data", type=Path, required=True, help="a CSV file of x,y points to score")
    ll.add_argument("--steps", type=whole_number(cli_limits.MAX_LOGLIK_STEPS),
                    help="Heun steps of the ODE from σ_min to σ_max (default 200)")
    ll.add_argument("--device", type=device, default="cpu")


def cmd_loglik(args) -> None:
    from models.lab.datasets import dataset_mixture, read_points_csv

    from .checkpoints import load_run
    from .likelihood import LIKELIHOOD_STEPS, ode_log_likelihood
    from .noise import default_sigma_min
    from .prior import gaussian_prior, mixture_prior
    from .reference import mixture_score_fn

    if args.run is not None:
        if args.dataset is not None:
            raise InputError("--dataset applies only to --reference exact (a run already knows its training data)")
    elif args.dataset is None:
        raise InputError("--reference exact needs --dataset NAME (8-gaussians or ncsn-mixture)")
    points = read_points_csv(args.data)
    if len(points) > cli_limits.MAX_LOGLIK_POINTS:
        raise InputError(f"--data {args.data}: {len(points):,} points; loglik scores at most "
                         f"{cli_limits.MAX_LOGLIK_POINTS:,} (each follows its own ODE path)")
    steps = args.steps or LIKELIHOOD_STEPS
    if args.run is not None:
        model = load_run(args.run, args.device)
        if model.config.model != "ncsn":
            raise InputError("loglik needs an NCSN run: a single-σ model has no ladder to integrate along")
        low, high = float(model.sigmas[-1]), float(model.sigmas[0])
        score, prior = model.score, gaussian_prior(model.center, model.spread, high)
        builtin = (model.dataset or {}).get("kind") == "builtin"
        truth = dataset_mixture(model.dataset["name"]) if builtin else None
        what = f"the run's model ({model.dataset_label()})"
    else:
        from models.lab.datasets import DatasetSpec
        spec = DatasetSpec.builtin(args.dataset)  # "did you mean" for a typo
        truth = dataset_mixture(spec.name)
        if truth is None:
            raise InputError(f"no exact score for {args.dataset}: only Gaussian mixtures (8-gaussians, ncsn-mixture) "
                             "have one")
        fresh = truth.sample(2000, torch.Generator().manual_seed(0))
        low, high = default_sigma_min(fresh), float(torch.cdist(fresh, fresh).max())
        score, prior = mixture_score_fn(truth), mixture_prior(truth, high)
        what = f"the exact score of {args.dataset}"
    ll = ode_log_likelihood(score, points.to(args.device), sigma_min=low, sigma_max=high, prior=prior, steps=steps)
    print(f"mean log-likelihood {float(ll.mean()):.4f} nats/point: {len(points)} points of {args.data} under {what}, "
          f"probability-flow ODE (Heun, {steps} steps, σ {low:.3g} → {high:.3g}); "
          f"the density is p_σ at σ = {low:.3g}")
    if truth is not None:
        true = truth.log_prob(points.double(), low)
        print(f"true mean log-density {float(true.mean()):.4f} nats/point (the data's mixture at σ = {low:.3g})")
