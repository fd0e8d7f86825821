"""Benchmark of the FLUX engine on the tiny demo pipeline (CPU, 64x64, 4 steps).

    python benchmarks/bench_flux.py [--images N]

Prints import times (our modules vs diffusers), tiny build and load times, and seconds per image for
the bare `pipe(...)` call (the baseline, measured in the same run) against Generator.generate
without a store, with a store (PNG + metadata written), and a store cache hit. Target: <= 1 s/image.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def fresh_import_seconds(statement: str) -> tuple[float, str]:
    """Seconds to run `statement` in a fresh interpreter, and which heavy modules it pulled in."""
    code = (f"import time, sys; t = time.perf_counter(); {statement}; dt = time.perf_counter() - t; "
            "print(dt, ','.join(m for m in ('torch', 'transformers', 'diffusers') if m in sys.modules) or '-')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    seconds, heavy = out.stdout.split()
    return float(seconds), heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10, help="images per measurement (median reported)")
    args = parser.parse_args()

    ours, heavy = fresh_import_seconds("import models.flux.generate, models.flux.store")
    print(f"import models.flux.generate + store : {ours:6.3f} s   (heavy modules loaded: {heavy})")
    diff, _ = fresh_import_seconds("from diffusers import FluxPipeline")
    print(f"import diffusers.FluxPipeline       : {diff:6.3f} s   ({diff / max(ours, 1e-9):.0f}x ours)")

    import torch

    from models.flux.generate import Generator
    from models.flux.settings import FluxSettings
    from models.flux.store import ImageStore
    from models.flux.tiny import make_tiny_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        make_tiny_pipeline(tmp / "tiny")
        print(f"build tiny pipeline                 : {time.perf_counter() - start:6.3f} s")
        settings = FluxSettings(model="tiny", tiny_dir=tmp / "tiny", output_dir=tmp / "out", cache_dir=tmp / "hub")
        gen = Generator("tiny", settings=settings)
        gen.load()
        print(f"load tiny pipeline                  : {gen.load_seconds:6.3f} s   (torch threads: "
              f"{torch.get_num_threads()})")

        pipe = gen._pipe
        prompt = "a lighthouse on a cliff at dusk, oil painting"

        def bare(i: int) -> None:
            pipe(prompt, num_inference_steps=4, guidance_scale=0.0, height=64, width=64, max_sequence_length=256,
                 generator=torch.Generator("cpu").manual_seed(i))

        def bare_one_thread(i: int) -> None:
            # Tiny matrices gain little from threads, and busy cores make OpenMP threads wait on each other.
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                bare(i)
            finally:
                torch.set_num_threads(threads)

        def ours_no_store(i: int) -> None:
            gen.generate(gen.params(prompt, seed=i))

        stored = Generator(gen.source, settings=settings, store=ImageStore(tmp / "out"), plan=gen.plan)
        stored._pipe = pipe  # same loaded pipeline: measure only what generate() adds

        def ours_store(i: int) -> None:
            stored.generate(stored.params(prompt, seed=1000 + i))

        def cache_hit(i: int) -> None:
            assert stored.generate(stored.params(prompt, seed=1000 + i)).from_cache

        def with_previews(i: int) -> None:
            gen.generate(gen.params(prompt, seed=2000 + i), on_step=lambda *_: None)

        bare(0)  # warm-up (first call allocates)
        n = args.images
        variants = [("bare pipe(...) call [baseline]", bare),
                    ("bare pipe(...), 1 torch thread", bare_one_thread),
                    ("Generator.generate, no store", ours_no_store),
                    ("Generator.generate + PNG store", ours_store),
                    ("  ... with a preview every step", with_previews),
                    ("Generator.generate, cache hit", cache_hit)]
        # Interleaved rounds (each variant once per round): load from other processes hits all alike.
        times: dict[str, list[float]] = {name: [] for name, _ in variants}
        for i in range(n):
            for name, fn in variants:
                start = time.perf_counter()
                fn(i)
                times[name].append(time.perf_counter() - start)
        rows = [(name, statistics.median(times[name])) for name, _ in variants]
        base = rows[0][1]
        print(f"\nseconds per image, tiny pipeline 64x64, 4 steps, CPU (median of {n}):")
        for name, sec in rows:
            print(f"  {name:34s}: {sec:7.4f} s   {sec / base:5.2f}x baseline")
        verdict = "OK" if rows[3][1] <= 1.0 else "SLOWER THAN TARGET"
        print(f"target <= 1 s per image (Generator.generate + PNG store): {verdict}")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} (timings on a busy machine are inflated)")


if __name__ == "__main__":
    main()
