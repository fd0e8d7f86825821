"""The gallery's generation job: generate prompts in order in a job worker process, publishing typed progress.

It never touches the UI: the page submits `generation_task(generator, items)` to its job pool and
draws `job.snapshot()` (a `GenerationProgress`) and, when done, `job.result` (a `GenerationOutcome`).
The worker process keeps its pipeline loaded between jobs (`worker_generator`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from models.flux import FluxError
from models.core.jobs import Task
from models.flux.generate import GenerationCancelled, Generator, GeneratorSpec, OutOfMemory
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
    """The function a JobPool runs in a thread of this process (tests, the command line): see `run_generation`."""
    return lambda job: run_generation(job, generator, items)


def generation_task(generator: Generator, items: list[tuple[str, GenerationParams]]) -> Task:
    """The job that generates `items` in a worker process, which builds `generator`'s twin once and keeps
    its pipeline loaded for the next job (one pipeline per process)."""
    return Task(generate_in_worker, (generator.worker_spec(), list(items)))


_kept: tuple[GeneratorSpec, Generator] | None = None  # this worker process's generator (one pipeline)


def worker_generator(spec: GeneratorSpec) -> Generator:
    """The worker's generator for `spec`: the one it keeps when the spec is the same (the pipeline stays
    loaded), else a new one (the old pipeline is let go first: two would not fit)."""
    global _kept
    if _kept is not None and _kept[0] == spec:
        return _kept[1]
    _kept = None
    import gc

    gc.collect()
    generator = spec.build()
    _kept = (spec, generator)
    return generator


def generate_in_worker(job, spec: GeneratorSpec, items: list[tuple[str, GenerationParams]]) -> GenerationOutcome:
    return run_generation(job, worker_generator(spec), items)


def run_generation(job, generator: Generator, items: list[tuple[str, GenerationParams]]) -> GenerationOutcome:
    """Generate `items` in order, publishing a `GenerationProgress`; returns a `GenerationOutcome`. Stops at
    the first error no other image can escape (no model, too little memory, out of memory: with the
    lighter plan to try next)."""
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
