"""Find the FLUX weights on this machine, decide how they fit in memory, and load the pipeline.

Three steps, each testable on its own:
    resolve_model(spec, settings) -> ModelSource (a folder, the Hugging Face cache, or the tiny demo)
    plan_memory(source, ...)   -> MemoryPlan    (a pure function of VRAM / RAM numbers)
    load_pipeline(source, plan) -> FluxPipeline (the only step that imports torch and diffusers)

Nothing here touches the network unless settings.allow_download is on: a missing model fails in
milliseconds with one message that says where we looked and how to get the weights.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from models.flux import FluxError
from models.flux.settings import SCHNELL_REPO_ID, FluxSettings, load_settings
from models.flux.quiet import quiet_libraries
from models.flux.tiny import TINY_MODEL_ID, TINY_REVISION, ensure_tiny_pipeline, is_tiny_pipeline, tiny_revision

GB = 1e9
# Hugging Face staff estimates for FLUX.1-schnell in bfloat16 (model page): ~33 GB fully on the GPU,
# ~24 GB with model CPU offload, ~6 GB with sequential offload + VAE tiling.
GPU_FULL_BYTES = 35 * GB
GPU_MODEL_OFFLOAD_BYTES = 24 * GB
GPU_SEQUENTIAL_BYTES = 4 * GB  # below this a GPU is no help: fall back to MPS / CPU
# Parameter counts: transformer 11.9e9, T5-XXL encoder 4.76e9, CLIP-L 0.12e9, VAE 0.08e9.
SCHNELL_PARAMS = 16.9e9
CPU_FLOAT32_BYTES = SCHNELL_PARAMS * 4  # ~68 GB: float32 on CPU holds every weight in RAM
OFFLOAD_RAM_BYTES = SCHNELL_PARAMS * 2  # ~34 GB: offloaded bfloat16 weights wait in RAM
# ~1.2e14 FLOPs per transformer step at 1024x1024 (2 x 11.9e9 params x 4352 tokens + attention).
FLOPS_PER_IMAGE_1024_4STEPS = 4.8e14
CPU_FLOPS_PER_CORE = 25e9  # float32, a realistic laptop core (AVX2), not the peak

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")


class ModelNotFound(FluxError):
    """The weights are not where we looked (or are incomplete). The message says how to get them."""


class InsufficientMemory(FluxError):
    """This machine cannot hold the model with any plan we know; the message says why."""


@dataclass(frozen=True)
class ModelSource:
    """Where a pipeline's weights are.

    kind: "folder" (a directory with model_index.json), "hf-cache" (a snapshot in the Hugging Face
    cache, or a repo id to download when allowed) or "tiny" (the random-weight demo pipeline).
    path: the folder to load from (None only for a repo to download).
    """

    kind: str
    path: Path | None
    repo_id: str | None = None
    revision: str | None = None
    is_demo: bool = False
    local_files_only: bool = True
    cache_dir: Path | None = None
    note: str | None = None  # e.g. why "auto" fell back to the demo pipeline

    @property
    def model_id(self) -> str:
        """The id recorded in image metadata and cache keys."""
        if self.is_demo:
            return TINY_MODEL_ID
        if self.repo_id:
            return self.repo_id
        return str(self.path)

    @property
    def label(self) -> str:
        """A short human description, for the UI and progress lines."""
        if self.is_demo:
            return "tiny demo pipeline (random weights)"
        if self.kind == "hf-cache":
            rev = f" @ {self.revision[:8]}" if self.revision else ""
            where = "Hugging Face cache" if self.path else "download from the Hub"
            return f"{self.repo_id}{rev} ({where})"
        return f"folder {self.path}"


@dataclass(frozen=True)
class MemoryPlan:
    """How to place the pipeline: device, dtype, offloading. Shown to the user as `summary`."""

    device: str  # "cuda", "cuda:1", "mps" or "cpu"
    dtype: str  # "bfloat16" or "float32" (never float16: FLUX gives black images)
    offload: str = "none"  # "none" | "model" | "sequential"
    vae_tiling: bool = False
    summary: str = ""
    warning: str | None = None
    seconds_per_image: float | None = None  # rough estimate at 1024x1024, 4 steps


# ----------------------------------------------------------------------------- finding the weights


def _snapshot_in_cache(repo_id: str, cache_dir: Path, revision: str | None) -> tuple[Path, str] | None:
    """(snapshot folder, commit) of a cached pipeline, following refs/<revision or main>; None if absent.

    Asks huggingface_hub where model_index.json is in the cache (no network). A snapshot copied by
    hand without refs/main is still found: the newest cached revision that has a pipeline.
    """
    if not (Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))).is_dir():
        return None  # the cache's layout: no such folder, no snapshot (and huggingface_hub's import is skipped)
    from huggingface_hub import CacheNotFound, scan_cache_dir, try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "model_index.json", cache_dir=cache_dir, revision=revision)
    if isinstance(found, str):
        snapshot = Path(found).parent
        return snapshot, snapshot.name
    if revision:  # an explicit revision that is not cached: do not silently use another one
        return None
    try:
        repos = scan_cache_dir(cache_dir).repos
    except CacheNotFound:
        return None
    candidates = [rev for repo in repos if repo.repo_id == repo_id and repo.repo_type == "model"
                  for rev in repo.revisions if (rev.snapshot_path / "model_index.json").is_file()]
    if not candidates:
        return None
    best = max(candidates, key=lambda rev: rev.last_modified)
    return best.snapshot_path, best.commit_hash


def _missing_components(folder: Path) -> list[str]:
    """Component folders that model_index.json lists but the folder lacks (an interrupted download)."""
    try:
        index = json.loads((folder / "model_index.json").read_text())
    except (OSError, ValueError) as exc:
        raise ModelNotFound(f"{folder / 'model_index.json'} is unreadable ({exc}); download the model again") from None
    missing = []
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or None in value:
            continue
        sub = folder / name
        if not sub.is_dir() or not any(sub.iterdir()):
            missing.append(name)
    return missing


def how_to_get_weights(repo_id: str = SCHNELL_REPO_ID) -> str:
    """The one-sentence recipe for getting the real weights, shared by every 'not found' message."""
    return (
        f"To get the weights: accept the licence on https://huggingface.co/{repo_id} if asked, set HF_TOKEN, "
        f"run `hf download {repo_id}` (older huggingface_hub: `huggingface-cli download {repo_id}`; ~34 GB), "
        "or set DC_FLUX_MODEL to a folder that holds the pipeline. "
        "The tiny demo pipeline works offline now: --model tiny or DC_FLUX_MODEL=tiny."
    )


def _tiny_source(settings: FluxSettings, note: str | None = None) -> ModelSource:
    # Nothing is built here (finding a model stays cheap): weights_folder() builds the demo on first use.
    folder = Path(settings.tiny_dir).expanduser().resolve()
    return ModelSource(kind="tiny", path=folder, repo_id=None, revision=TINY_REVISION, is_demo=True, note=note)


def weights_folder(source: ModelSource) -> Path | None:
    """The folder to load `source` from (None: a repo to download); the tiny demo is built there if missing."""
    if source.kind == "tiny":
        return ensure_tiny_pipeline(source.path)
    return source.path


def _folder_source(folder: Path) -> ModelSource:
    if not (folder / "model_index.json").is_file():
        raise ModelNotFound(
            f"{folder} is not a diffusers pipeline folder (no model_index.json in it). " + how_to_get_weights()
        )
    missing = _missing_components(folder)
    if missing:
        raise ModelNotFound(f"{folder} is incomplete: missing {', '.join(missing)}/. " + how_to_get_weights())
    if is_tiny_pipeline(folder):
        return ModelSource(kind="folder", path=folder.resolve(), revision=tiny_revision(folder), is_demo=True)
    return ModelSource(kind="folder", path=folder.resolve())


def _cache_source(repo_id: str, revision: str | None, settings: FluxSettings) -> ModelSource | None:
    cache_dir = settings.resolved_cache_dir
    found = _snapshot_in_cache(repo_id, cache_dir, revision)
    if found is None:
        return None
    snapshot, commit = found
    missing = _missing_components(snapshot)
    if missing:
        raise ModelNotFound(
            f"{repo_id} in the Hugging Face cache ({snapshot}) is incomplete: missing {', '.join(missing)}/ "
            f"(an interrupted download?). Run `hf download {repo_id}` again to finish it."
        )
    return ModelSource(kind="hf-cache", path=snapshot, repo_id=repo_id, revision=commit,
                       is_demo=is_tiny_pipeline(snapshot), cache_dir=cache_dir)


def choose_model_spec(settings: FluxSettings, *, cli_model: str | None = None, file_model: str | None = None) -> str:
    """Which model a run asks for: --model, else DC_FLUX_MODEL unless "auto", else the prompt file's, else "auto"."""
    for spec in (cli_model, None if settings.model.strip().lower() == "auto" else settings.model, file_model):
        if isinstance(spec, str) and spec.strip():
            return spec.strip()
    return "auto"


def resolve_model(spec: str | None = None, settings: FluxSettings | None = None, *,
                  allow_demo: bool = False) -> ModelSource:
    """The one rule for which weights a spec means, without the network (unless downloads are allowed).

    spec: "tiny" (the demo pipeline), "auto" (FLUX.1-schnell from the cache, else the demo), a folder
    path, or a repo id ("org/name" or "org/name@revision") looked up in the Hugging Face cache. None
    means settings.model. allow_demo: when FLUX.1-schnell itself is asked for and is not on this machine,
    use the demo (with a note saying so) instead of raising; the gallery allows it, `render` does not
    (it must not silently draw noise). Raises ModelNotFound with one clear message.
    """
    settings = settings or load_settings()
    spec = (spec if spec is not None else settings.model).strip()
    if spec.lower() in ("tiny", TINY_MODEL_ID):
        return _tiny_source(settings)
    if spec.lower() in ("", "auto"):
        spec, allow_demo, settings = SCHNELL_REPO_ID, True, replace(settings, allow_download=False)
    try:
        return _find_weights(spec, settings)
    except ModelNotFound as exc:
        if not (allow_demo and spec == SCHNELL_REPO_ID):
            raise
        incomplete = "incomplete" in str(exc)
        note = str(exc) if incomplete else (f"{SCHNELL_REPO_ID} is not in the Hugging Face cache "
                                            f"({settings.resolved_cache_dir}): using the tiny demo pipeline, "
                                            "whose images are noise.")
        return _tiny_source(settings, note=note)


def _find_weights(spec: str, settings: FluxSettings) -> ModelSource:
    """A folder, or a repo id in the cache (a source to download when settings allow it)."""
    folder = Path(spec).expanduser()
    if folder.is_dir():
        return _folder_source(folder)
    if _REPO_ID.match(spec) and not spec.startswith((".", "~")):
        repo_id, _, revision = spec.partition("@")
        source = _cache_source(repo_id, revision or None, settings)
        if source is not None:
            return source
        if settings.allow_download:
            return ModelSource(kind="hf-cache", path=None, repo_id=repo_id, revision=revision or None,
                               local_files_only=False, cache_dir=settings.resolved_cache_dir)
        rev = f" at revision {revision}" if revision else ""
        raise ModelNotFound(
            f"Model {repo_id}{rev} is not on this machine: no folder named {spec!r} and not in the Hugging Face "
            f"cache {settings.resolved_cache_dir} (downloads are off; DC_ALLOW_DOWNLOAD=1 allows them). "
            + how_to_get_weights(repo_id)
        )
    raise ModelNotFound(f"Model folder {folder} does not exist. " + how_to_get_weights())


# ----------------------------------------------------------------------------- memory planning


def _probe_cuda_free() -> int:
    import torch

    if not torch.cuda.is_available():
        return 0
    free, _total = torch.cuda.mem_get_info()
    return int(free)


def _probe_ram() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a typical laptop
        return int(16 * GB)


def _probe_mps() -> bool:
    import torch

    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def _gb(n: float) -> str:
    return f"{n / GB:.0f} GB"


def plan_memory(
    source: ModelSource,
    *,
    cuda_free_bytes: int | None = None,
    ram_bytes: int | None = None,
    has_mps: bool | None = None,
    cpu_count: int | None = None,
) -> MemoryPlan:
    """Choose device, dtype and offloading for `source` from the machine's numbers.

    A pure function of its arguments; any left as None is probed from torch / the OS. The tiny demo
    always runs on CPU in float32 (it fits anywhere, and CPU keeps its images identical everywhere).
    Raises InsufficientMemory when only the CPU is left and RAM clearly cannot hold the real model.
    """
    if source.is_demo:
        return MemoryPlan(device="cpu", dtype="float32", summary="Tiny demo pipeline on the CPU (float32).",
                          seconds_per_image=0.2)

    cuda_free = _probe_cuda_free() if cuda_free_bytes is None else cuda_free_bytes
    ram = _probe_ram() if ram_bytes is None else ram_bytes
    cores = (os.cpu_count() or 1) if cpu_count is None else cpu_count
    ram_warning = None
    if ram < OFFLOAD_RAM_BYTES:
        ram_warning = (f"This machine has {_gb(ram)} of RAM; loading FLUX.1-schnell needs about "
                       f"{_gb(OFFLOAD_RAM_BYTES)} and may swap or fail.")

    if cuda_free >= GPU_FULL_BYTES:
        return MemoryPlan("cuda", "bfloat16", "none", False,
                          f"GPU ({_gb(cuda_free)} free): whole pipeline on the GPU in bfloat16.",
                          None, 2.0)
    if cuda_free >= GPU_MODEL_OFFLOAD_BYTES:
        return MemoryPlan("cuda", "bfloat16", "model", False,
                          f"GPU ({_gb(cuda_free)} free): bfloat16, one model at a time on the GPU (model offload).",
                          ram_warning, 10.0)
    if cuda_free >= GPU_SEQUENTIAL_BYTES:
        return MemoryPlan("cuda", "bfloat16", "sequential", True,
                          f"GPU ({_gb(cuda_free)} free): bfloat16, layer by layer (sequential offload) with VAE "
                          "tiling: works on small GPUs but is slow.",
                          ram_warning, 120.0)
    if has_mps if has_mps is not None else _probe_mps():
        warning = None
        if ram < 40 * GB:
            warning = (f"This Mac has {_gb(ram)} of unified memory; FLUX.1-schnell needs about "
                       f"{_gb(OFFLOAD_RAM_BYTES)} plus working space, so it may swap heavily.")
        return MemoryPlan("mps", "bfloat16", "none", False, "Apple GPU (MPS) in bfloat16.", warning, 90.0)

    if ram < 0.9 * CPU_FLOAT32_BYTES:
        gpu = f" and the GPU has only {_gb(cuda_free)} free" if cuda_free > 0 else " and no usable GPU"
        raise InsufficientMemory(
            f"FLUX.1-schnell on the CPU needs about {_gb(CPU_FLOAT32_BYTES)} of RAM in float32, but this machine has "
            f"{_gb(ram)}{gpu}. Use a machine with a GPU (24 GB+ of VRAM is comfortable), or the tiny demo "
            "pipeline (--model tiny) to show the mechanics."
        )
    seconds = FLOPS_PER_IMAGE_1024_4STEPS / (max(cores, 1) * CPU_FLOPS_PER_CORE)
    warning = (f"No GPU: FLUX.1-schnell runs on the CPU in float32, roughly {seconds / 60:.0f} minutes per "
               "1024x1024 image (estimate). Smaller images are proportionally faster.")
    return MemoryPlan("cpu", "float32", "none", False, f"CPU only ({cores} cores, {_gb(ram)} RAM), float32.",
                      warning, seconds)


def next_offload_level(plan: MemoryPlan) -> MemoryPlan | None:
    """The plan to offer after a CUDA out-of-memory error: none -> model -> sequential -> None."""
    if not plan.device.startswith("cuda"):
        return None
    if plan.offload == "none":
        return replace(plan, offload="model", vae_tiling=False, seconds_per_image=10.0,
                       summary="GPU: bfloat16, one model at a time on the GPU (model offload), after running out "
                               "of GPU memory.")
    if plan.offload == "model":
        return replace(plan, offload="sequential", vae_tiling=True, seconds_per_image=120.0,
                       summary="GPU: bfloat16, layer by layer (sequential offload) with VAE tiling, after running "
                               "out of GPU memory: slow.")
    return None


# ----------------------------------------------------------------------------- loading


def load_pipeline(source: ModelSource, plan: MemoryPlan):
    """Load the FluxPipeline of `source` and place it according to `plan`.

    dtype goes through `dtype=` (diffusers >= 0.40). With offloading the pipeline is NOT moved to the
    GPU first (offload hooks move each part when it runs). Raises ModelNotFound if the files cannot
    be loaded and InsufficientMemory if the plan needs an accelerator this machine does not have.
    """
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch

    quiet_libraries()
    from diffusers import FluxPipeline

    if plan.device.startswith("cuda") and not torch.cuda.is_available():
        raise InsufficientMemory(f"The memory plan needs a CUDA GPU ({plan.summary}) but PyTorch sees none.")
    if plan.device == "mps" and not _probe_mps():
        raise InsufficientMemory("The memory plan needs Apple's MPS GPU but PyTorch sees none.")

    folder = weights_folder(source)
    target = str(folder) if folder is not None else source.repo_id
    kwargs: dict = {"dtype": getattr(torch, plan.dtype), "local_files_only": source.local_files_only}
    if source.path is None:
        kwargs.update(cache_dir=str(source.cache_dir) if source.cache_dir else None, revision=source.revision)
    try:
        pipe = FluxPipeline.from_pretrained(target, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        hint = how_to_get_weights(source.repo_id or SCHNELL_REPO_ID)
        raise ModelNotFound(f"Could not load {source.label}: {first}. {hint}") from exc
    except (MemoryError, torch.OutOfMemoryError) as exc:
        raise InsufficientMemory(f"Ran out of memory while loading {source.label}: {plan.summary}") from exc

    if plan.offload == "model":
        pipe.enable_model_cpu_offload(device=plan.device)
    elif plan.offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=plan.device)
    else:
        pipe.to(plan.device)
    if plan.vae_tiling:
        pipe.vae.enable_tiling()
    pipe.set_progress_bar_config(disable=True)
    return pipe
