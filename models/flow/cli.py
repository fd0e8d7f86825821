"""The flow commands of the 2-D lab's command line (models/toy2d/cli.py parses; these do the work):
`train --model flow`, `sample --run FLOW_RUN`, `straightness`.

    python -m models.toy2d train --model flow --dataset moons --out runs/flow
    python -m models.toy2d train --model flow --reflow-from runs/flow --out runs/reflow
    python -m models.toy2d train --model flow --dataset 8-gaussians --conditional --out runs/cfg
    python -m models.toy2d sample --run runs/flow --sampler euler --steps 4 --out s.csv
    python -m models.toy2d sample --run runs/cfg --class 2 --guidance 3 --out s.csv
    python -m models.toy2d straightness --run runs/reflow

Options that a flow does not read are refused by name, with what to use instead (NOT_FOR_FLOWS).
"""

from __future__ import annotations


from models.core.atomic import output_clash
from models.core.errors import InputError
from models.lab.cli import check_output_file, train_printing_progress, training_saved
from models.lab.flow_matching import SAMPLERS

from .defaults import DEFAULTS

N_TRAIN = 10_000
MAX_FLOW_STEPS = 1000        # sample --steps: 50 is plenty for a 2-D flow
SAMPLE_STEPS = DEFAULTS.sample_steps
DEFAULT_SAMPLER = "euler"
MAX_GUIDANCE = 20.0
NOT_FOR_FLOWS = {            # score options a flow has no use for, and why
    "--objective": "a flow has one loss, ‖v − (ε − x₀)‖²",
    "--sigma": "a flow has no noise ladder: its noise level is the time t ∈ [0, 1]",
    "--sigma-min": "a flow has no noise ladder: its noise level is the time t ∈ [0, 1]",
    "--sigma-max": "a flow has no noise ladder: its noise level is the time t ∈ [0, 1]",
    "--levels": "a flow has no noise ladder: its noise level is the time t ∈ [0, 1]",
    "--steps-per-level": "a flow takes --steps (Euler or Heun steps from t = 1 to 0)",
    "--eps": "a flow's ODE steps need no step size: give the number of --steps",
    "--final-denoise": "a flow ends at t = 0, on the data",
    "--no-final-denoise": "a flow ends at t = 0, on the data",
    "--start": "a flow starts from its own noise N(center, spread²·I)",
    "--start-range": "a flow starts from its own noise N(center, spread²·I)",
    "--solver": "a flow takes --sampler euler or heun",
    "--reference": "a flow samples its own run: give --run",
    "--dataset": "a flow run already knows its training data",
    "--data": "a flow run already knows its training data",
    "--text": "a flow run already knows its training data",
    "--n-train": "a flow run already knows its training data",
}


# ----------------------------------------------------------------------------- train

def training_steps(args) -> int | None:
    """--steps, else the defaults table's count for this kind of flow (None for a reflow: its parent's)."""
    if args.steps is not None:
        return args.steps
    return None if args.reflow_from is not None else DEFAULTS.training_steps(bool(args.conditional))


def cmd_train(args) -> None:
    from models.lab.datasets import DatasetSpec
    from models.lab.run_folder import check_run_target

    from . import run as flow
    from .checkpoints import load_flow_run, save_flow_run
    from .trainer import FlowConfig

    has_data = args.dataset is not None or args.data is not None or args.text is not None
    if args.reflow_from is not None:
        if has_data or args.n_train is not None:
            raise InputError("--dataset/--data/--text/--n-train do not apply with --reflow-from "
                             "(a reflow trains on its parent's own samples)")
        if args.conditional:
            raise InputError("--conditional does not apply with --reflow-from (reflow is for unconditional flows)")
        for flag, value in (("--hidden", args.hidden), ("--depth", args.depth)):
            if value is not None:
                raise InputError(f"{flag} does not apply with --reflow-from (a reflow starts from its parent's "
                                 "weights, so it keeps its network's size)")
    elif not has_data:
        raise InputError("one of the arguments --dataset --data --text is required (or --reflow-from RUN)")
    clash = output_clash({"--out": args.out}, {"the run --reflow-from": args.reflow_from})
    if clash:  # the reflow would replace the very run it samples its pairs from
        raise InputError(clash)
    check_run_target(args.out)
    base = FlowConfig()
    if args.reflow_from is not None:
        parent_model, _, _ = load_flow_run(args.reflow_from, args.device)
        if parent_model.dataset is None:
            raise InputError(f"{args.reflow_from}: its training data is unknown, so its reflow cannot be described")
        data, _, _ = flow.load_training_data(DatasetSpec.from_dict(parent_model.dataset), conditional=False,
                                             seed=parent_model.config.seed)
        parent = flow.FlowRun(data=data, config=parent_model.config, loaded=parent_model)
        run = flow.reflow_run(parent, steps=training_steps(args))
        run.config.seed, run.config.lr, run.config.batch_size = args.seed, args.lr, args.batch_size
        run.config.time_sampling = args.time_sampling or run.config.time_sampling
        print(f"sampling {flow.REFLOW_PAIRS:,} (noise, sample) pairs from {args.reflow_from} …", flush=True)
        from .reflow import reflow_pairs
        run.pairs = reflow_pairs(parent_model, flow.REFLOW_PAIRS, seed=args.seed + 1)
    else:
        spec = (DatasetSpec.builtin(args.dataset) if args.dataset is not None else
                DatasetSpec.csv(args.data) if args.data is not None else DatasetSpec.from_text(args.text))
        data, labels, names = flow.load_training_data(spec, conditional=bool(args.conditional),
                                                      n=args.n_train or N_TRAIN, seed=args.seed)
        config = FlowConfig(hidden=args.hidden or base.hidden, depth=args.depth or base.depth,
                            time_sampling=args.time_sampling or base.time_sampling, steps=training_steps(args),
                            batch_size=args.batch_size, lr=args.lr, seed=args.seed, device=args.device,
                            num_classes=len(names) if args.conditional else 0)
        run = flow.FlowRun(data=data, config=config, labels=labels, class_names=names)
    run.config.num_threads = args.threads
    run.config.log_every = max(1, min(100, run.config.steps // 20))
    run.config.validate()
    trainer = run.trainer = run.new_trainer()
    print(f"training {run.describe()} [{len(trainer.data)} points]", flush=True)

    error, seconds = train_printing_progress(trainer)
    model = run.model()
    if model is None:  # it diverged before a single step finished: there are no weights worth a run folder
        raise InputError(f"training stopped: {error} Nothing was written to {args.out}.")
    save_flow_run(args.out, model, trainer.state.history, run.class_names)
    training_saved(args.out, error, seconds)


# ----------------------------------------------------------------------------- sample

def cmd_sample(args) -> None:
    from models.lab.datasets import write_points_csv

    from .checkpoints import load_flow_run

    check_output_file(args.out, runs={"the run --run": args.run})
    sampler = args.sampler or DEFAULT_SAMPLER
    if sampler not in SAMPLERS:
        raise InputError(f"--sampler {sampler}: a flow samples with {' or '.join(SAMPLERS)}")
    steps = SAMPLE_STEPS if args.steps is None else args.steps
    if steps > MAX_FLOW_STEPS:
        raise InputError(f"argument --steps: must be at most {MAX_FLOW_STEPS:,} for a flow, got {steps}")
    if args.guidance is not None and args.label is None:
        raise InputError("--guidance needs --class C (guidance pushes towards a class)")
    if args.guidance is not None and not 0 <= args.guidance <= MAX_GUIDANCE:
        raise InputError(f"--guidance must be from 0 to {MAX_GUIDANCE:g} (got {args.guidance:g})")
    interval = None if args.guidance_interval is None else tuple(args.guidance_interval)
    if interval is not None and (args.guidance is None or not 0 <= interval[0] < interval[1] <= 1):
        raise InputError("--guidance-interval T_LOW T_HIGH needs --guidance and 0 ≤ T_LOW < T_HIGH ≤ 1 "
                         f"(got {' '.join(f'{v:g}' for v in interval)})")
    model, _, names = load_flow_run(args.run, args.device)
    if args.label is not None:
        if not model.config.conditional:
            raise InputError(f"--class: {args.run} was trained without classes (train with --conditional)")
        if not 0 <= args.label < model.config.num_classes:
            raise InputError(f"--class must be from 0 to {model.config.num_classes - 1} (got {args.label})")
    result = model.sample(n=args.n, steps=steps, sampler=sampler, seed=args.seed, shift=args.shift or 1.0,
                          label=args.label, guidance=1.0 if args.guidance is None else args.guidance,
                          guidance_interval=interval)
    write_points_csv(result.samples, args.out)
    what = f"{sampler}, {steps} step{'s' if steps > 1 else ''}"
    if args.label is not None:
        label_name = names[args.label] if names else f"class {args.label}"
        what += f", {label_name}, guidance {1.0 if args.guidance is None else args.guidance:g}"
        if interval is not None:
            what += f" for {interval[0]:g} < t ≤ {interval[1]:g}"
    print(f"wrote {args.n} samples ({what}) to {args.out}")


# ----------------------------------------------------------------------------- straightness

QUALITY_POINTS = 4000  # energy distances beyond this many points cost seconds per thousand


def cmd_straightness(args) -> None:
    from models.lab.datasets import DatasetSpec

    from . import run as flow
    from .checkpoints import load_flow_run
    from .reflow import straightness

    model, _, _ = load_flow_run(args.run)
    s = straightness(model, n=args.n, seed=args.seed)
    print(f"straightness S = E∫‖v‖²dt − E‖x₁ − x₀‖² = {s:.4f} "
          "(standardized units; 0 = straight paths at constant speed)")
    if model.dataset is None:
        print("(the training data is unknown here: no quality numbers)")
        return
    # The energy distance compares every pair of points (n² work: 100,000 points took a quarter of an
    # hour), so the quality numbers use at most QUALITY_POINTS of them; the paths above use all n.
    n = min(args.n, QUALITY_POINTS)
    spec = DatasetSpec.from_dict(model.dataset)
    evaluation, floor = flow.evaluation_points(spec, n), flow.ed_floor(spec, n)
    if n < args.n:
        print(f"(energy distances on {n:,} of the {args.n:,} points: they compare every pair)")
    for row in flow.quality_vs_steps(model, evaluation, floor, step_counts=(1, 4, 50), n=n, seed=args.seed):
        print(f"{row['steps']:>3} Euler step(s): energy distance {row['energy_distance']:.4f} "
              f"({row['ratio']:.1f}× the data-vs-data floor {floor:.4f})")
