"""One press of Train with the defaults, for every built-in dataset and the word "HELLO".

For each source: an NCSN trained with models/score/defaults.py's settings (seed 0), 2,000
samples drawn with the sampler the Score lab shows first, compared with 2,000 fresh points
of the data exactly as the page does: energy distance over the data-vs-data floor (passes
at ≤ 2) and k-NN precision and recall (pass at ≥ 0.9). The baseline, in the same run, is
the engine's plain TrainConfig (2,000 steps) with annealed Langevin, the old one-click
settings (`--baseline` adds it; it doubles the time).

Quality does not depend on how busy the machine is; the seconds do (noisy on a shared
machine), and steps/s says how busy it was.

    python -m benchmarks.bench_defaults                  # every source
    python -m benchmarks.bench_defaults --sources moons,HELLO --baseline
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from models.lab import metrics
from models.lab.datasets import DATASET_NAMES, DatasetSpec, training_data
from models.lab.training import default_num_threads
from models.score import run as training_run
from models.score.defaults import default_config, default_settings
from models.score.trainer import TrainConfig

RATIO_TARGET = 2.0       # energy distance ≤ 2 × the data-vs-data floor
PR_TARGET = 0.9          # precision and recall ≥ 0.9
WORD = "HELLO"


def source(name: str) -> DatasetSpec:
    return DatasetSpec.builtin(name) if name in DATASET_NAMES else DatasetSpec.from_text(name)


def one_click(spec: DatasetSpec, config: TrainConfig, sampler: str, seed: int = 0) -> dict:
    """Train, sample and score one source the way the page does."""
    data = training_data(spec, training_run.N_TRAIN, seed)
    t0 = time.perf_counter()
    model, trainer = training_run.train(data, config)
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    samples = training_run.draw_samples(model, sampler, n=2000, seed=seed).samples
    sample_s = time.perf_counter() - t1
    run = training_run.TrainingRun(data, config)
    fresh = training_run.evaluation_data(run)
    floor = metrics.energy_distance_floor(training_run.evaluation_sampler(run), len(fresh))
    ed = metrics.energy_distance(samples, fresh)
    precision, recall = metrics.precision_recall(samples, fresh)
    return {"steps": trainer.state.step, "sampler": sampler, "ratio": ed / floor, "precision": precision,
            "recall": recall, "train_s": train_s, "sample_s": sample_s, "steps_per_s": trainer.state.step / train_s}


def passes(row: dict) -> bool:
    return row["ratio"] <= RATIO_TARGET and row["precision"] >= PR_TARGET and row["recall"] >= PR_TARGET


def print_row(label: str, row: dict) -> None:
    print(f"| {label:<22} | {row['steps']:>6,} | {row['sampler']:<8} | {row['ratio']:>5.2f} | {row['precision']:.3f} "
          f"| {row['recall']:.3f} | {'yes' if passes(row) else 'NO':<4} | {row['train_s']:>6.1f} "
          f"| {row['sample_s']:>5.1f} | {row['steps_per_s']:>6.0f} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_defaults", description=__doc__.split("\n")[0])
    parser.add_argument("--sources", default=",".join(DATASET_NAMES + (WORD,)),
                        help="comma-separated built-in names or words (default: every built-in and HELLO)")
    parser.add_argument("--baseline", action="store_true", help="also the old one-click settings (2,000 steps)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(sys.argv[1:] if argv is None and __name__ == "__main__" else (argv or []))
    torch.set_num_threads(default_num_threads())
    print(f"# one-click defaults · torch {torch.__version__} · {os.cpu_count()} cores · "
          f"{torch.get_num_threads()} thread(s) · targets: ED/floor ≤ {RATIO_TARGET:g}, "
          f"precision and recall ≥ {PR_TARGET:g} · seconds are wall time (noisy on a busy machine)")
    print("| source                 |  steps | sampler  | ED/floor | precision | recall | pass | train s "
          "| sample s | steps/s |")
    print("|---|---:|---|---:|---:|---:|---|---:|---:|---:|")
    failed = 0
    for name in [n.strip() for n in args.sources.split(",") if n.strip()]:
        spec = source(name)
        if args.baseline:
            print_row(f"{name} (old: 2,000 steps)", one_click(spec, training_run.training_config(seed=args.seed),
                                                              "annealed", args.seed))
        row = one_click(spec, default_config(spec, seed=args.seed), default_settings(spec).sampler, args.seed)
        print_row(name, row)
        failed += not passes(row)
    print(f"{failed} source(s) miss a target" if failed else "every source meets every target")


if __name__ == "__main__":
    main()
