"""`python -m models.toy2d` — the 2-D lab from the command line: datasets, train, sample, loglik, animate,
straightness, for every model the lab trains.

    python -m models.toy2d datasets
    python -m models.toy2d train --model ncsn --dataset moons --steps 3000 --seed 0 --out runs/moons
    python -m models.toy2d train --model flow --dataset moons --out runs/flow
    python -m models.toy2d sample --run runs/moons --out s.csv          # a score run or a flow run
    python -m models.toy2d sample --reference exact --dataset ncsn-mixture --sampler pc --out s.csv
    python -m models.toy2d straightness --run runs/reflow

`python -m models.score ...` is the same command line under its first name.

`train` dispatches on the parsed `--model`; `sample --run DIR` on the run's config.json (a flow's
says so). The work is the families' (models/score/cli.py, models/flow/cli.py). Bad input exits 2
with one line on stderr (models/lab/cli.py). The CLI is strict: an option the chosen model, run or
sampler does not read is an error naming it and why, never silently ignored; options are declared
`default=None` so that "was it given?" is a plain `is not None`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from models.core.errors import InputError
from models.flow import cli as flow_cli
from models.flow.defaults import DEFAULTS as FLOW_DEFAULTS
from models.lab import cli as check
from models.lab.checks import LIMITS
from models.lab.cli import (POINTS, STEPS, Parser, device, finite_number, positive_number, run_command, seed,
                            whole_number)
from models.lab.flow_matching import SAMPLERS as FLOW_SAMPLERS
from models.score import cli as score_cli
from models.score import cli_limits
from models.score.cli_loglik import add_loglik_parser, cmd_loglik
from models.score.sampling import DEFAULT_SAMPLER
from models.score.trainer import TrainConfig

MODELS = ("ncsn", "single-sigma", "flow")
SCORE_SAMPLERS = score_cli.SAMPLERS  # annealed, langevin, denoise, pc, ode
DATASET_POINTS = 2000       # `datasets NAME --out FILE`
# What only one family reads (the flow's refusals of score options are flow_cli.NOT_FOR_FLOWS).
SCORE_TRAIN_ONLY = ("objective", "sigma", "sigma_min", "sigma_max", "levels")
FLOW_TRAIN_ONLY = ("reflow_from", "conditional", "time_sampling")
SCORE_SAMPLE_ONLY = ("reference", "dataset", "data", "text", "n_train", "steps_per_level", "solver", "eps", "sigma",
                     "sigma_min", "sigma_max", "levels", "final_denoise", "start", "start_range")
FLOW_SAMPLE_ONLY = ("shift", "label", "guidance", "guidance_interval")


def flag(args, name: str) -> str:
    """The option as the user typed it (`final_denoise` = False was `--no-final-denoise`, `label` is `--class`)."""
    if name == "final_denoise" and args.final_denoise is False:
        return "--no-final-denoise"
    return "--class" if name == "label" else "--" + name.replace("_", "-")


def refuse(args, names, why) -> None:
    """An error for the first of `names` that was given: `--NAME` and why (a text, or a flag → text table)."""
    for name in names:
        if getattr(args, name) is not None:
            option = flag(args, name)
            raise InputError(f"{option} {why}" if isinstance(why, str) else f"{option} {why[option]}")


def flow_refusals(prefix: str) -> dict[str, str]:
    return {option: f"{prefix} ({reason})" for option, reason in flow_cli.NOT_FOR_FLOWS.items()}


def _data_args(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--dataset", help="a built-in dataset name (see `datasets`)")
    g.add_argument("--data", type=Path, help="a CSV file of x,y points")
    g.add_argument("--text", help="a short word, drawn as points")
    p.add_argument("--n-train", type=POINTS, help=f"training points to draw (default {score_cli.N_TRAIN})")


def build_parser(prog: str = "python -m models.toy2d") -> argparse.ArgumentParser:
    p = Parser(prog=prog, description="The 2-D lab: score models (an NCSN, a single-σ denoising network) and "
                                      "flow matching, on toy 2-D data.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    d = sub.add_parser("datasets", help="list datasets, or write points of one to CSV")
    d.add_argument("name", nargs="?")
    d.add_argument("--n", type=POINTS, help=f"points to write (default {DATASET_POINTS})")
    d.add_argument("--seed", type=seed)
    d.add_argument("--out", type=Path)

    t = sub.add_parser("train", help="train a model: an NCSN, a single-σ denoising network or a flow")
    t.add_argument("--model", choices=[*MODELS, "dsm"], default="ncsn",
                   help="ncsn: one network for a ladder of σ's; single-sigma: a denoising network at one σ; "
                        "flow: flow matching on straight paths from data to noise "
                        "(dsm is the old spelling of single-sigma)")
    _data_args(t)
    t.add_argument("--objective", choices=["dsm", "sliced", "implicit"], help="ncsn, single-sigma (default dsm)")
    t.add_argument("--steps", type=STEPS,
                   help=f"training steps (default {TrainConfig().steps:,}; a flow: {FLOW_DEFAULTS.train_steps:,}, "
                        f"{FLOW_DEFAULTS.conditional_train_steps:,} with --conditional, a reflow its parent's)")
    t.add_argument("--seed", type=seed, default=0)
    t.add_argument("--device", type=device, default="cpu")
    t.add_argument("--batch-size", type=whole_number(LIMITS["batch_size"]), default=256)
    t.add_argument("--lr", type=positive_number, default=5e-3)
    t.add_argument("--hidden", type=whole_number(LIMITS["hidden"]), help="hidden width (default 128)")
    t.add_argument("--depth", type=whole_number(LIMITS["depth"]), help="hidden layers (default 3)")
    t.add_argument("--sigma", type=positive_number, help="single-sigma: its noise level (default 0.1 × data spread)")
    t.add_argument("--sigma-min", type=positive_number, help="ncsn: the ladder's smallest σ (default from the data)")
    t.add_argument("--sigma-max", type=positive_number, help="ncsn: the ladder's largest σ (default from the data)")
    t.add_argument("--levels", type=whole_number(LIMITS["levels"]),
                   help=f"ncsn: noise levels in the ladder (default {score_cli.LEVELS})")
    t.add_argument("--reflow-from", type=Path, help="flow: a flow run: train its reflow on (noise, sample) pairs of it")
    t.add_argument("--conditional", action="store_true", default=None,
                   help="flow: learn class-conditional velocities with label dropout 0.1 (8-gaussians, moons)")
    t.add_argument("--time-sampling", choices=["logit-normal", "uniform"],
                   help="flow: how training draws t (default logit-normal, as in SD3: Esser et al. 2024)")
    t.add_argument("--threads", type=whole_number(LIMITS["num_threads"]))
    t.add_argument("--out", type=Path, required=True)

    s = sub.add_parser("sample", help="sample with a trained run (a score model or a flow) or a reference score")
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", type=Path, help="a run directory written by `train`")
    src.add_argument("--reference", choices=["exact", "empirical"])
    _data_args(s)
    s.add_argument("--sampler", choices=[*SCORE_SAMPLERS, *FLOW_SAMPLERS],
                   help=f"a score model: {', '.join(SCORE_SAMPLERS)} (default {DEFAULT_SAMPLER}; langevin for a "
                        f"single-sigma run, which has no ladder); a flow: euler or heun (default euler)")
    s.add_argument("--n", type=POINTS, default=2000)
    s.add_argument("--seed", type=seed, default=0)
    s.add_argument("--steps-per-level", type=score_cli.STEPS_PER_LEVEL_TYPE,
                   help=f"annealed (default {score_cli.STEPS_PER_LEVEL})")
    s.add_argument("--steps", type=whole_number(cli_limits.MAX_SAMPLER_STEPS),
                   help=f"langevin (default {score_cli.LANGEVIN_STEPS}), ode (default 100); a flow: Euler or Heun "
                        f"steps from t = 1 to 0 (default {flow_cli.SAMPLE_STEPS})")
    s.add_argument("--solver", choices=["euler", "heun"], help="ode: the integrator (default heun)")
    s.add_argument("--eps", type=positive_number,
                   help="annealed: step size ε (default 0.5 σ_L²); langevin: (default 0.01 (spread² + σ²))")
    s.add_argument("--sigma", type=finite_number,
                   help="langevin: its one noise level (default: the smallest; 0 = the data's own score)")
    s.add_argument("--sigma-min", type=positive_number, help="annealed, denoise, pc, ode: the ladder's smallest σ")
    s.add_argument("--sigma-max", type=positive_number, help="annealed, denoise, pc, ode: the ladder's largest σ")
    s.add_argument("--levels", type=whole_number(cli_limits.MAX_SAMPLE_LEVELS),
                   help="annealed: levels in the ladder (default 50); denoise, pc: steps down it (default 100)")
    s.add_argument("--final-denoise", action=argparse.BooleanOptionalAction,
                   help="annealed, langevin: finish with one Tweedie step (default: on for annealed, off for langevin)")
    s.add_argument("--start", choices=["gaussian", "uniform"],
                   help="the starting cloud: the data's law at σ_1 (default) or uniform on a square")
    s.add_argument("--start-range", type=finite_number, nargs=2, metavar=("LOW", "HIGH"),
                   help=f"--start uniform: the square's sides (default {score_cli.START_RANGE[0]:g} "
                        f"{score_cli.START_RANGE[1]:g})")
    s.add_argument("--shift", type=positive_number, help="a flow: time shift s: t → s·t/(1 + (s − 1)·t) (default 1)")
    s.add_argument("--class", dest="label", type=int, help="a conditional flow: one of its classes (0, 1, …)")
    s.add_argument("--guidance", type=finite_number,
                   help="a conditional flow: w in v_uncond + w·(v_cond − v_uncond) (default 1)")
    low, high = FLOW_DEFAULTS.guidance_interval
    s.add_argument("--guidance-interval", type=finite_number, nargs=2, metavar=("T_LOW", "T_HIGH"),
                   help=f"a conditional flow: guide only for T_LOW < t ≤ T_HIGH, the plain conditional flow "
                        f"elsewhere (Kynkäänniemi et al. 2024; How FLUX samples uses {low:g} {high:g})")
    s.add_argument("--device", type=device, default="cpu")
    s.add_argument("--out", type=Path, required=True)

    add_loglik_parser(sub)
    score_cli.add_animate_parser(sub)

    r = sub.add_parser("straightness", help="a flow: how straight its paths are, and its 1/4/50-step quality")
    r.add_argument("--run", type=Path, required=True)
    r.add_argument("--n", type=whole_number(100_000), default=2000)
    r.add_argument("--seed", type=seed, default=0)
    return p


# ----------------------------------------------------------------------------- commands

def cmd_datasets(args) -> None:
    from models.lab.datasets import DATASET_DESCRIPTIONS, DatasetSpec, sample_dataset, write_points_csv

    if args.name is None:
        refuse(args, ("n", "seed", "out"), "applies only when writing a dataset's points: give its NAME")
        for name, desc in DATASET_DESCRIPTIONS.items():
            print(f"{name:14s} {desc}")
        return
    DatasetSpec.builtin(args.name)  # validates the name with a "did you mean"
    if args.out is None:
        raise InputError("--out FILE.csv is required to write points")
    check.check_output_file(args.out)
    n = args.n or DATASET_POINTS
    write_points_csv(sample_dataset(args.name, n, args.seed or 0), args.out)
    print(f"wrote {n} points of {args.name} to {args.out}")


def cmd_train(args) -> None:
    if args.model == "flow":
        refuse(args, SCORE_TRAIN_ONLY, flow_refusals("does not apply to a flow"))
        flow_cli.cmd_train(args)
        return
    refuse(args, FLOW_TRAIN_ONLY, "applies only to --model flow")
    if args.dataset is None and args.data is None and args.text is None:
        raise InputError("one of the arguments --dataset --data --text is required")
    score_cli.cmd_train(args)


def cmd_sample(args) -> None:
    from models.flow.checkpoints import is_flow_run

    if args.run is not None and is_flow_run(args.run):
        refuse(args, SCORE_SAMPLE_ONLY, flow_refusals("does not apply to a flow"))
        flow_cli.cmd_sample(args)
        return
    refuse(args, FLOW_SAMPLE_ONLY, "applies only to a flow run (train --model flow)")
    if args.sampler in FLOW_SAMPLERS:
        raise InputError(f"--sampler {args.sampler} samples a flow run; a score model samples with "
                         f"{', '.join(SCORE_SAMPLERS)}")
    score_cli.cmd_sample(args)


COMMANDS = {"datasets": cmd_datasets, "train": cmd_train, "sample": cmd_sample, "loglik": cmd_loglik,
            "animate": score_cli.cmd_animate, "straightness": flow_cli.cmd_straightness}


def main(argv: list[str] | None = None, prog: str = "python -m models.toy2d") -> int:
    argv = sys.argv[1:] if argv is None else list(argv)

    def command() -> None:
        args = build_parser(prog).parse_args(argv)
        COMMANDS[args.command](args)
    return run_command(command)
