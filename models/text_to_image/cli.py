"""`python -m models.text_to_image` — train the 8×8 digit text-to-image model, sample it, read its tokens.

    train   --out DIR [--steps N] [--seed S]
    sample  --run DIR --prompt TEXT [--n N] [--steps K] [--guidance W] [--seed S] --out FILE(.png|.npy)
    tokens  --run DIR TEXT

Bad input exits with code 2 and ONE line on stderr, before any work (an --out that cannot be written
is refused before training, not after). A .npy holds the images as an (n, 8, 8) float32 array in
[0, 1] with 0 = background, so anyone can judge them with their own classifier; a .png is a grid.
"""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

import numpy as np
import torch

from models.core.atomic import atomic_write_bytes
from models.core.errors import InputError
from models.lab import cli as lab_cli
from models.lab.run_folder import check_run_target

from .images import grid_png
from .runs import load_run, save_run
from .sample import DEFAULT_GUIDANCE, DEFAULT_STEPS, MAX_GUIDANCE, MAX_IMAGES, MAX_STEPS, generate
from .train import LIMITS, Progress, TrainConfig, train
from .text_encoder import token_pieces

DEFAULT_IMAGES = 16
OUTPUT_SUFFIXES = (".png", ".npy")


def guidance(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
    if not (math.isfinite(v) and 0 <= v <= MAX_GUIDANCE):
        raise argparse.ArgumentTypeError(f"must be a number from 0 to {MAX_GUIDANCE:g}, got {text[:40]}")
    return v


def prompt_text(text: str) -> str:
    if len(text) > 1000:
        raise argparse.ArgumentTypeError(f"is {len(text):,} characters long: at most 1,000 (CLIP reads 77 tokens)")
    return text


def build_parser() -> argparse.ArgumentParser:
    p = lab_cli.Parser(prog="python -m models.text_to_image",
                description="An 8×8 digit text-to-image model trained on this computer (rectified flow, CLIP tokens).")
    sub = p.add_subparsers(dest="command", required=True, parser_class=lab_cli.Parser)
    t = sub.add_parser("train", help="train a model and save its run folder")
    t.add_argument("--out", type=Path, required=True, help="run folder (new, empty, or an earlier run)")
    t.add_argument("--steps", type=lab_cli.whole_number(LIMITS["steps"]), default=TrainConfig.steps,
                   help=f"training steps (default {TrainConfig.steps})")
    t.add_argument("--seed", type=lab_cli.seed, default=0)
    s = sub.add_parser("sample", help="draw digits for a prompt")
    s.add_argument("--run", type=Path, required=True)
    s.add_argument("--prompt", type=prompt_text, required=True)
    s.add_argument("--n", type=lab_cli.whole_number(MAX_IMAGES), default=DEFAULT_IMAGES)
    s.add_argument("--steps", type=lab_cli.whole_number(MAX_STEPS, " Euler steps"), default=DEFAULT_STEPS)
    s.add_argument("--guidance", type=guidance, default=DEFAULT_GUIDANCE)
    s.add_argument("--seed", type=lab_cli.seed, default=0)
    s.add_argument("--out", type=Path, required=True, help="FILE.png (a grid) or FILE.npy ((n, 8, 8) floats in [0, 1])")
    k = sub.add_parser("tokens", help="the prompt's CLIP pieces, each marked seen or unseen in training")
    k.add_argument("--run", type=Path, required=True)
    k.add_argument("text", type=prompt_text)
    return p


def check_output_file(path: Path, run: Path | None = None) -> None:
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"--out {path}: give a file ending in .png (a grid) or .npy (the raw images)")
    lab_cli.check_output_file(path, runs={"the run --run": run})


def npy_bytes(images: torch.Tensor) -> bytes:
    buf = io.BytesIO()
    np.save(buf, images.float().numpy().astype(np.float32), allow_pickle=False)
    return buf.getvalue()


def cmd_train(args) -> None:
    check_run_target(args.out)

    def report(p: Progress) -> None:
        print(f"step {p.step:>6,}/{p.steps:,}  loss {p.loss:.4f}  {p.cpu_seconds:6.1f} s CPU", flush=True)

    run = train(TrainConfig(steps=args.steps, seed=args.seed), progress=report, report_every=max(1, args.steps // 10))
    save_run(args.out, run)
    print(f"saved {args.out}: {run.steps_trained:,} steps in {run.cpu_seconds:.1f} s of CPU time; "
          f"{len(run.seen_ids)} CLIP tokens seen in training captions")


def cmd_sample(args) -> None:
    check_output_file(args.out, args.run)
    run = load_run(args.run)
    images = generate(run.model, args.prompt, n=args.n, steps=args.steps, guidance=args.guidance,
                      seed=args.seed).images
    data = grid_png(images) if args.out.suffix.lower() == ".png" else npy_bytes(images)
    try:
        atomic_write_bytes(args.out, data)
    except OSError as exc:
        raise InputError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"wrote {args.out}: {args.n} image(s) of {args.prompt!r}, {args.steps} Euler step(s), guidance {args.guidance:g}")


def cmd_tokens(args) -> None:
    run = load_run(args.run)
    seen = set(run.seen_ids)
    pieces = token_pieces(args.text)
    for token_id, piece in pieces:
        print(f"{token_id:>6}  {'seen  ' if token_id in seen else 'UNSEEN'}  {piece}")
    unseen = sum(1 for i, _ in pieces if i not in seen)
    print(f"{len(pieces) - unseen} of {len(pieces)} pieces seen in training captions"
          + (f"; {unseen} never seen: their embeddings are still random initial values" if unseen else ""))


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "tokens": cmd_tokens}


def main(argv: list[str] | None = None) -> int:
    """Run the CLI under the lab's contract: 0 done, 2 bad input (one line), 130 interrupted, 1 a bug."""
    def command() -> None:
        args = build_parser().parse_args(argv)
        COMMANDS[args.command](args)
    return lab_cli.run_command(command)
