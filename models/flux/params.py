"""The parameters of one image and their limits: written once, used by the prompt files, the gallery,
`render`, `check`, the image store and the generator alike.

GenerationParams is everything that determines an image; its cache_key() names the PNG on disk, so
asking twice for the same image returns the file instead of recomputing it.

Each `*_problem` function returns why a value is unusable (one line, naming the key as it is written
in a prompt file) or None. `check` reports them with the file's line; GenerationParams.validate raises
the first one as BadParams.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import asdict, dataclass, fields
from typing import Any

from models.flux import FluxError
from models.flux.settings import SCHNELL_REPO_ID
from models.flux.tiny import TINY_MODEL_ID

# Seeds: torch.Generator.manual_seed takes up to 2**64 - 1, but a seed must also fit in a prompt file
# (TOML integers are signed 64-bit) so that any image's seed can be written back as `seed` or `chosen`.
SEED_MAX = 2**63 - 1
STEPS_MIN, STEPS_MAX = 1, 50
# Sizes: multiples of 16 because FLUX packs 2x2 patches of the 8x-downsampled latent; 256-2048 is the
# range of the official demo. The tiny demo pipeline also draws small images (its pictures are noise).
SIZE_MIN, SIZE_MAX, SIZE_MULTIPLE = 256, 2048, 16
TINY_SIZE_MIN = 16
SCHNELL_MAX_SEQUENCE_LENGTH = 256  # schnell was distilled with 256 T5 tokens
PIPELINE_MAX_SEQUENCE_LENGTH = 512  # what the FLUX pipeline accepts (FLUX.1-dev)
# Guidance: schnell ignores it; FLUX.1-dev is used around 3.5. Beyond 20 only burns the image.
GUIDANCE_MAX = 20.0
# Far beyond what the text encoders read (T5: 256 tokens here), but it keeps a recalled PNG or a pasted
# page of text from filling the shared lesson file.
PROMPT_MAX_CHARS = 5000
MAX_VARIATIONS = 8  # "New seeds" on the gallery page makes at most this many images at once

# The values FLUX.1-schnell is meant to be run with (the pipeline's own defaults are tuned for FLUX.1-dev).
SCHNELL_SETTINGS: dict[str, Any] = {
    "steps": 4,
    "width": 1024,
    "height": 1024,
    "guidance_scale": 0.0,
    "max_sequence_length": 256,
}
SETTING_KEYS = tuple(SCHNELL_SETTINGS)  # the keys a prompt may override


class BadParams(FluxError, ValueError):
    """A generation parameter is out of range; the message names it and the allowed values."""


def random_seed() -> int:
    """A fresh seed for the "randomize" button (32 bits: easy to read aloud and type back)."""
    return secrets.randbelow(2**32)


def is_demo_model(model_id: str) -> bool:
    return isinstance(model_id, str) and model_id.strip().lower() in ("tiny", TINY_MODEL_ID)


def max_sequence_length_for(model_id: str) -> int:
    schnell_like = is_demo_model(model_id) or "schnell" in str(model_id).lower()
    return SCHNELL_MAX_SEQUENCE_LENGTH if schnell_like else PIPELINE_MAX_SEQUENCE_LENGTH


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ----------------------------------------------------------------------------- one check per value


def prompt_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"prompt text must be text in quotes, not {type(value).__name__}"
    if not value.strip():
        return "prompt text is empty"
    return text_problem(value)


def text_problem(value: str) -> str | None:
    """What no tokenizer should be given: over PROMPT_MAX_CHARS, or bytes that are no text (a shell's
    $'\\xff' reaches Python as lone surrogates)."""
    if len(value) > PROMPT_MAX_CHARS:
        return f"prompt text is {len(value)} characters long: at most {PROMPT_MAX_CHARS}"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "prompt text holds bytes that are not UTF-8 text"
    return None


def seed_problem(value: Any) -> str | None:
    if not _is_int(value) or not 0 <= value <= SEED_MAX:
        return f"seed must be a whole number from 0 to {SEED_MAX}, not {value!r}"
    return None


def steps_problem(value: Any) -> str | None:
    if not _is_int(value) or not STEPS_MIN <= value <= STEPS_MAX:
        return f"steps must be a whole number from {STEPS_MIN} to {STEPS_MAX} (schnell: 4), not {value!r}"
    return None


def size_problem(key: str, value: Any, model_id: str) -> str | None:
    """`key` is "width" or "height"."""
    low = TINY_SIZE_MIN if is_demo_model(model_id) else SIZE_MIN
    if not _is_int(value):
        return f"{key} must be a whole number of pixels, not {value!r}"
    if not low <= value <= SIZE_MAX:
        demo_only = "" if low == TINY_SIZE_MIN else f" (sizes below {SIZE_MIN} are only for the tiny demo pipeline)"
        return f"{key} {value} is outside {low}-{SIZE_MAX}{demo_only}"
    if value % SIZE_MULTIPLE:
        lower = value - value % SIZE_MULTIPLE
        return f"{key} {value} is not a multiple of {SIZE_MULTIPLE} (try {lower} or {lower + SIZE_MULTIPLE})"
    return None


def guidance_problem(value: Any) -> str | None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not 0 <= value <= GUIDANCE_MAX:
        return f"guidance_scale must be a number from 0 to {GUIDANCE_MAX:g}, not {value!r}"
    return None


def max_sequence_length_problem(value: Any, model_id: str) -> str | None:
    limit = max_sequence_length_for(model_id)
    if not _is_int(value) or value < 1:
        return f"max_sequence_length must be a whole number from 1 to {limit}, not {value!r}"
    if value > limit:
        why = ("FLUX.1-schnell was trained with at most" if limit == SCHNELL_MAX_SEQUENCE_LENGTH
               else "the FLUX pipeline accepts at most")
        return f"max_sequence_length {value} is too long: {why} {limit} tokens (from 1 to {limit})"
    return None


def setting_problem(key: str, value: Any, model_id: str) -> str | None:
    """The check of one of SETTING_KEYS (a [defaults] value or a prompt's override)."""
    if key in ("width", "height"):
        return size_problem(key, value, model_id)
    if key == "steps":
        return steps_problem(value)
    if key == "guidance_scale":
        return guidance_problem(value)
    if key == "max_sequence_length":
        return max_sequence_length_problem(value, model_id)
    raise KeyError(f"{key!r} is not one of {', '.join(SETTING_KEYS)}")


# ----------------------------------------------------------------------------- the parameters


@dataclass(frozen=True)
class GenerationParams:
    """Everything that determines one image. Defaults are FLUX.1-schnell's settings.

    Values are kept exactly as given (a `seed = 5.0` from a file stays 5.0): validate() refuses them,
    nothing converts them silently.
    """

    prompt: str
    seed: int
    steps: int = 4
    width: int = 1024
    height: int = 1024
    guidance_scale: float = 0.0
    max_sequence_length: int = 256
    model_id: str = SCHNELL_REPO_ID
    revision: str | None = None

    def cache_key(self) -> str:
        """Content hash of exactly the fields that change the pixels (24 hex digits); the PNG's name."""
        content = {
            "model_id": self.model_id,
            "revision": self.revision,
            "prompt": self.prompt,
            "seed": int(self.seed),
            "steps": int(self.steps),
            "size": [int(self.width), int(self.height)],
            "guidance_scale": float(self.guidance_scale),
            "max_sequence_length": int(self.max_sequence_length),
        }
        blob = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]

    @property
    def is_demo(self) -> bool:
        return self.model_id == TINY_MODEL_ID

    def problems(self) -> list[str]:
        """Every unusable field, one message each (empty when the parameters can be generated)."""
        found = [prompt_problem(self.prompt), seed_problem(self.seed)]
        found += [setting_problem(key, getattr(self, key), self.model_id) for key in SETTING_KEYS]
        if not isinstance(self.model_id, str) or not self.model_id:
            found.append("model_id is empty")
        return [p for p in found if p]

    def validate(self) -> "GenerationParams":
        """Raise BadParams with a student-readable message if any field is unusable; return self."""
        problems = self.problems()
        if problems:
            raise BadParams(problems[0] + ".")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GenerationParams":
        """Build from a dict (e.g. image metadata); unknown keys are ignored, missing ones take defaults."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
