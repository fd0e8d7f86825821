"""Render every missing image of a prompt file: one image per prompt, with its seed and settings.

    python -m models.flux render prompts/part1.toml [--model tiny] [--only ID ...] [--out DIR]

Resumable: an image already in the store (same cache key) is skipped, so an interrupted run picks up
where it stopped. Scales out with accelerate: under `accelerate launch --num_processes N`, each
process renders its own share of the missing images (PartialState.split_between_processes).

The prompt file schema (the contract with models.flux.prompts):
    title = "..."
    [defaults]            model, steps, width, height, guidance_scale, max_sequence_length, seed_policy
    [[sections]]          id, title, commentary
    [[sections.prompts]]  id, text, seed, optional overrides (steps, width, height, guidance_scale,
                          max_sequence_length), commentary, tags, translation
"""

from __future__ import annotations

import os
import time
import tomllib
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from models.flux import FluxError
from models.flux.generate import GenerationParams, Generator
from models.flux.loading import find_model, plan_memory
from models.flux.settings import FluxSettings, load_settings
from models.flux.store import ImageStore

SETTING_KEYS = ("steps", "width", "height", "guidance_scale", "max_sequence_length")
SCHNELL_DEFAULTS: dict[str, Any] = {"steps": 4, "width": 1024, "height": 1024, "guidance_scale": 0.0,
                                    "max_sequence_length": 256}


class RenderError(FluxError):
    """Bad input to render (file, prompt id, settings); the message is one line for the terminal."""


def _default_seed(prompt_id: str) -> int:
    """Seed of a prompt that has none (seed_policy "fixed"): the rule models.flux.prompts uses."""
    try:
        from models.flux.prompts import default_seed
    except ImportError:
        return zlib.crc32(prompt_id.encode("utf-8"))
    return default_seed(prompt_id)


def read_prompt_file(path: str | os.PathLike) -> dict:
    """The prompt file as plain data (tomllib); RenderError with the line on a syntax error."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RenderError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise RenderError(f"{path}: is a folder, not a prompt file") from None
    except OSError as exc:
        raise RenderError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise RenderError(f"{path}: not UTF-8 text (save the file as UTF-8)") from None
    except tomllib.TOMLDecodeError as exc:
        raise RenderError(f"{path}: not valid TOML: {exc} (run `python -m models.flux check {path}`)") from None


def file_model(path: str | os.PathLike) -> str | None:
    """The model named in the file's [defaults] (None when it names none)."""
    defaults = read_prompt_file(path).get("defaults")
    model = defaults.get("model") if isinstance(defaults, dict) else None
    return model.strip() if isinstance(model, str) and model.strip() else None


def iter_render_jobs(path: str | os.PathLike) -> list[tuple[str, dict]]:
    """(prompt_id, GenerationParams keyword arguments without model_id/revision), in file order.

    Settings come from the prompt's overrides, else [defaults], else schnell's values. A prompt
    without a seed gets the stable default seed (seed_policy "fixed"); with seed_policy "random" it
    cannot be rendered reproducibly and is refused. Raises RenderError naming the prompt.
    """
    data = read_prompt_file(path)
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise RenderError(f"{path}: [defaults] must be a table")
    base = {k: defaults.get(k, v) for k, v in SCHNELL_DEFAULTS.items()}
    policy = defaults.get("seed_policy", "fixed")
    sections = data.get("sections", [])
    if not isinstance(sections, list):
        raise RenderError(f"{path}: sections must be written as [[sections]] tables")
    jobs: list[tuple[str, dict]] = []
    seen: set[str] = set()
    for s_index, section in enumerate(sections, 1):
        prompts = section.get("prompts", []) if isinstance(section, dict) else None
        if not isinstance(prompts, list):
            raise RenderError(f"{path}: section {s_index} is not a [[sections]] table with [[sections.prompts]]")
        for p_index, prompt in enumerate(prompts, 1):
            where = f"{path}: prompt {p_index} of section {s_index}"
            if not isinstance(prompt, dict):
                raise RenderError(f"{where} is not a [[sections.prompts]] table")
            pid = prompt.get("id")
            if not isinstance(pid, str) or not pid.strip():
                raise RenderError(f"{where} has no id")
            if pid in seen:
                raise RenderError(f"{path}: prompt id {pid!r} is used twice")
            seen.add(pid)
            text = prompt.get("text")
            if not isinstance(text, str) or not text.strip():
                raise RenderError(f"{path}: prompt {pid!r} has no text")
            seed = prompt.get("seed")
            if seed is None:
                if policy == "random":
                    raise RenderError(f"{path}: prompt {pid!r} has no seed and seed_policy is \"random\": give it a "
                                      "seed (or generate it once in the gallery, which records one)")
                seed = _default_seed(pid)
            kwargs = {"prompt": text, "seed": seed}
            kwargs.update({k: prompt.get(k, base[k]) for k in SETTING_KEYS})
            jobs.append((pid, kwargs))
    return jobs


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

    model: a spec for find_model; default: DC_FLUX_MODEL if set, else the file's [defaults] model,
    else "auto". only: prompt ids to render (all when None). Raises RenderError / FluxError.
    """
    start = time.perf_counter()
    settings = settings or load_settings()
    jobs = iter_render_jobs(path)
    if only:
        wanted = list(dict.fromkeys(only))
        known = {pid for pid, _ in jobs}
        unknown = [pid for pid in wanted if pid not in known]
        if unknown:
            listing = ", ".join(sorted(known)) or "none"
            raise RenderError(f"{path}: unknown prompt id {', '.join(map(repr, unknown))} (ids in the file: {listing})")
        jobs = [(pid, kw) for pid, kw in jobs if pid in set(wanted)]

    spec = model or (settings.model if settings.model != "auto" else None) or file_model(path) or "auto"
    source = find_model(spec, settings)
    store = ImageStore(out if out is not None else settings.output_dir)

    # Full parameters (the model fixes model_id / revision), checked before anything is rendered.
    todo: list[tuple[str, GenerationParams]] = []
    keys: set[str] = set()
    for pid, kwargs in jobs:
        params = GenerationParams(**kwargs, model_id=source.model_id, revision=source.revision)
        try:
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
            log(f"{tag}[{i}/{len(mine)}] rendered {pid} key {params.cache_key()} (seed {params.seed}, "
                f"{params.width}x{params.height}, {result.seconds:.1f} s{trunc}) -> {result.path}")
    if state is not None:
        state.wait_for_everyone()
    seconds = time.perf_counter() - start
    if rank == 0 and not dry_run:
        log(f"done in {seconds:.1f} s" + ("" if world == 1 else " (all processes)"))
    return RenderSummary(total=len(todo), missing=len(missing), rendered=rendered, skipped=len(todo) - len(missing),
                         seconds=seconds, model_label=source.label, process_index=rank, num_processes=world)
