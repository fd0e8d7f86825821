"""What FLUX's two text encoders read of a prompt: CLIP tokens always, T5 tokens with the real weights.

FLUX.1 encodes a prompt twice: CLIP-L (77-token window, pooled vector) and T5-XXL (the sequence the
transformer attends to, cut at max_sequence_length). The CLIP vocabulary is public and built offline
(models/core/clip_tokenizer.py). T5's is the one inside the weights folder (`tokenizer_2/`): the demo pipeline has a
made-up character vocabulary there, so with the demo we say plainly that the T5 view needs the real
weights instead of showing invented T5 tokens.

Cheap: the `tokenizers` library only (no transformers, no diffusers), so the CLI answers in well under
a second and the gallery can show tokens on every card.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from models.core.clip_tokenizer import ClipVocabularyMissing, TokenView, clip_tokens, readable_piece
from models.flux import FluxError
from models.flux.loading import ModelSource
from models.flux.params import SCHNELL_MAX_SEQUENCE_LENGTH, max_sequence_length_problem, text_problem

T5_NEEDS_WEIGHTS = ("T5 tokens need the real FLUX.1-schnell weights: the demo pipeline's second tokenizer is a "
                    "made-up character vocabulary, not T5's, so no T5 tokens are shown.")
T5_UNK = "<unk>"


@dataclass(frozen=True)
class PromptTokens:
    """A prompt's CLIP view, and its T5 view when the real weights are here (else `t5_note` says why not)."""

    clip: TokenView
    t5: TokenView | None
    t5_note: str | None = None


_t5_lock = threading.Lock()
_t5_tokenizers: dict[Path, object] = {}


def _t5_tokenizer(folder: Path):
    """The pipeline's own T5 tokenizer (`tokenizer_2/tokenizer.json`), loaded once per folder."""
    from tokenizers import Tokenizer

    with _t5_lock:
        if folder not in _t5_tokenizers:
            _t5_tokenizers[folder] = Tokenizer.from_file(str(folder / "tokenizer_2" / "tokenizer.json"))
        return _t5_tokenizers[folder]


def t5_tokens(prompt: str, weights: str | os.PathLike,
              max_sequence_length: int = SCHNELL_MAX_SEQUENCE_LENGTH) -> TokenView:
    """The T5 ids and pieces of `prompt` as the pipeline in folder `weights` tokenizes it (</s> included).

    Pieces the vocabulary lacks become <unk> (their text is kept in `pieces`, marked in `unknown`).
    """
    tok = _t5_tokenizer(Path(weights).resolve())
    unk = tok.token_to_id(T5_UNK)
    enc = tok.encode(prompt)
    return TokenView(tokenizer="T5", ids=tuple(enc.ids), pieces=tuple(enc.tokens), window=int(max_sequence_length),
                     unknown=tuple(i == unk for i in enc.ids))


def t5_unavailable(source: ModelSource | None) -> str | None:
    """Why the T5 view cannot be shown for `source` (None: it can)."""
    if source is None or source.is_demo:
        return T5_NEEDS_WEIGHTS
    if source.path is None or not (Path(source.path) / "tokenizer_2" / "tokenizer.json").is_file():
        return "T5 tokens need the weights on this machine (no tokenizer_2/tokenizer.json in the model folder)."
    return None


def prompt_tokens(prompt: str, *, output_dir: str | os.PathLike, source: ModelSource | None,
                  max_sequence_length: int = SCHNELL_MAX_SEQUENCE_LENGTH) -> PromptTokens:
    """The front door: CLIP tokens (vocabulary cached under `output_dir`), T5 tokens when `source` has them.

    FluxError for what is no prompt: not text, over PROMPT_MAX_CHARS (a 10 MB prompt took 36 s and 1.7 GB
    to tokenize), or a max_sequence_length the model does not take.
    """
    if not isinstance(prompt, str):
        raise FluxError(f"a prompt is text, not {type(prompt).__name__}")
    problem = text_problem(prompt) or max_sequence_length_problem(
        max_sequence_length, (source.model_id if source is not None else None) or "")
    if problem:
        raise FluxError(problem)
    try:
        clip = clip_tokens(prompt, output_dir)
    except ClipVocabularyMissing as exc:
        raise FluxError(str(exc)) from None
    note = t5_unavailable(source)
    if note is not None:
        return PromptTokens(clip=clip, t5=None, t5_note=note)
    return PromptTokens(clip=clip, t5=t5_tokens(prompt, source.path, max_sequence_length))


def shown_pieces(view: TokenView) -> list[str]:
    """Each piece as a student reads it: CLIP bytes decoded (␣ = end of a word), T5 <unk> marked <unk:text>."""
    shown = []
    for piece, is_unk in zip(view.pieces, view.unknown or (False,) * view.count):
        text = readable_piece(piece) if view.tokenizer == "CLIP" else piece
        shown.append(f"<unk:{text}>" if is_unk else text)
    return shown


def count_line(view: TokenView) -> str:
    """"CLIP: 18 of 77 tokens" (+ how many are cut off, how many are <unk>)."""
    cut = f", {view.truncated} cut off" if view.truncated else ""
    unknown = f", {view.n_unknown} <unk>" if view.n_unknown else ""
    return f"{view.tokenizer}: {view.count} of {view.window} tokens{cut}{unknown}"


def format_tokens(view: TokenView) -> list[str]:
    """Plain-text lines for the CLI: the count against the window, the ids, the pieces (cut and <unk> marked)."""
    pieces = [("| " if i == view.window else "") + text for i, text in enumerate(shown_pieces(view))]
    return [
        count_line(view),
        "  ids:    " + " ".join(str(i) for i in view.ids),
        "  pieces: " + " ".join(pieces) + ("   (after | : cut off)" if view.truncated else ""),
    ]
