"""Flow-matching benchmarks (run: `python -m benchmarks.bench_flow`).

Every figure is printed beside a baseline measured in the same run (the machine may be busy):
  1. time-to-quality: a flow on moons with default settings (2000 steps, Euler 50-step sampling)
     until energy distance ≤ 0.005 (2000 samples vs 2000 fresh points), beside NCSN's figure
     (defaults, annealed Langevin) from the same process;
  2. quality vs steps: ED(1) > ED(4) > ED(50), then one reflow: 1-step ED after ÷ before (target ≤ 0.7)
     and the straightness S before and after;
  3. classifier-free guidance on the labelled 8-gaussians: share of class-C samples nearest mode C
     at w = 1 (target ≥ 90 %) and w = 3 (target ≥ 98 %), and their spread (RMS distance to their own
     mean: the class's diversity) and how far guidance pushes their mean past the mode;
  4. the exact mixture velocity turned into a score vs the exact mixture score (target ≤ 1e-5 relative).
"""

from __future__ import annotations

import os
import time

import torch

from models.flow import run as flow
from models.flow.defaults import DEFAULTS
from models.flow.exact import marginal_mixture, mixture_velocity
from models.flow.labels import mode_centers
from models.flow.model import FlowModel
from models.flow.trainer import FlowConfig, flow_trainer
from models.lab.datasets import DatasetSpec, dataset_mixture, sample_dataset, training_data
from models.lab.flow_matching import velocity_to_score
from models.lab.metrics import energy_distance
from models.lab.training import default_num_threads
from models.score.run import draw_samples, train
from models.score.trainer import TrainConfig

MOONS = DatasetSpec.builtin("moons")
TARGET_ED = 0.005
CHUNK = 250


def flow_time_to_quality(seed: int = 0) -> dict:
    """Train in chunks of CHUNK steps; after each, sample 2000 points (Euler, 50 steps) and stop at ED ≤ 0.005.
    The time counted is training + the sampling that showed the target (the checks in between are not)."""
    fresh = sample_dataset("moons", 2000, seed=10_000 + seed)
    t0 = time.perf_counter()
    data = training_data(MOONS, 10_000, seed)
    trainer = flow_trainer(FlowConfig(seed=seed), data.normalized)
    train_s, out = time.perf_counter() - t0, {}
    while trainer.state.step < trainer.config.steps:
        t1 = time.perf_counter()
        trainer.run(steps=trainer.state.step + CHUNK)
        train_s += time.perf_counter() - t1
        model = FlowModel.from_trainer(trainer, data.center, data.spread, MOONS.to_dict())
        t2 = time.perf_counter()
        samples = model.sample(n=2000, steps=flow.SAMPLE_STEPS, seed=seed).samples
        sample_s = time.perf_counter() - t2
        ed = energy_distance(samples, fresh)
        if ed <= TARGET_ED and "reached_steps" not in out:
            out.update(reached_steps=trainer.state.step, reached_s=train_s + sample_s, reached_ed=ed)
    out.update(steps=trainer.state.step, train_s=train_s, sample_s=sample_s, ed=ed, model=model)
    return out


def ncsn_time_to_quality(seed: int = 0) -> dict:
    fresh = sample_dataset("moons", 2000, seed=10_000 + seed)
    t0 = time.perf_counter()
    model, trainer = train(training_data(MOONS, 10_000, seed), TrainConfig(seed=seed))
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    samples = draw_samples(model, "annealed", n=2000, seed=seed).samples
    return {"steps": trainer.state.step, "train_s": train_s, "sample_s": time.perf_counter() - t1,
            "ed": energy_distance(samples, fresh)}


def steps_and_reflow(model: FlowModel, seed: int = 0) -> dict:
    evaluation = flow.evaluation_points(MOONS)
    floor = flow.ed_floor(MOONS)
    eds = {k: energy_distance(model.sample(n=2000, steps=k, seed=seed).samples, evaluation) for k in (1, 4, 50)}
    data = training_data(MOONS, 10_000, seed)
    parent = flow.FlowRun(data=data, config=model.config, loaded=model)
    child = flow.reflow_run(parent)
    t0 = time.perf_counter()
    from models.flow.reflow import reflow_pairs
    child.pairs = reflow_pairs(model, flow.REFLOW_PAIRS, seed=seed + 1)
    child.trainer = child.new_trainer()
    child.trainer.run()
    reflow_s = time.perf_counter() - t0
    after = child.model()
    numbers = flow.reflow_numbers(model, after, evaluation, floor)
    after_50 = energy_distance(after.sample(n=2000, steps=50, seed=seed).samples, evaluation)
    return {"eds": eds, "floor": floor, "numbers": numbers, "reflow_s": reflow_s, "after_50": after_50}


def guidance(seed: int = 0) -> dict:
    spec = DatasetSpec.builtin("8-gaussians")
    data, labels, names = flow.load_training_data(spec, conditional=True, seed=seed)
    config = flow.flow_config(steps=DEFAULTS.conditional_train_steps, num_classes=len(names), seed=seed)
    model, _ = flow.train(data, config, labels=labels)
    centers = mode_centers(spec)
    rows = {}
    band = DEFAULTS.guidance_interval
    for w, interval in ((0.0, None), (1.0, None), (3.0, None), (3.0, band), (5.0, None), (5.0, band)):
        per_class = [flow.guidance_summary(model, c, w, centers, n=1000, seed=seed + c, interval=interval)
                     for c in range(len(names))]
        rows[(w, interval)] = {"share_min": min(s["share"] for s in per_class),
                   "share_mean": sum(s["share"] for s in per_class) / len(per_class),
                   "spread_mean": sum(s["spread"] for s in per_class) / len(per_class),
                   "offset_mean": sum(s["offset"] for s in per_class) / len(per_class)}
    return rows


def exact_check() -> float:
    worst = 0.0
    for name in ("8-gaussians", "ncsn-mixture"):
        mixture = dataset_mixture(name)
        x = 4 * torch.randn(2000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        for t in (0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99):
            s = velocity_to_score(x, t, mixture_velocity(mixture, x, t))
            ref = marginal_mixture(mixture, t).score(x, sigma=t)
            worst = max(worst, float((s - ref).norm(dim=1).max() / ref.norm(dim=1).max()))
    return worst


def main() -> None:
    torch.set_num_threads(default_num_threads())
    print(f"# flow-matching benchmarks · torch {torch.__version__} · {os.cpu_count()} cores · "
          f"{torch.get_num_threads()} thread(s) · load average {os.getloadavg()[0]:.1f}")

    f = flow_time_to_quality()
    n = ncsn_time_to_quality()
    reached = (f"ED ≤ {TARGET_ED} first at step {f['reached_steps']}: {f['reached_s']:.1f} s training + sampling"
               if "reached_steps" in f else f"ED ≤ {TARGET_ED} not reached")
    flow_total, ncsn_total = f["train_s"] + f["sample_s"], n["train_s"] + n["sample_s"]
    print(f"1. time-to-quality, moons, defaults: flow {f['steps']} steps {f['train_s']:.1f} s + Euler-50 sampling "
          f"{f['sample_s']:.2f} s = {flow_total:.1f} s, ED {f['ed']:.4f} ({reached}; target ≤ 5 s)")
    print(f"   NCSN, same process: {n['steps']} steps {n['train_s']:.1f} s + annealed sampling {n['sample_s']:.2f} s "
          f"= {ncsn_total:.1f} s, ED {n['ed']:.4f} → flow ÷ NCSN wall time {flow_total / ncsn_total:.2f}")

    r = steps_and_reflow(f["model"])
    e, b, a = r["eds"], r["numbers"]["before"], r["numbers"]["after"]
    print(f"2. Euler steps (2000 samples, floor {r['floor']:.4f}): ED(1) {e[1]:.4f} > ED(4) {e[4]:.4f} > "
          f"ED(50) {e[50]:.4f}: {'yes' if e[1] > e[4] > e[50] else 'NO'}")
    print(f"   one reflow ({flow.REFLOW_PAIRS:,} pairs, {r['reflow_s']:.1f} s): 1-step ED {b['ed_1']:.4f} → "
          f"{a['ed_1']:.4f} = {a['ed_1'] / b['ed_1']:.2f}× (target ≤ 0.7); 4-step {b['ed_4']:.4f} → {a['ed_4']:.4f}; "
          f"50-step after {r['after_50']:.4f}; straightness S {b['straightness']:.3f} → {a['straightness']:.4f}")

    g = guidance()
    for (w, interval), row in g.items():
        print(f"3. guidance w = {w:g}, {flow.interval_label(interval)} (8-gaussians, "
              f"{DEFAULTS.conditional_train_steps} training steps, 8 classes × 1000 "
              f"samples): nearest own mode min {row['share_min']:.1%} / mean {row['share_mean']:.1%}; spread (RMS "
              f"distance to the samples' mean) {row['spread_mean']:.3f}; mean's offset from the mode "
              f"{row['offset_mean']:.3f}")
    print("   targets: w = 1 ≥ 90 %, w = 3 ≥ 98 % with a smaller spread than w = 1")

    print(f"4. exact mixture velocity → score vs the exact mixture score: max relative error {exact_check():.1e} "
          "(target ≤ 1e-5)")


if __name__ == "__main__":
    main()
