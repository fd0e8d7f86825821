"""GPU benchmark of the real FLUX.1-schnell: seconds per 1024x1024 image (4 steps) and peak VRAM per memory plan.

    python benchmarks/gpu_flux.py [--model SPEC] [--images N] [--plans none,model,sequential]

Runs only where a CUDA GPU and the real weights (HF cache or DC_FLUX_MODEL folder) exist; otherwise it
prints "skipped: ..." and exits 0, so it is safe in any benchmark sweep. Offload plans other than the
one plan_memory picks are opt-in via --plans (sequential offload takes minutes per image).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def skip(reason: str) -> None:
    print(f"skipped: {reason}")
    sys.exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model spec (default: DC_FLUX_MODEL, else FLUX.1-schnell)")
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--plans", default="", help="comma list of offload levels to measure "
                                                    "(default: the one plan_memory chooses)")
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        skip("no GPU (torch.cuda.is_available() is False)")

    from models.flux import FluxError
    from models.flux.generate import Generator
    from models.flux.loading import next_offload_level, plan_memory, resolve_model
    from models.flux.settings import SCHNELL_REPO_ID, load_settings

    settings = load_settings()
    spec = args.model or (settings.model if settings.model not in ("auto", "tiny") else SCHNELL_REPO_ID)
    try:
        source = resolve_model(spec, settings, allow_demo=False)
    except FluxError as exc:
        skip(f"no weights: {exc}")
    if source.is_demo:
        skip("no weights: only the tiny demo pipeline is available")

    base_plan = plan_memory(source)
    plans = [base_plan]
    if args.plans:
        wanted = [p.strip() for p in args.plans.split(",") if p.strip()]
        plans, plan = [], replace(base_plan, offload="none", vae_tiling=False)
        while plan is not None:
            if plan.offload in wanted:
                plans.append(plan)
            plan = next_offload_level(plan)
    name = torch.cuda.get_device_name()
    free, total = torch.cuda.mem_get_info()
    print(f"GPU: {name}, {free / 1e9:.1f} GB free of {total / 1e9:.1f} GB; model: {source.label}")

    for plan in plans:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        gen = Generator(source, settings=settings, plan=plan)
        try:
            gen.load()
            params = [gen.params("a red fox in the snow, photograph", seed=i, width=args.size, height=args.size)
                      for i in range(args.images + 1)]
            gen.generate(params[0])  # warm-up: kernels, allocator
            torch.cuda.synchronize()
            times = []
            for p in params[1:]:
                start = time.perf_counter()
                gen.generate(p)
                torch.cuda.synchronize()
                times.append(time.perf_counter() - start)
        except FluxError as exc:
            print(f"plan {plan.offload:10s}: failed: {exc}")
            continue
        finally:
            peak = torch.cuda.max_memory_allocated() / 1e9
            gen.unload()
        print(f"plan {plan.offload:10s} ({plan.dtype}, vae tiling {plan.vae_tiling}): load {gen.load_seconds:.1f} s, "
              f"{statistics.median(times):.2f} s/image at {args.size}x{args.size}, 4 steps (median of {len(times)}), "
              f"peak VRAM {peak:.1f} GB; plan estimate {plan.seconds_per_image} s")


if __name__ == "__main__":
    main()
