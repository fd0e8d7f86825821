"""The score commands of the 2-D lab's command line (models/toy2d/cli.py parses; these do the work):
`train --model ncsn|single-sigma`, `sample` of a score run or a reference score, `animate`, `loglik`.

Bad input exits with code 2 and ONE line on stderr (no traceback; models/lab/cli.py). Every
number has a ceiling and every --out is checked before any work (models/lab/cli.py, cli_limits.py).

The CLI is strict: every option that a command, model kind or sampler does not read
is an error naming the option and why, never silently ignored. Options that have a
default are declared `default=None`, so "was it given?" is a plain `is not None` and an
explicit `--levels 10` means 10 (the defaults live in the constants below).

    sampler    reads
    annealed   --levels --sigma-max --sigma-min --steps-per-level --eps --final-denoise
    langevin   --sigma --steps --eps --final-denoise
    denoise    --levels --sigma-max --sigma-min
    pc         --levels --sigma-max --sigma-min
    ode        --steps --solver --sigma-max --sigma-min

Every ladder sampler starts from the data's law at the ladder's top (prior.py) unless
`--start uniform`: a run's moment-matched Gaussian, a mixture's exact p_σmax, or the
reference points plus noise.

A trained run's network only learned σ in its ladder's range [σ_L, σ_1]: `sample --run`
honours --sigma, --sigma-max, --sigma-min and --levels (it re-ladders) inside that range
and rejects values outside it. A single-σ run has no ladder: it samples with Langevin
at its own σ only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from models.core.errors import InputError
from models.lab import cli as check
from models.lab.cli import seed, whole_number

from . import cli_limits
from .cli_limits import NOT_READ_BY
from .sampling import DEFAULT_SAMPLER

# The defaults of options declared with default=None (see the module docstring).
N_TRAIN = 10_000
LEVELS = 10                 # an NCSN's ladder, and a reference score's
STEPS_PER_LEVEL = 20        # annealed Langevin
LANGEVIN_STEPS = 1000       # plain Langevin
START_RANGE = (-8.0, 8.0)   # --start uniform
RANGE_SLACK = 1e-3          # σ's printed rounded to 4 digits still count as inside a run's range
MODEL_KINDS = ("single-sigma", "ncsn")
SAMPLERS = tuple(NOT_READ_BY)  # annealed, langevin, denoise, pc, ode
STEPS_PER_LEVEL_TYPE = whole_number(cli_limits.MAX_STEPS_PER_LEVEL)


def _flag(args, name: str) -> str:
    """The option as the user typed it (`final_denoise` = False was `--no-final-denoise`)."""
    if name == "final_denoise" and args.final_denoise is False:
        return "--no-final-denoise"
    return "--" + name.replace("_", "-")


def _reject(args, names, why: str) -> None:
    """An error for the first of `names` that was given: `--NAME why`."""
    for name in names:
        if getattr(args, name) is not None:
            raise InputError(f"{_flag(args, name)} {why}")


def _spec(args):
    from models.lab.datasets import DatasetSpec
    if args.dataset is not None:
        return DatasetSpec.builtin(args.dataset)
    if args.data is not None:
        return DatasetSpec.csv(args.data)
    return DatasetSpec.from_text(args.text)


def _check_sigma_order(args) -> None:
    if args.sigma_min is not None and args.sigma_max is not None and args.sigma_min >= args.sigma_max:
        raise InputError(f"--sigma-min ({args.sigma_min}) must be smaller than --sigma-max ({args.sigma_max})")


def add_animate_parser(sub) -> None:
    a = sub.add_parser("animate", help="a GIF of samples moving across noise levels")
    a.add_argument("--run", type=Path, required=True)
    a.add_argument("--sampler", choices=SAMPLERS,
                   help=f"an NCSN: annealed, denoise, pc or ode (default: {DEFAULT_SAMPLER}); "
                        "a single-sigma run: langevin (its only one)")
    a.add_argument("--n", type=whole_number(cli_limits.MAX_GIF_POINTS), default=1000)
    a.add_argument("--seed", type=seed, default=0)
    a.add_argument("--steps-per-level", type=STEPS_PER_LEVEL_TYPE, help=f"annealed (default {STEPS_PER_LEVEL})")
    a.add_argument("--frames", type=whole_number(cli_limits.MAX_GIF_FRAMES), default=50)
    a.add_argument("--size", type=whole_number(cli_limits.MAX_GIF_SIZE), default=320)
    a.add_argument("--out", type=Path, required=True)


# ----------------------------------------------------------------------------- train

def cmd_train(args) -> None:
    from models.lab.datasets import training_data
    from models.lab.run_folder import check_run_target

    from .checkpoints import save_run
    from .run import new_trainer, trained_model
    from .trainer import TrainConfig

    old_spelling = args.model == "dsm"
    if old_spelling:
        args.model = "single-sigma"
    base = TrainConfig()
    args.objective = args.objective or base.objective
    if args.model == "ncsn":
        _reject(args, ("sigma",), "applies only to --model single-sigma "
                "(an NCSN learns a ladder: set it with --sigma-max/--sigma-min/--levels)")
    else:
        _reject(args, ("levels", "sigma_min", "sigma_max"), "applies only to --model ncsn "
                "(a single-σ model has no noise ladder: set its one σ with --sigma)")
    _check_sigma_order(args)
    check_run_target(args.out)  # before training: a whole run must not end in "--out is a file"
    if old_spelling:  # after the checks, so an error stays one line
        print("note: --model dsm is now --model single-sigma", file=sys.stderr)
    data = training_data(_spec(args), args.n_train or N_TRAIN, args.seed)
    steps = base.steps if args.steps is None else args.steps
    config = TrainConfig(model=args.model, objective=args.objective, hidden=args.hidden or base.hidden,
                         depth=args.depth or base.depth,
                         sigma=args.sigma, sigma_max=args.sigma_max, sigma_min=args.sigma_min,
                         levels=args.levels or LEVELS, steps=steps, batch_size=args.batch_size, lr=args.lr,
                         seed=args.seed, device=args.device, num_threads=args.threads,
                         log_every=max(1, min(100, steps // 20)))
    trainer = new_trainer(data, config)
    sigmas = trainer.objective.sigmas
    print(f"training {args.model} ({args.objective}) on {data.spec.describe()} "
          f"[{len(data.points)} points, {len(sigmas)} noise level(s) "
          f"{float(sigmas[0]) * data.spread:.3g} → {float(sigmas[-1]) * data.spread:.3g}]", flush=True)

    error, seconds = check.train_printing_progress(trainer)
    save_run(args.out, trained_model(trainer, data), trainer.state.history)
    check.training_saved(args.out, error, seconds)


# ----------------------------------------------------------------------------- sample

@dataclass
class ScoreSource:
    """What `sample` draws from, in data coordinates: a trained run or a reference score."""

    score: object                  # (x, σ) → ∇ log p_σ(x)
    sigmas: torch.Tensor           # the run's ladder (one σ for a single-σ run), or the data's default ladder
    center: torch.Tensor
    spread: float
    kind: str                      # "ncsn", "single-sigma" or "reference"
    prior_at: object = None        # σ_max → Prior: where a ladder sampler starts (prior.py)
    truth: object = None           # the GaussianMixture behind the data, when there is one

    def check_sigma(self, flag: str, sigma: float) -> None:
        """A network only learned σ in its ladder's range: refuse to extrapolate."""
        if self.kind != "ncsn":
            return
        low, high = float(self.sigmas[-1]), float(self.sigmas[0])
        if not low * (1 - RANGE_SLACK) <= sigma <= high * (1 + RANGE_SLACK):
            raise InputError(f"{flag} {sigma:g} is outside the run's trained noise range [{low:.4g}, {high:.4g}]: "
                             "its network only learned σ's in that range")


def _score_source(args) -> ScoreSource:
    from models.lab.datasets import dataset_mixture, training_data

    from .checkpoints import load_run
    from .noise import default_sigmas
    from .prior import gaussian_prior, mixture_prior, points_prior
    from .reference import reference_score

    if args.run is not None:
        _reject(args, ("dataset", "data", "text", "n_train"),
                "applies only to --reference (a run already knows its training data)")
        model = load_run(args.run, args.device)
        kind = "ncsn" if model.config.model == "ncsn" else "single-sigma"
        truth = dataset_mixture(model.dataset["name"]) if (model.dataset or {}).get("kind") == "builtin" else None
        return ScoreSource(model.score, model.sigmas, model.center, model.spread, kind,
                           prior_at=lambda sigma_max: gaussian_prior(model.center, model.spread, sigma_max),
                           truth=truth)
    if args.dataset is None and args.data is None and args.text is None:
        raise InputError("--reference needs the data: give --dataset NAME or --data FILE.csv")
    data = training_data(_spec(args), args.n_train or N_TRAIN, args.seed)
    reference = reference_score(data.spec, data.points)
    if args.reference == "exact" and reference.kind != "exact":
        raise InputError(f"no exact score for {data.spec.describe()}: only Gaussian mixtures "
                         "(8-gaussians, ncsn-mixture) have one; use --reference empirical instead")
    mixture = dataset_mixture(data.spec.name) if data.spec.kind == "builtin" else None
    if reference.kind == "exact":
        prior_at = lambda sigma_max: mixture_prior(mixture, sigma_max)  # noqa: E731
    else:
        prior_at = lambda sigma_max: points_prior(data.points, sigma_max)  # noqa: E731
    return ScoreSource(reference.score, default_sigmas(data.points, LEVELS), data.center, data.spread, "reference",
                       prior_at=prior_at, truth=mixture)


def _ladder_ends(args, source: ScoreSource) -> tuple[float, float]:
    """(σ_1, σ_L): the given ends, else the run's (or the data's default) ones."""
    high = float(source.sigmas[0]) if args.sigma_max is None else args.sigma_max
    low = float(source.sigmas[-1]) if args.sigma_min is None else args.sigma_min
    for flag, value in (("--sigma-max", args.sigma_max), ("--sigma-min", args.sigma_min)):
        if value is not None:
            source.check_sigma(flag, value)
    return high, low


def _sample_annealed(args, source: ScoreSource, start):
    from .sampling import ANNEALED_LEVELS, sample_annealed_langevin

    ends = _ladder_ends(args, source)
    return sample_annealed_langevin(source.score, torch.tensor(ends), n=args.n, seed=args.seed, eps=args.eps,
                                    steps_per_level=args.steps_per_level or STEPS_PER_LEVEL,
                                    levels=args.levels or ANNEALED_LEVELS,
                                    final_denoise=args.final_denoise is not False, start=start,
                                    prior=source.prior_at(ends[0]), device=args.device)


def _sample_denoising(args, source: ScoreSource, start):
    from .sampling import DENOISING_LEVELS, sample_denoising

    ends = _ladder_ends(args, source)
    return sample_denoising(source.score, torch.tensor(ends), n=args.n, seed=args.seed,
                            levels=args.levels or DENOISING_LEVELS, start=start, prior=source.prior_at(ends[0]),
                            device=args.device)


def _sample_pc(args, source: ScoreSource, start):
    from .sampling import PC_LEVELS, sample_predictor_corrector

    ends = _ladder_ends(args, source)
    return sample_predictor_corrector(source.score, torch.tensor(ends), n=args.n, seed=args.seed,
                                      levels=args.levels or PC_LEVELS, start=start, prior=source.prior_at(ends[0]),
                                      device=args.device)


def _sample_ode(args, source: ScoreSource, start):
    from .sampling import ODE_SOLVER, ODE_STEPS, sample_ode

    ends = _ladder_ends(args, source)
    return sample_ode(source.score, torch.tensor(ends), n=args.n, seed=args.seed, steps=args.steps or ODE_STEPS,
                      solver=args.solver or ODE_SOLVER, start=start, prior=source.prior_at(ends[0]),
                      device=args.device)


def _sample_langevin(args, source: ScoreSource, start):
    from .sampling import default_langevin_eps, movement_warning, sample_langevin

    if args.sigma is not None:
        if args.sigma < 0:
            raise InputError(f"--sigma must be zero or positive (got {args.sigma})")
        if source.kind == "single-sigma":
            raise InputError(f"--sigma: a single-σ model knows only its own σ = {float(source.sigmas[0]):.4g} "
                             "(leave --sigma out)")
        source.check_sigma("--sigma", args.sigma)
    sigma = float(source.sigmas[-1]) if args.sigma is None else args.sigma
    if sigma == 0 and args.eps is None:
        raise InputError("--sigma 0 samples the data's own score: give a step size with --eps")
    if sigma == 0 and args.final_denoise:
        raise InputError("--final-denoise needs σ > 0: at --sigma 0 there is no noise to remove")
    # a single-σ model starts from the data's own spread; with a ladder, from its top σ_1 (as annealed)
    spread = source.spread if source.kind == "single-sigma" else float(source.sigmas[0])
    # a single-σ model's recipe (as in the Score lab) ends with the Tweedie step unless told otherwise
    final_denoise = args.final_denoise if args.final_denoise is not None else source.kind == "single-sigma"
    # ε from the data's scale (the old 0.5 σ² was 1.7e-4 on the NCSN toy: particles did not move)
    eps = args.eps or default_langevin_eps(sigma, source.spread)
    result = sample_langevin(source.score, sigma, eps=eps, n=args.n, seed=args.seed,
                             steps=args.steps or LANGEVIN_STEPS, final_denoise=final_denoise,
                             start=start, center=source.center, spread=spread, device=args.device, stride=10**9)
    warning = movement_warning(result.frames[0], result.samples, source.spread)
    if warning is not None:
        print(f"warning: {warning}", file=sys.stderr)
    return result


SAMPLE_WITH = {"annealed": _sample_annealed, "langevin": _sample_langevin, "denoise": _sample_denoising,
               "pc": _sample_pc, "ode": _sample_ode}


def cmd_sample(args) -> None:
    from models.lab.datasets import write_points_csv

    from .samplers import uniform_start

    check.check_output_file(args.out, runs={"the run --run": args.run})
    _check_sigma_order(args)
    if args.start_range is not None and not args.start_range[0] < args.start_range[1]:
        raise InputError(f"--start-range: LOW ({args.start_range[0]:g}) must be smaller than HIGH "
                         f"({args.start_range[1]:g})")
    if args.levels is not None and args.levels < 2:
        raise InputError(f"--levels must be at least 2: a ladder has a top and a bottom (got {args.levels})")
    source = _score_source(args)
    sampler = args.sampler or ("langevin" if source.kind == "single-sigma" else DEFAULT_SAMPLER)
    if source.kind == "single-sigma" and sampler != "langevin":
        raise InputError(f"--sampler {sampler}: a single-σ model has no noise ladder: use --sampler langevin")
    for name, why in NOT_READ_BY[sampler].items():
        readers = " or ".join(s for s in SAMPLERS if name not in NOT_READ_BY[s])
        _reject(args, (name,), f"applies only to --sampler {readers} ({why})")
    if args.start != "uniform":
        _reject(args, ("start_range",), "applies only to --start uniform")
    start = None
    if args.start == "uniform":
        start = uniform_start(args.n, *(args.start_range or START_RANGE), seed=args.seed)
    result = SAMPLE_WITH[sampler](args, source, start)
    if not torch.isfinite(result.samples).all():
        raise InputError("sampling diverged (non-finite points): try a smaller --eps")
    write_points_csv(result.samples, args.out)
    print(f"wrote {args.n} samples ({sampler}) to {args.out}")


# ----------------------------------------------------------------------------- animate

def cmd_animate(args) -> None:
    from models.lab.datasets import DatasetSpec, load_dataset

    from .animation import make_gif
    from .checkpoints import load_run
    from .run import draw_samples

    check.check_output_file(args.out, runs={"the run --run": args.run})
    if args.frames < 2:
        raise InputError("--frames must be at least 2")
    if args.size < 64:
        raise InputError("--size must be at least 64 pixels")
    model = load_run(args.run)
    if model.config.model == "ncsn":
        sampler = args.sampler or DEFAULT_SAMPLER
        if sampler == "langevin":
            raise InputError("--sampler langevin: animate walks an NCSN down its ladder with annealed or denoise "
                             "(plain Langevin at one σ: `sample --sampler langevin`)")
    else:
        sampler = args.sampler or "langevin"
        if sampler != "langevin":
            raise InputError(f"--sampler {sampler}: a single-σ model has no noise ladder: use --sampler langevin")
    if sampler != "annealed":
        _reject(args, ("steps_per_level",), f"applies only to --sampler annealed (not {sampler})")
    result = draw_samples(model, sampler, n=args.n, seed=args.seed,
                          steps_per_level=args.steps_per_level or STEPS_PER_LEVEL, frames=args.frames)
    data = None
    if model.dataset:
        try:
            data = load_dataset(DatasetSpec.from_dict(model.dataset), 2000, 0)
        except InputError:
            data = None  # e.g. the training CSV moved: animate without the faint backdrop
    path = make_gif(result.frames, args.out, data=data, titles=result.labels, size=args.size,
                    max_frames=args.frames)
    print(f"wrote {len(result.frames)} frames → {path}")
