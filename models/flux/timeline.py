"""The step timeline: at each denoising step, the model's current guess of the finished image.

FLUX is a rectified flow: x_t = (1 − t)·x₀ + t·ε, t = 1 is pure noise, and the transformer predicts the
velocity v ≈ ε − x₀. So at every step its best guess of the clean latent is

    x̂₀ = x_t − t·v

(REFERENCE: E[x₀ | x_t] = x − t·v). Decoding x̂₀ with the VAE shows what the model "sees" at each of
schnell's 4 steps: Diffusion Explainer's timestep view, for FLUX. The last Euler step goes from t to 0:
x_final = x_t + (0 − t)·v = x̂₀, so the last step's picture is the image itself (not decoded twice).

How: a forward hook on the transformer reads its inputs (x_t, t) and output (v) at each call; the
pipeline's step callback then decodes that step's x̂₀. Nothing in diffusers is patched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

THUMBNAIL_SIDE = 256  # the timeline's pictures are kept small (longest side, px)


@dataclass
class TimelineFrame:
    step: int  # 1-based
    t: float  # the noise level the prediction was made at (1 = pure noise)
    image: "Image.Image"


def clean_prediction(x_t, t, v):
    """x̂₀ = x_t − t·v for packed latents (batch, tokens, channels) and one t per batch item."""
    return x_t - t.reshape(-1, 1, 1).to(x_t.dtype) * v


def decode_packed(pipe, packed, width: int, height: int) -> "Image.Image":
    """Packed FLUX latents -> PIL image, exactly as FluxPipeline decodes its final latents."""
    import torch

    with torch.no_grad():
        latents = pipe._unpack_latents(packed, height, width, pipe.vae_scale_factor)
        latents = latents / pipe.vae.config.scaling_factor + pipe.vae.config.shift_factor
        image = pipe.vae.decode(latents.to(pipe.vae.dtype), return_dict=False)[0]
        return pipe.image_processor.postprocess(image, output_type="pil")[0]


def small(image: "Image.Image", side: int = THUMBNAIL_SIDE) -> "Image.Image":
    """A copy at most `side` px on its longest side."""
    from PIL import Image

    if max(image.size) <= side:
        return image.copy()
    scale = side / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                        Image.Resampling.LANCZOS)


@dataclass
class TimelineRecorder:
    """Attach to a pipeline for one call; after each step, `record(step)` decodes that step's x̂₀.

    x0_latents keeps the packed x̂₀ of every step (batch item 0) for tests; frames the small pictures.
    """

    pipe: object
    width: int
    height: int
    frames: list[TimelineFrame] = field(default_factory=list)
    x0_latents: list = field(default_factory=list)
    _latest: tuple | None = None
    _handle: object = None

    def __enter__(self) -> "TimelineRecorder":
        def hook(module, args, kwargs, output):
            x_t = kwargs.get("hidden_states", args[0] if args else None)
            t = kwargs.get("timestep")
            v = output[0] if isinstance(output, tuple) else output.sample
            if x_t is not None and t is not None:
                self._latest = (float(t.reshape(-1)[0]), clean_prediction(x_t.detach(), t.detach(), v.detach())[:1])
            return output

        self._handle = self.pipe.transformer.register_forward_hook(hook, with_kwargs=True)
        return self

    def __exit__(self, *exc) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def record(self, step: int, final_image: "Image.Image | None" = None) -> None:
        """Keep step `step`'s picture (pass the last step's final image: it is that step's x̂₀ decoded)."""
        if self._latest is None:
            return
        t, x0 = self._latest
        self.x0_latents.append(x0.to("cpu"))
        picture = final_image if final_image is not None else decode_packed(self.pipe, x0, self.width, self.height)
        self.frames.append(TimelineFrame(step=step, t=t, image=small(picture)))
