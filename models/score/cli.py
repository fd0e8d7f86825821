"""`python -m models.score` — datasets, train, sample, animate from the command line.

Bad input exits with code 2 and ONE line on stderr (no traceback); see `main`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from .errors import InputError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints the whole usage otherwise)
        raise InputError(message)


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be positive, got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return v


def _add_data_args(p: argparse.ArgumentParser, required: bool) -> None:
    g = p.add_mutually_exclusive_group(required=required)
    g.add_argument("--dataset", help="a built-in dataset name (see `datasets`)")
    g.add_argument("--data", type=Path, help="a CSV file of x,y points")
    g.add_argument("--text", help="a short word, drawn as points")
    p.add_argument("--n-train", type=_positive_int, default=10_000, help="training points to draw (default 10000)")


def _spec(args):
    from .datasets import DatasetSpec
    if args.dataset is not None:
        return DatasetSpec.builtin(args.dataset)
    if args.data is not None:
        return DatasetSpec.csv(args.data)
    return DatasetSpec.from_text(args.text)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m models.score", description="Toy 2-D score models.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser("datasets", help="list datasets, or write points of one to CSV")
    d.add_argument("name", nargs="?")
    d.add_argument("--n", type=_positive_int, default=2000)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", type=Path)

    t = sub.add_parser("train", help="train a score network")
    t.add_argument("--model", choices=["dsm", "ncsn"], default="ncsn")
    _add_data_args(t, required=True)
    t.add_argument("--objective", choices=["dsm", "sliced", "implicit"], default="dsm")
    t.add_argument("--steps", type=_positive_int, default=2000)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cpu")
    t.add_argument("--batch-size", type=_positive_int, default=256)
    t.add_argument("--lr", type=_positive_float, default=5e-3)
    t.add_argument("--hidden", type=_positive_int, default=128)
    t.add_argument("--depth", type=_positive_int, default=3)
    t.add_argument("--sigma", type=_positive_float, help="the denoising network's noise level (model dsm)")
    t.add_argument("--sigma-min", type=_positive_float)
    t.add_argument("--sigma-max", type=_positive_float)
    t.add_argument("--levels", type=_positive_int, default=10)
    t.add_argument("--threads", type=_positive_int)
    t.add_argument("--out", type=Path, required=True)

    s = sub.add_parser("sample", help="sample with a trained run or a reference score")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", type=Path, help="a run directory written by `train`")
    src.add_argument("--reference", choices=["exact", "empirical"])
    _add_data_args(s, required=False)
    s.add_argument("--sampler", choices=["annealed", "langevin", "denoise"], default="annealed")
    s.add_argument("--n", type=_positive_int, default=2000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--steps-per-level", type=_positive_int, default=20)
    s.add_argument("--steps", type=_positive_int, default=1000, help="plain Langevin steps")
    s.add_argument("--eps", type=_positive_float, help="step size ε (default 0.5 σ_L²)")
    s.add_argument("--sigma", type=float, help="plain Langevin's noise level (default: the smallest; 0 = data score)")
    s.add_argument("--sigma-min", type=_positive_float)
    s.add_argument("--sigma-max", type=_positive_float)
    s.add_argument("--levels", type=_positive_int, default=10)
    s.add_argument("--final-denoise", action=argparse.BooleanOptionalAction, default=True)
    s.add_argument("--start", choices=["gaussian", "uniform"], default="gaussian")
    s.add_argument("--start-range", type=float, nargs=2, default=(-8.0, 8.0), metavar=("LOW", "HIGH"))
    s.add_argument("--device", default="cpu")
    s.add_argument("--out", type=Path, required=True)

    a = sub.add_parser("animate", help="a GIF of samples moving across noise levels")
    a.add_argument("--run", type=Path, required=True)
    a.add_argument("--sampler", choices=["annealed", "langevin", "denoise"], default="annealed")
    a.add_argument("--n", type=_positive_int, default=1000)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--steps-per-level", type=_positive_int, default=20)
    a.add_argument("--frames", type=_positive_int, default=50)
    a.add_argument("--size", type=_positive_int, default=320)
    a.add_argument("--out", type=Path, required=True)
    return p


def cmd_datasets(args) -> None:
    from .datasets import DATASET_DESCRIPTIONS, DatasetSpec, sample_dataset, write_points_csv
    if args.name is None:
        for name, desc in DATASET_DESCRIPTIONS.items():
            print(f"{name:14s} {desc}")
        return
    DatasetSpec.builtin(args.name)  # validates the name with a "did you mean"
    if args.out is None:
        raise InputError("--out FILE.csv is required to write points")
    write_points_csv(sample_dataset(args.name, args.n, args.seed), args.out)
    print(f"wrote {args.n} points of {args.name} to {args.out}")


def cmd_train(args) -> None:
    from .checkpoints import save_run
    from .datasets import training_data
    from .run import new_trainer, trained_model
    from .trainer import TrainConfig, TrainingDiverged

    if args.sigma_min and args.sigma_max and args.sigma_min >= args.sigma_max:
        raise InputError(f"--sigma-min ({args.sigma_min}) must be smaller than --sigma-max ({args.sigma_max})")
    data = training_data(_spec(args), args.n_train, args.seed)
    config = TrainConfig(model=args.model, objective=args.objective, hidden=args.hidden, depth=args.depth,
                         sigma=args.sigma, sigma_max=args.sigma_max, sigma_min=args.sigma_min,
                         levels=args.levels, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                         seed=args.seed, device=args.device, num_threads=args.threads,
                         log_every=max(1, min(100, args.steps // 20)))
    trainer = new_trainer(data, config)
    print(f"training {args.model} ({args.objective}) on {data.spec.describe()} "
          f"[{len(data.points)} points, {len(trainer.sigmas)} noise level(s) "
          f"{float(trainer.sigmas[0]) * data.spread:.3g} → {float(trainer.sigmas[-1]) * data.spread:.3g}]",
          flush=True)

    def report(p):
        print(f"step {p.step:>6}/{p.total_steps}  loss {p.loss:9.4f}  {p.steps_per_second:7.0f} steps/s", flush=True)

    start = time.perf_counter()
    error = None
    try:
        trainer.run(report)
    except TrainingDiverged as exc:
        error = exc
    model = trained_model(trainer, data)
    save_run(args.out, model, trainer.state.history)
    if error is not None:
        raise InputError(f"training stopped: {error} (the last finite weights were saved to {args.out})")
    print(f"done in {time.perf_counter() - start:.1f} s → {args.out}")


def _sampling_inputs(args):
    from .checkpoints import load_run
    from .datasets import training_data
    from .noise import default_sigmas, geometric_sigmas
    from .reference import reference_score

    if args.run is not None:
        model = load_run(args.run, args.device)
        sigmas = model.sigmas
        if args.sigma_min or args.sigma_max or args.levels != 10:
            sigmas = geometric_sigmas(args.sigma_max or float(sigmas[0]), args.sigma_min or float(sigmas[-1]),
                                      args.levels)
        return model.score, sigmas, model.center, model.spread
    if args.dataset is None and args.data is None and args.text is None:
        raise InputError("--reference needs the data: give --dataset NAME or --data FILE.csv")
    data = training_data(_spec(args), args.n_train, args.seed)
    if args.sigma_min and args.sigma_max and args.sigma_min >= args.sigma_max:
        raise InputError(f"--sigma-min ({args.sigma_min}) must be smaller than --sigma-max ({args.sigma_max})")
    sigmas = default_sigmas(data.points, args.levels, args.sigma_max, args.sigma_min)
    reference = reference_score(data.spec, data.points)
    if args.reference == "exact" and reference.kind != "exact":
        raise InputError(f"no exact score for {data.spec.describe()}: only Gaussian mixtures "
                         "(8-gaussians, ncsn-mixture) have one; use --reference empirical instead")
    return reference.score, sigmas, data.center, data.spread


def cmd_sample(args) -> None:
    from .datasets import write_points_csv
    from .sampling import default_eps, sample_annealed_langevin, sample_denoising, sample_langevin
    from .samplers import uniform_start

    if args.sigma is not None and args.sigma < 0:
        raise InputError(f"--sigma must be zero or positive (got {args.sigma})")
    score_fn, sigmas, center, spread = _sampling_inputs(args)
    start = uniform_start(args.n, *args.start_range, seed=args.seed) if args.start == "uniform" else None
    if len(sigmas) == 1 or args.sampler == "langevin":
        sigma = float(sigmas[-1]) if args.sigma is None else args.sigma
        if args.eps is None and sigma == 0:
            raise InputError("--sigma 0 samples the data's own score: give a step size with --eps")
        result = sample_langevin(score_fn, sigma, eps=args.eps or default_eps(sigma), n=args.n, seed=args.seed,
                                 steps=args.steps, final_denoise=len(sigmas) == 1 and args.sampler != "langevin"
                                 and args.final_denoise, start=start, center=center,
                                 spread=spread if len(sigmas) == 1 else float(sigmas[0]), device=args.device)
    elif args.sampler == "annealed":
        result = sample_annealed_langevin(score_fn, sigmas, n=args.n, seed=args.seed, eps=args.eps,
                                          steps_per_level=args.steps_per_level, final_denoise=args.final_denoise,
                                          start=start, center=center, device=args.device)
    else:
        result = sample_denoising(score_fn, sigmas, n=args.n, seed=args.seed, start=start, center=center,
                                  device=args.device)
    if not torch.isfinite(result.samples).all():
        raise InputError("sampling diverged (non-finite points): try a smaller --eps")
    write_points_csv(result.samples, args.out)
    print(f"wrote {args.n} samples ({args.sampler}) to {args.out}")


def cmd_animate(args) -> None:
    from .animation import make_gif
    from .checkpoints import load_run
    from .datasets import DatasetSpec, load_dataset
    from .run import draw_samples

    if args.frames < 2:
        raise InputError("--frames must be at least 2")
    if args.size < 64:
        raise InputError("--size must be at least 64 pixels")
    model = load_run(args.run)
    result = draw_samples(model, "annealed" if args.sampler == "langevin" else args.sampler, n=args.n,
                          seed=args.seed, steps_per_level=args.steps_per_level, frames=args.frames)
    data = None
    if model.dataset:
        try:
            data = load_dataset(DatasetSpec.from_dict(model.dataset), 2000, 0)
        except InputError:
            data = None  # e.g. the training CSV moved: animate without the faint backdrop
    path = make_gif(result.frames, args.out, data=data, titles=result.labels, size=args.size,
                    max_frames=args.frames)
    print(f"wrote {len(result.frames)} frames → {path}")


COMMANDS = {"datasets": cmd_datasets, "train": cmd_train, "sample": cmd_sample, "animate": cmd_animate}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        COMMANDS[args.command](args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
