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
from models.flux.params import GenerationParams
from models.flux.store import params_from_metadata, read_metadata

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# 4096 x 4096: twice the largest FLUX size per side. Metadata written after the pixels makes PIL decode
# the image to find it, so this also bounds that (64 MB of RGBA at most).
MAX_RECALL_PIXELS = 4096 * 4096


class RecallRefused(FluxError, ValueError):
    """The PNG cannot be recalled; the message says why in one line."""


@dataclass(frozen=True)
class Recalled:
    """The checked parameters of a PNG. `params.model_id` is the lesson's model; `made_with` is the
    model the metadata names (shown only), `source` the kind of metadata it was read from."""

    params: GenerationParams
    made_with: str | None
    source: str


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
    return Recalled(params, made_with, str(meta.get("source")))
