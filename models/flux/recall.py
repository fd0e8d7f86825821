"""Recall: the generation parameters of an uploaded PNG, checked before anything trusts them.

A PNG comes from anywhere (this app, AUTOMATIC1111, Forge, a student's hex editor), and a recalled prompt
can be added to the shared lesson file. So:

* its pixel count is read from the PNG header (the IHDR chunk, the first bytes of the file) and a huge
  image is refused before any library decodes or allocates it;
* its metadata may hold anything ("params": 5, a list as the prompt, "guidance_scale": "x"): the
  recalled values must pass the one schema (GenerationParams.problems) for the model of the lesson
  file, or the PNG is refused with one line saying why.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from models.flux import FluxError
from models.flux.params import SCHNELL_SETTINGS, GenerationParams
from models.flux.store import SAMPLER, params_from_metadata, read_metadata

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# 4096 x 4096: twice the largest FLUX size per side. Metadata written after the pixels makes PIL decode
# the image to find it, so this also bounds that (64 MB of RGBA at most).
MAX_RECALL_PIXELS = 4096 * 4096


class RecallRefused(FluxError, ValueError):
    """The PNG cannot be recalled; the message says why in one line."""


@dataclass(frozen=True)
class Recalled:
    """The checked parameters of a PNG. `params.model_id` is the lesson's model; `made_with` is the
    model the metadata names (shown only), `source` the kind of metadata it was read from; `notes` says
    what was dropped or changed on the way (an A1111 PNG's negative prompt, its 20 steps, CFG 7, ...)."""

    params: GenerationParams
    made_with: str | None
    source: str
    notes: tuple[str, ...] = ()

    @property
    def differs_from_schnell(self) -> bool:
        return (self.params.steps, self.params.guidance_scale) != (SCHNELL_SETTINGS["steps"],
                                                                   SCHNELL_SETTINGS["guidance_scale"])


def with_schnell_values(params: GenerationParams) -> GenerationParams:
    """The recalled prompt, seed and size with schnell's own steps (4) and guidance_scale (0, which it ignores)."""
    return replace(params, steps=SCHNELL_SETTINGS["steps"], guidance_scale=SCHNELL_SETTINGS["guidance_scale"])


def recall_notes(meta: dict, params: GenerationParams) -> tuple[str, ...]:
    """One sentence per thing that does not carry over from the PNG's tool to this lesson's model."""
    notes = []
    negative = meta.get("negative_prompt")
    if isinstance(negative, str) and negative.strip():
        notes.append(f"Dropped the negative prompt “{negative.strip()}”: FLUX.1-schnell takes none "
                     "(it runs without guidance, so there is no second pass to steer away from it).")
    if params.steps != SCHNELL_SETTINGS["steps"]:
        notes.append(f"Copied {params.steps} steps; schnell is distilled for 1 to 4 steps (4 is its setting).")
    if params.guidance_scale != SCHNELL_SETTINGS["guidance_scale"]:
        notes.append(f"Copied CFG scale {params.guidance_scale:g}; schnell has no guidance input and ignores it "
                     "(each step is one conditional pass).")
    made_with = meta.get("model_id")
    if isinstance(made_with, str) and made_with and made_with != params.model_id:
        notes.append(f"Made with {made_with}; drawn here with {params.model_id}: the same prompt and seed give "
                     "a different picture with another model.")
    sampler = meta.get("sampler")
    if isinstance(sampler, str) and sampler and sampler != SAMPLER:
        notes.append(f"Sampler “{sampler}” is not used: FLUX samples with {SAMPLER}.")
    return tuple(notes)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header, without decoding anything; RecallRefused when it is no PNG."""
    if not data.startswith(PNG_SIGNATURE) or len(data) < 24 or data[12:16] != b"IHDR":
        raise RecallRefused("this is not a PNG file")
    return struct.unpack(">II", data[16:24])


def recall_params(data: bytes, model_id: str) -> Recalled:
    """The parameters stored in a PNG (its bytes), checked for drawing with `model_id` (the lesson's model)."""
    width, height = png_size(data)
    if width * height > MAX_RECALL_PIXELS:
        raise RecallRefused(f"the image is {width}×{height} pixels: too large to read here "
                            f"(at most {MAX_RECALL_PIXELS:,} pixels)")
    try:
        meta = read_metadata(data)
        recalled = params_from_metadata(meta)
    except (ValueError, TypeError, OSError, SyntaxError, EOFError, struct.error) as exc:
        # read_metadata trusts the JSON chunk's shape ("params": 5 raises TypeError): any of these
        # means the metadata is not something this app wrote or can read.
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RecallRefused(f"its metadata cannot be read ({message})") from None
    made_with = meta.get("model_id") if isinstance(meta.get("model_id"), str) else None
    params = replace(recalled, model_id=model_id, revision=None)
    problems = params.problems()
    if problems:
        raise RecallRefused(f"its parameters are not usable here: {problems[0]}")
    return Recalled(params, made_with, str(meta.get("source")), notes=recall_notes(meta, params))
