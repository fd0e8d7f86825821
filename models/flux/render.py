"""Render every missing image of a prompt file: one image per prompt, with its seed and settings.

    python -m models.flux render prompts/part1.toml [--model tiny] [--only ID ...] [--out DIR]

Resumable: an image already in the store (same cache key) is skipped, so an interrupted run picks up
where it stopped. Scales out with accelerate: under `accelerate launch --num_processes N`, each
process renders its own share of the missing images (PartialState.split_between_processes).

The file is read like everywhere else: checked by prompt_check (a file `check` refuses is refused here,
with the same FILE:LINE: message) and turned into parameters by PromptFile.params, as the gallery does.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

from models.flux import FluxError
from models.flux.generate import Generator
from models.flux.loading import ModelSource, choose_model_spec, plan_memory, resolve_model
from models.flux.params import GenerationParams
from models.flux.prompt_check import validate_text
from models.flux.prompt_file import PromptFile
from models.flux.settings import FluxSettings, load_settings
from models.flux.store import DEMO_LABEL, ImageStore


class RenderError(FluxError):
    """Bad input to render (file, prompt id, settings); the message is one line for the terminal."""


def load_checked(path: str | os.PathLike) -> PromptFile:
    """The prompt file, if `check` finds no error in it; else RenderError with check's first FILE:LINE: line.

    Raises PromptFileError (FILE:LINE: too) when the file cannot be read or parsed at all.
    """
    pf = PromptFile.load(path)
    errors = [p for p in validate_text(pf.dumps()) if p.is_error]
    if errors:
        more = f" (and {len(errors) - 1} more: run `python -m models.flux check {path}`)" if len(errors) > 1 else ""
        raise RenderError(errors[0].format(path) + more)
    return pf


def file_model(pf: PromptFile) -> str | None:
    """The model named in the file's [defaults] (None when it names none)."""
    table = pf.doc.get("defaults")
    model = table.get("model") if isinstance(table, dict) else None
    return model.strip() if isinstance(model, str) and model.strip() else None


def render_jobs(pf: PromptFile, source: ModelSource) -> list[tuple[str, GenerationParams]]:
    """(prompt id, GenerationParams for `source`) of every prompt, in file order."""
    return [(pid, pf.params(pid, model_id=source.model_id, revision=source.revision)) for pid in pf.prompt_ids()]


@dataclass
class RenderSummary:
    """What one process did: `rendered` new images, `skipped` ones already in the store."""

    total: int
    missing: int
    rendered: list[Path]
    skipped: int
    seconds: float
    model_label: str
    process_index: int = 0
    num_processes: int = 1


def _distributed_state():
    """accelerate's PartialState when started as one of several processes, else None.

    Several processes come from `accelerate launch --multi_gpu --num_processes N` (torchrun underneath;
    on a machine without CUDA the processes share the CPU over gloo) or from `torchrun`. Note that
    `accelerate launch --cpu` starts ONE process whatever --num_processes says (multi-CPU needs
    mpirun): it then renders everything itself, which is correct, just not split.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())
    if state.num_processes != world:  # would make every process render everything
        raise RenderError(f"started as one of {world} processes but accelerate sees {state.num_processes}: "
                          "launch with `accelerate launch --multi_gpu --num_processes N` or torchrun")
    return state


def render_file(
    path: str | os.PathLike,
    *,
    model: str | None = None,
    only: Iterable[str] | None = None,
    out: str | os.PathLike | None = None,
    settings: FluxSettings | None = None,
    log: Callable[[str], None] = print,
    dry_run: bool = False,
) -> RenderSummary:
    """Render the missing images of the prompt file at `path` into the store at `out`.

    model: a spec for resolve_model; default: DC_FLUX_MODEL if set, else the file's [defaults] model,
    else "auto". FLUX.1-schnell that is not on this machine is an error, not the demo: only an explicit
    "tiny" or "auto" draws demo noise. only: prompt ids to render (all when None). Raises RenderError /
    FluxError.
    """
    start = time.perf_counter()
    settings = settings or load_settings()
    pf = load_checked(path)
    spec = choose_model_spec(settings, cli_model=model, file_model=file_model(pf))
    source = resolve_model(spec, settings, allow_demo=False)
    jobs = render_jobs(pf, source)
    if only:
        wanted = list(dict.fromkeys(only))
        known = {pid for pid, _ in jobs}
        unknown = [pid for pid in wanted if pid not in known]
        if unknown:
            listing = ", ".join(sorted(known)) or "none"
            raise RenderError(f"{path}: unknown prompt id {', '.join(map(repr, unknown))} (ids in the file: {listing})")
        jobs = [(pid, kw) for pid, kw in jobs if pid in set(wanted)]

    store = ImageStore(out if out is not None else settings.output_dir)

    # Full parameters (the model fixes model_id / revision), checked before anything is rendered.
    todo: list[tuple[str, GenerationParams]] = []
    keys: set[str] = set()
    for pid, params in jobs:
        try:  # the file passed `check` for its own model; --model may name one with other limits
            params.validate()
        except FluxError as exc:
            raise RenderError(f"{path}: prompt {pid!r}: {exc}") from None
        if params.cache_key() not in keys:  # two prompts with identical settings are one image
            keys.add(params.cache_key())
            todo.append((pid, params))
    missing = [(pid, p) for pid, p in todo if store.get(p) is None]

    state = _distributed_state()
    rank, world = (state.process_index, state.num_processes) if state else (0, 1)
    tag = f"[rank {rank}/{world}] " if world > 1 else ""
    if rank == 0:
        log(f"{path}: {len(todo)} images, {len(todo) - len(missing)} already rendered, {len(missing)} to render "
            f"with {source.label}" + (f" on {world} processes" if world > 1 else "") + f" -> {store.root}")
        if source.note:
            log(f"note: {source.note}")
    if state is not None:
        # Everyone has listed what is missing before anyone writes: the lists, hence the shares, agree.
        state.wait_for_everyone()
        with state.split_between_processes(missing) as share:
            mine = list(share)
    else:
        mine = missing

    rendered: list[Path] = []
    if dry_run:
        for pid, params in mine:
            log(f"{tag}would render {pid} (seed {params.seed}, {params.width}x{params.height}, {params.steps} steps)")
    elif mine:
        plan = plan_memory(source)
        if state is not None and plan.device == "cuda":
            import torch

            torch.cuda.set_device(state.local_process_index)
            plan = replace(plan, device=f"cuda:{state.local_process_index}")
        if rank == 0:
            log(f"memory plan: {plan.summary}" + (f" ({plan.warning})" if plan.warning else ""))
        generator = Generator(source, settings=settings, store=store, plan=plan)
        for i, (pid, params) in enumerate(mine, 1):
            result = generator.generate(params, prompt_id=pid)
            if result.from_cache:  # another process or run made it meanwhile
                log(f"{tag}[{i}/{len(mine)}] {pid}: already rendered -> {result.path}")
                continue
            rendered.append(result.path)
            trunc = f", prompt cut by {result.truncated_tokens} tokens" if result.truncated_tokens else ""
            size = "x".join(map(str, result.image.size))
            drawn = f", {DEMO_LABEL}: drawn at {size}" if size != f"{params.width}x{params.height}" else ""
            log(f"{tag}[{i}/{len(mine)}] rendered {pid} key {params.cache_key()} (seed {params.seed}, "
                f"{params.width}x{params.height}{drawn}, {result.seconds:.1f} s{trunc}) -> {result.path}")
    if state is not None:
        state.wait_for_everyone()
    seconds = time.perf_counter() - start
    if rank == 0 and not dry_run:
        log(f"done in {seconds:.1f} s" + ("" if world == 1 else " (all processes)"))
    return RenderSummary(total=len(todo), missing=len(missing), rendered=rendered, skipped=len(todo) - len(missing),
                         seconds=seconds, model_label=source.label, process_index=rank, num_processes=world)
