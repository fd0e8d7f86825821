"""What the page shows, computed here (numpy out, no torch in app/): drawings with the judge's verdict,
a prompt's CLIP pieces marked seen or unseen, the ten-digit grid, and the prepared failure cases."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import judge as J
from .captions import WORDS, attribute_table, intent, measure
from .model import TextToImage
from .sample import DEFAULT_GUIDANCE, DEFAULT_STEPS, generate
from .text_encoder import EMBED_INIT_STD, token_pieces


@dataclass(frozen=True)
class Piece:
    id: int
    text: str   # readable: "seven␣" (␣ = end of a word), byte fragments as <xx>
    seen: bool  # in a training caption of this run (else its embedding is still its random start)


def pieces(text: str, seen_ids: frozenset[int] | set[int]) -> list[Piece]:
    return [Piece(i, p, i in seen_ids) for i, p in token_pieces(text)]


@dataclass(frozen=True)
class Drawn:
    images: np.ndarray            # (n, 8, 8) in [0, 1], 0 = background
    previews: list[np.ndarray]    # per step: x̂₀ = x_t − t·v, (n, 8, 8)
    times: list[float]            # t at the start of each step, then 0
    judged: list[int]             # the judge's digit for each image
    digit: int | None             # what an English prompt asks for (None: no single digit named)
    attributes: tuple[str, ...]   # the attributes it asks for
    has_attributes: list[bool]    # per image: measured with every asked attribute

    @property
    def accuracy(self) -> float | None:
        """The share judged to be the asked digit (None when no digit is asked)."""
        if self.digit is None or not self.judged:
            return None
        return sum(j == self.digit for j in self.judged) / len(self.judged)

    @property
    def hit_rate(self) -> float | None:
        """The share judged the asked digit AND measured with every asked attribute."""
        if self.digit is None or not self.attributes or not self.judged:
            return None
        return sum(j == self.digit and a for j, a in zip(self.judged, self.has_attributes)) / len(self.judged)


def draw(model: TextToImage, prompt: str, *, n: int = 8, steps: int = DEFAULT_STEPS,
         guidance: float = DEFAULT_GUIDANCE, seed: int = 0) -> Drawn:
    s = generate(model, prompt, n=n, steps=steps, guidance=guidance, seed=seed, timeline=True)
    digit, attrs = intent(prompt)
    flags = measure(s.images).flags
    has = [all(bool(flags[a][i]) for a in attrs) for i in range(n)]
    return Drawn(images=s.images.numpy(), previews=[p.numpy() for p in s.previews], times=s.times,
                 judged=J.judge().classify(s.images).tolist(), digit=digit, attributes=attrs, has_attributes=has)


def digit_grid(model: TextToImage, seed: int = 0) -> np.ndarray:
    """"zero" … "nine", one image each, all from the same starting noise: (10, 8, 8)."""
    return np.concatenate([generate(model, w, n=1, seed=seed).images.numpy() for w in WORDS])


def embedding_norms(model: TextToImage, ids: list[int]) -> list[float]:
    """The length of each token's embedding: seen pieces grew in training, unseen ones kept their start."""
    return model.text.embed.weight.detach()[ids].norm(dim=1).tolist()


START_NORM = EMBED_INIT_STD * 32 ** 0.5  # the expected length of an untouched 32-d embedding: ≈ 0.11


def bias_table() -> dict[str, list[float]]:
    return attribute_table()


@dataclass(frozen=True)
class FailureCase:
    title: str
    prompt: str
    asked: int                    # the digit a reader would expect
    attributes: tuple[str, ...]
    commentary: str
    echoes: str | None            # the Part 1 prompt it mirrors, if one does


FAILURES = (
    FailureCase(
        "Words it never read (mixed scripts)", "семь 七, digit", 7, (),
        "Russian *семь* and Chinese *七* both mean seven. CLIP's tokenizer cuts them into byte fragments, and "
        "not one of those fragments was in a training caption: their embeddings are still the small random "
        "vectors they started as. Only *digit* and the start/end tokens carry meaning, so the model has "
        "almost nothing to go on: it draws a vague average digit (the judge mostly calls it an 8), not a seven.",
        "пастораль 节日, illustration"),
    FailureCase(
        "A combination rare in the data (bias)", "an upright six", 6, ("upright",),
        "Both words were learnt, but only 1 % of the real sixes measure upright (the table below): "
        "the model learnt sixes as slanted, and the prompt cannot pull it to something it has hardly "
        "seen. Compare *a thick seven*: only 14 % of sevens are thick, yet *thick* was learnt from every "
        "digit, and it works.",
        "a witch holding up a black hole, illustration"),
    FailureCase(
        "A request outside the data", "a cat", -1, (),
        "*cat* is not in any caption: its embedding is untouched, and the model can only draw digits. "
        "Whatever it shows is a digit the judge can name, because digits are all it has ever seen.",
        None),
)


def timeline_rows(drawn: Drawn, max_rows: int = 4) -> np.ndarray:
    """The step timeline as one picture's tiles: a row per image (at most `max_rows`), a column per step."""
    stack = np.stack(drawn.previews, axis=1)[:max_rows]  # (rows, steps, 8, 8)
    return stack.reshape(-1, 8, 8)
