"""The gallery's generation job: generate prompts in order in a pool thread, publishing typed progress.

It never touches the UI: the page submits `generation_job(generator, items)` to its job pool and
draws `job.snapshot()` (a `GenerationProgress`) and, when done, `job.result` (a `GenerationOutcome`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from models.flux import FluxError
from models.flux.generate import GenerationCancelled, Generator, OutOfMemory
from models.flux.loading import InsufficientMemory, MemoryPlan, ModelNotFound
from models.flux.params import GenerationParams


@dataclass(frozen=True)
class GenerationProgress:
    """Where a generation job is: image `index` of `total`, step `step` of `steps`, the latest preview."""

    index: int = 0
    total: int = 1
    prompt_id: str = ""
    step: int = 0
    steps: int = 1
    preview: Any = None          # a PIL image of the latest step, or None
    status: str = "starting"


@dataclass
class GenerationOutcome:
    """What a generation job did."""

    made: list[tuple[str, int, str, bool]] = field(default_factory=list)  # (prompt_id, seed, path, from_cache)
    errors: list[tuple[str, str]] = field(default_factory=list)          # (prompt_id, message) per failed image
    next_plan: MemoryPlan | None = None   # a lighter memory plan after running out of memory
    seconds: float = 0.0


def generation_job(generator: Generator, items: list[tuple[str, GenerationParams]]) -> Callable:
    """The function a JobPool runs: generate `items` in order, publishing a `GenerationProgress`;
    returns a `GenerationOutcome`. Stops at the first error no other image can escape (no model,
    too little memory, out of memory: with the lighter plan to try next)."""

    def work(job) -> GenerationOutcome:
        start = time.perf_counter()
        out = GenerationOutcome()
        total = len(items)
        for index, (prompt_id, params) in enumerate(items):
            if job.should_stop():
                break
            status = "waiting for the generator (another session is using it)" if generator.busy else (
                "loading the model" if not generator.loaded else "starting")
            job.report(GenerationProgress(index=index, total=total, prompt_id=prompt_id, step=0, steps=params.steps,
                                          preview=None, status=status))

            def on_step(step: int, steps: int, preview) -> None:
                job.report(step=step, steps=steps, preview=preview, status=f"step {step}/{steps}")

            try:
                result = generator.generate(params, on_step=on_step, cancel=job.stop_event, prompt_id=prompt_id)
            except GenerationCancelled:
                break
            except OutOfMemory as exc:
                out.errors.append((prompt_id, str(exc)))
                out.next_plan = exc.next_plan
                break
            except (ModelNotFound, InsufficientMemory) as exc:  # nothing else can work either
                out.errors.append((prompt_id, str(exc)))
                break
            except FluxError as exc:
                out.errors.append((prompt_id, str(exc)))
                continue
            out.made.append((prompt_id, params.seed, str(result.path) if result.path else "", result.from_cache))
            job.report(index=index + 1, step=params.steps)
        out.seconds = time.perf_counter() - start
        return out

    return work
