"""Text-to-image generation: the Generator that makes the image of a GenerationParams (models/flux/params.py).

The Generator holds ONE pipeline per process (FLUX.1-schnell needs tens of GB: two copies would not
fit), loads it on the first request, and serializes requests with a lock; `busy` lets other
sessions say "waiting for the generator". Importing this module is cheap: torch, diffusers and
transformers are imported only when an image is actually computed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from models.flux import FluxError
from models.flux.loading import (
    MemoryPlan, ModelSource, load_pipeline, next_offload_level, plan_memory, resolve_model, weights_folder,
)
from models.flux.params import SCHNELL_MAX_SEQUENCE_LENGTH, BadParams, GenerationParams, random_seed
from models.flux.settings import FluxSettings, load_settings

from models.flux.store import ImageStore, read_metadata
from models.flux.timeline import TimelineRecorder

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

# FLUX latent (16 channels) -> RGB linear projection for cheap step previews, as used by ComfyUI's
# Flux latent format (comfy/latent_formats.py). Far cheaper than a VAE decode; colours are approximate.
FLUX_LATENT_RGB_FACTORS = [
    [-0.0346, 0.0244, 0.0681], [0.0034, 0.0210, 0.0687], [0.0275, -0.0668, -0.0433], [-0.0174, 0.0160, 0.0617],
    [0.0859, 0.0721, 0.0329], [0.0004, 0.0383, 0.0115], [0.0405, 0.0861, 0.0915], [-0.0236, -0.0185, -0.0259],
    [-0.0245, 0.0250, 0.1180], [0.1008, 0.0755, -0.0421], [-0.0515, 0.0201, 0.0011], [0.0428, -0.0012, -0.0036],
    [0.0817, 0.0765, 0.0749], [-0.1264, -0.0522, -0.1103], [-0.0280, -0.0881, -0.0499], [-0.1262, -0.0982, -0.0778],
]
FLUX_LATENT_RGB_BIAS = [-0.0329, -0.0718, -0.0851]


# The demo pipeline's pictures are noise: drawing them at the file's 1024x1024 only burns time (six took
# ~40 s on 2 cores). It renders at most 256 px on the longest side and says so in the image's metadata.
DEMO_RENDER_MAX = 256


def render_size(params: GenerationParams, is_demo: bool) -> tuple[int, int]:
    """(width, height) the pipeline draws: the params' size, or for the demo at most DEMO_RENDER_MAX px
    on the longest side (same aspect, multiples of 16 as FLUX needs)."""
    width, height = params.width, params.height
    if not is_demo or max(width, height) <= DEMO_RENDER_MAX:
        return width, height
    scale = DEMO_RENDER_MAX / max(width, height)
    return max(16, int(width * scale) // 16 * 16), max(16, int(height * scale) // 16 * 16)


def demo_size_note(params: GenerationParams, rendered: tuple[int, int]) -> str | None:
    """"demo rendered at 256×256 (the settings ask 1024×1024)", or None when the size was kept."""
    if rendered == (params.width, params.height):
        return None
    return f"demo rendered at {rendered[0]}×{rendered[1]} (the settings ask {params.width}×{params.height})"


@contextlib.contextmanager
def _one_thread_for_the_demo(is_demo: bool):
    """The demo's layers are tiny: on a busy 2-core machine two torch threads fighting for the cores made
    its VAE decode ~20x slower than one thread. Real FLUX keeps every thread."""
    if not is_demo:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class GeneratorSpec:
    """A Generator's model, settings, memory plan and store folder: plain values a worker process can rebuild it from."""

    model: "str | ModelSource | None"
    settings: FluxSettings
    plan: MemoryPlan | None
    store_root: str | None

    def build(self) -> "Generator":
        return Generator(self.model, settings=self.settings, plan=self.plan,
                         store=ImageStore(self.store_root) if self.store_root is not None else None)


class GenerationCancelled(FluxError):
    """The cancel event was set: generation stopped and nothing was written."""


class OutOfMemory(FluxError):
    """CUDA ran out of memory. `next_plan` is the next offload level to offer (None: none left)."""

    def __init__(self, message: str, next_plan: MemoryPlan | None = None):
        super().__init__(message)
        self.next_plan = next_plan


@dataclass(frozen=True)
class GenerationResult:
    """One finished image and how it was made."""

    image: "Image.Image"
    params: GenerationParams
    path: Path | None  # where the PNG is (None when no store was given)
    truncated_tokens: int = 0  # prompt tokens beyond max_sequence_length that the model never saw
    seconds: float = 0.0
    from_cache: bool = False
    is_demo: bool = False
    prompt_id: str | None = None
    timeline: list = field(default_factory=list)  # TimelineFrame per step (empty when served from the store)


StepCallback = Callable[[int, int, "Image.Image"], None]  # (step, total, preview)


def latents_preview(latents, width: int, height: int, size: int = 256) -> "Image.Image":
    """A cheap RGB preview of packed FLUX latents (batch item 0): linear projection, no VAE.

    Packed latents are (batch, (H/16)*(W/16), 64): 2x2 patches of 16 channels. Unpacking gives a
    16-channel image at 1/8 of the size; FLUX_LATENT_RGB_FACTORS maps 16 channels to RGB in [-1, 1].
    """
    import torch
    from PIL import Image

    lat = latents[:1].detach().to("cpu", torch.float32)
    h, w = height // 16, width // 16
    lat = lat.view(1, h, w, 16, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(16, 2 * h, 2 * w)
    factors = torch.tensor(FLUX_LATENT_RGB_FACTORS)
    bias = torch.tensor(FLUX_LATENT_RGB_BIAS)
    rgb = torch.einsum("chw,cr->hwr", lat, factors) + bias
    pixels = ((rgb.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    image = Image.fromarray(pixels, mode="RGB")
    scale = max(1, size // max(2 * h, 2 * w))
    if scale > 1:
        image = image.resize((2 * w * scale, 2 * h * scale), Image.Resampling.NEAREST)
    return image


class Generator:
    """Owns the process's pipeline; generate() is safe to call from several threads (one at a time).

    model: a spec for resolve_model ("auto", "tiny", a folder, a repo id) or a ModelSource.
    store: an ImageStore; when given, generate() returns a stored image instead of recomputing it,
    and saves every new image there.
    """

    def __init__(
        self,
        model: str | ModelSource | None = None,
        *,
        settings: FluxSettings | None = None,
        store: "ImageStore | None" = None,
        plan: MemoryPlan | None = None,
    ):
        self.settings = settings or load_settings()
        self.store = store
        self._spec = model
        self._source: ModelSource | None = model if isinstance(model, ModelSource) else None
        self._plan = plan
        self._pipe = None
        self._tokenizer = None
        self._lock = threading.Lock()  # held while loading or generating: `busy`
        self._source_lock = threading.Lock()
        self.load_seconds: float | None = None

    def worker_spec(self) -> "GeneratorSpec":
        """What rebuilds this generator in a job worker process (models/flux/worker.py)."""
        model = self._source if self._source is not None else self._spec
        return GeneratorSpec(model, self.settings, self._plan, str(self.store.root) if self.store is not None else None)

    # -- state -------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while an image is being made (or the model loaded) for someone."""
        return self._lock.locked()

    @property
    def loaded(self) -> bool:
        return self._pipe is not None

    @property
    def source(self) -> ModelSource:
        """Where the weights are (resolved on first use; raises ModelNotFound)."""
        with self._source_lock:  # two sessions asking at once must not both build the tiny demo
            if self._source is None:
                self._source = resolve_model(self._spec if isinstance(self._spec, str) else None, self.settings)
            return self._source

    @property
    def plan(self) -> MemoryPlan:
        """How the pipeline is placed in memory (planned on first use; raises InsufficientMemory)."""
        source = self.source
        with self._source_lock:
            if self._plan is None:
                self._plan = plan_memory(source)
            return self._plan

    def params(self, prompt: str, seed: int | None = None, **overrides: Any) -> GenerationParams:
        """GenerationParams for this generator's model (model id and revision filled in).

        seed None draws a random one. The tiny demo defaults to 64x64 (its images are noise anyway).
        """
        src = self.source
        defaults: dict[str, Any] = {"width": 64, "height": 64} if src.is_demo else {}
        defaults.update(overrides)
        return GenerationParams(prompt=prompt, seed=random_seed() if seed is None else seed,
                                model_id=src.model_id, revision=src.revision, **defaults)

    # -- loading -----------------------------------------------------------------------------------

    def load(self) -> None:
        """Load the pipeline now (generate() does it on first use). Raises ModelNotFound / InsufficientMemory."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        if self._pipe is None:
            start = time.perf_counter()
            self._pipe = load_pipeline(self.source, self.plan)
            self.load_seconds = time.perf_counter() - start

    def unload(self) -> None:
        """Drop the pipeline (frees its memory once nothing else refers to it)."""
        with self._lock:
            self._unload_locked()

    def _unload_locked(self) -> None:
        if self._pipe is None:
            return
        self._pipe = None
        import gc

        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def use_plan(self, plan: MemoryPlan) -> None:
        """Switch memory plan (e.g. OutOfMemory.next_plan): the pipeline reloads on the next image."""
        with self._lock:
            self._unload_locked()
            self._plan = plan

    # -- prompts -----------------------------------------------------------------------------------

    def _t5_tokenizer(self):
        if self._pipe is not None:
            return self._pipe.tokenizer_2
        if self._tokenizer is None:
            src = self.source
            from models.flux.quiet import quiet_libraries

            quiet_libraries()
            from transformers import AutoTokenizer

            folder = weights_folder(src)
            if folder is not None:
                self._tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer_2", local_files_only=True)
            else:
                self._tokenizer = AutoTokenizer.from_pretrained(
                    src.repo_id, subfolder="tokenizer_2", revision=src.revision,
                    cache_dir=src.cache_dir, local_files_only=src.local_files_only)
        return self._tokenizer

    def count_tokens(self, prompt: str) -> int:
        """Number of T5 tokens of `prompt`, end-of-text token included (what max_sequence_length limits)."""
        return len(self._t5_tokenizer()(prompt).input_ids)

    def truncated_tokens(self, prompt: str, max_sequence_length: int = SCHNELL_MAX_SEQUENCE_LENGTH) -> int:
        """How many prompt tokens the T5 encoder will drop (0 when the prompt fits)."""
        return max(0, self.count_tokens(prompt) - max_sequence_length)

    # -- generation --------------------------------------------------------------------------------

    def cached(self, params: GenerationParams, prompt_id: str | None = None) -> GenerationResult | None:
        """The stored result for `params`, or None (no store, or not generated yet). Never computes."""
        if self.store is None:
            return None
        path = self.store.get(params)
        if path is None:
            return None
        from PIL import Image

        meta = read_metadata(path)
        with Image.open(path) as im:
            image = im.convert("RGB")
        return GenerationResult(
            image=image, params=params, path=path, truncated_tokens=int(meta.get("truncated_tokens") or 0),
            seconds=0.0, from_cache=True, is_demo=bool(meta.get("is_demo", params.is_demo)),
            prompt_id=prompt_id or meta.get("prompt_id"),
        )

    def generate(
        self,
        params: GenerationParams,
        *,
        on_step: StepCallback | None = None,
        cancel: threading.Event | None = None,
        prompt_id: str | None = None,
    ) -> GenerationResult:
        """Make (or fetch from the store) the image for `params`.

        on_step(step, total, preview) is called after each denoising step with a cheap preview.
        Setting `cancel` stops at the next step with GenerationCancelled; nothing is written.
        Raises BadParams, ModelNotFound, InsufficientMemory, OutOfMemory (with .next_plan).
        """
        params.validate()
        hit = self.cached(params, prompt_id)
        if hit is not None:
            return hit
        # Wait for our turn, but give up at once if the user cancels while waiting.
        while not self._lock.acquire(timeout=0.1):
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled("Cancelled while waiting for the generator.")
        try:
            hit = self.cached(params, prompt_id)  # someone else may have made it while we waited
            if hit is not None:
                return hit
            src = self.source
            if params.model_id != src.model_id or (params.revision or None) != (src.revision or None):
                raise BadParams(
                    f"These parameters are for model {params.model_id}"
                    + (f" @ {params.revision}" if params.revision else "")
                    + f", but the generator uses {src.label}; build them with Generator.params()."
                )
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled("Cancelled before the generation started.")
            self._load_locked()
            return self._generate_locked(params, on_step, cancel, prompt_id)
        finally:
            self._lock.release()

    def _generate_locked(self, params, on_step, cancel, prompt_id) -> GenerationResult:
        import torch

        pipe, src = self._pipe, self.source
        truncated = max(0, len(pipe.tokenizer_2(params.prompt).input_ids) - params.max_sequence_length)

        class _Stop(Exception):
            pass

        def callback(p, step: int, timestep, tensors: dict) -> dict:
            if cancel is not None and cancel.is_set():
                p._interrupt = True  # the pipeline's own flag, in case the exception below is swallowed
                raise _Stop  # stop now: skips the remaining steps and the VAE decode
            if step + 1 < params.steps:  # the last step's x̂₀ is the final image (timeline.py)
                recorder.record(step + 1)
            if on_step is not None:
                on_step(step + 1, params.steps, latents_preview(tensors["latents"], width, height))
            return {}

        width, height = render_size(params, src.is_demo)
        recorder = TimelineRecorder(pipe, width, height)
        start = time.perf_counter()
        try:
            with _one_thread_for_the_demo(src.is_demo), recorder:
                image = pipe(
                    params.prompt,
                    num_inference_steps=params.steps,
                    guidance_scale=params.guidance_scale,  # explicit: the call's default (3.5) is FLUX.1-dev's
                    height=height,
                    width=width,
                    max_sequence_length=params.max_sequence_length,
                    generator=torch.Generator("cpu").manual_seed(params.seed),
                    callback_on_step_end=callback,
                    callback_on_step_end_tensor_inputs=["latents"],
                ).images[0]
        except _Stop:
            pipe.maybe_free_model_hooks()  # put offloaded parts back where the offload hooks expect them
            raise GenerationCancelled("Generation cancelled; no image was saved.") from None
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
            nxt = next_offload_level(self.plan)
            hint = f" Next try: {nxt.summary}" if nxt else " No lighter memory plan is left: try a smaller size."
            raise OutOfMemory(f"The GPU ran out of memory ({self.plan.summary}).{hint}", next_plan=nxt) from None
        if getattr(pipe, "_interrupt", False):  # interrupted without our exception reaching us
            raise GenerationCancelled("Generation cancelled; no image was saved.")
        recorder.record(params.steps, final_image=image)
        seconds = time.perf_counter() - start

        path = None
        if self.store is not None:
            path = self.store.save(image, params, extra={
                "prompt_id": prompt_id, "is_demo": src.is_demo, "truncated_tokens": truncated,
                "seconds": round(seconds, 3), "memory_plan": self.plan.summary,
                "rendered_size": [width, height], "size_note": demo_size_note(params, (width, height)),
            }, timeline=recorder.frames)
        return GenerationResult(image=image, params=params, path=path, truncated_tokens=truncated,
                                seconds=seconds, from_cache=False, is_demo=src.is_demo, prompt_id=prompt_id,
                                timeline=recorder.frames)
