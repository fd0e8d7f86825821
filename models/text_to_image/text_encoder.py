"""The text path: FLUX's CLIP BPE tokens → a small learned text encoder → one conditioning vector.

The tokenizer is the real one FLUX's first text encoder reads (49,408 pieces, built offline). The
encoder is tiny and trained with the image model: an embedding per token (all 49,408 of them,
started from random values), a mean over the prompt's tokens, and a small MLP.

Only the rows of tokens that appear in a training caption ever get a gradient, so every other row stays
exactly its random initial value (Adam moves nothing whose gradient was always zero). A prompt made of
such pieces ("семь", "七") is read as noise: that is why the model cannot draw it. The run records the
ids that did appear (`seen`), so "seen / unseen" is a fact of the run, not a guess.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from models.core.clip_tokenizer import CLIP_WINDOW, VOCAB_SIZE, clip_tokenizer, readable_piece

EMPTY_PROMPT = ""  # the unconditional caption (caption dropout, and the u in guidance): just <start><end>
EMBED_INIT_STD = 0.02  # as CLIP initializes its token embeddings: an unseen token stays a faint random vector


def tokenizer_cache() -> Path:
    """Where the CLIP vocabulary files are built on first use: DC_OUTPUT_DIR like the gallery, else a temp folder."""
    value = os.environ.get("DC_OUTPUT_DIR", "").strip()
    return Path(value).expanduser() if value else Path(tempfile.gettempdir()) / "diffusion-classroom"


def token_ids(text: str) -> list[int]:
    """CLIP ids of `text`, <|startoftext|> and <|endoftext|> included, cut to CLIP's 77-token window."""
    ids = clip_tokenizer(tokenizer_cache()).encode(text).ids
    return ids if len(ids) <= CLIP_WINDOW else ids[: CLIP_WINDOW - 1] + ids[-1:]


def token_pieces(text: str) -> list[tuple[int, str]]:
    """(id, readable piece) for each token of `text` (byte fragments of a split character show as <xx>)."""
    enc = clip_tokenizer(tokenizer_cache()).encode(text)
    pairs = list(zip(enc.ids, (readable_piece(p) for p in enc.tokens)))
    return pairs if len(pairs) <= CLIP_WINDOW else pairs[: CLIP_WINDOW - 1] + pairs[-1:]


@dataclass(frozen=True)
class Tokens:
    ids: torch.Tensor   # (N, L) int64, padded with 0
    mask: torch.Tensor  # (N, L) bool, True on real tokens

    def to(self, device) -> "Tokens":
        return Tokens(self.ids.to(device), self.mask.to(device))

    def __getitem__(self, index) -> "Tokens":
        return Tokens(self.ids[index], self.mask[index])


def tokenize(texts: list[str] | tuple[str, ...]) -> Tokens:
    rows = [token_ids(t) for t in texts]
    width = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = True
    return Tokens(ids, mask)


class TextEncoder(nn.Module):
    """Token embeddings, masked mean, MLP → (N, out_dim)."""

    def __init__(self, dim: int = 32, out_dim: int = 64):
        super().__init__()
        self.embed = nn.Embedding(VOCAB_SIZE, dim)
        nn.init.normal_(self.embed.weight, std=EMBED_INIT_STD)  # the "random initial value" of every token
        self.mlp = nn.Sequential(nn.Linear(dim, out_dim), nn.SiLU(), nn.Linear(out_dim, out_dim))

    def forward(self, tokens: Tokens) -> torch.Tensor:
        e = self.embed(tokens.ids)
        m = tokens.mask.unsqueeze(-1).to(e.dtype)
        pooled = (e * m).sum(1) / m.sum(1).clamp_min(1)
        return self.mlp(pooled)


def seen_mask(ids: list[int] | tuple[int, ...]) -> torch.Tensor:
    """A (VOCAB_SIZE,) bool mask from a list of seen ids."""
    mask = torch.zeros(VOCAB_SIZE, dtype=torch.bool)
    if ids:
        mask[torch.tensor(list(ids), dtype=torch.long)] = True
    return mask
