"""CLIP ViT-L/14's tokens of a prompt, offline: what FLUX's CLIP-L text encoder reads (the gallery's
token view), and the vocabulary the text-to-image model's prompts are cut with.

FLUX.1's first tokenizer is OpenAI CLIP ViT-L/14's byte-level BPE (49 408 entries, a 77-token window).
The `open-clip-torch` wheel ships the same BPE merges as `open_clip/bpe_simple_vocab_16e6.txt.gz`
(installed with --no-deps, see requirements-nodeps.txt; the package is never imported, only that
file is read). On first use we derive `vocab.json` + `merges.txt` from it, the files transformers'
CLIPTokenizer loads, and cache them under the output folder.

Speed: importing transformers costs ~2 s, so the tokens are computed with the `tokenizers` library
directly, set up exactly as transformers' CLIPTokenizer sets up its backend (normalizer, split regex,
byte-level, BPE with `</w>` word ends). tests/flux/test_tokens.py checks both give the same ids.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from models.core.atomic import atomic_write_text

CLIP_WINDOW = 77  # CLIP's context: <|startoftext|> + 75 prompt tokens + <|endoftext|>; the rest is cut
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
VOCAB_SIZE = 49408
N_MERGES = VOCAB_SIZE - 256 - 256 - 2  # 48 894: the file's first merges, as OpenAI CLIP uses them
BPE_FILE = "bpe_simple_vocab_16e6.txt.gz"
CACHE_SUBDIR = Path(".tokenizers") / "clip-vit-l-14"  # under the output folder
TOKENIZER_JSON = "tokenizer.json"  # our fast tokenizer, saved (a cache of vocab.json + merges.txt)
# The split rule of transformers' CLIPTokenizer (and OpenAI CLIP): special tokens, English contractions,
# runs of letters, single digits, runs of other non-space characters.
SPLIT_PATTERN = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


class ClipVocabularyMissing(RuntimeError):
    """The BPE file of open-clip-torch is not installed (each family reports it as its own error)."""


@dataclass(frozen=True)
class TokenView:
    """One prompt as a tokenizer cuts it: ids and readable pieces, start/end tokens included.

    `window` is how many tokens the encoder reads; ids past it are cut off (`truncated` of them).
    `unknown` marks pieces the vocabulary does not have (T5's <unk>; CLIP's byte-level BPE has none).
    """

    tokenizer: str  # "CLIP" or "T5"
    ids: tuple[int, ...]
    pieces: tuple[str, ...]
    window: int
    unknown: tuple[bool, ...] = ()

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def truncated(self) -> int:
        """Tokens beyond the window, which the text encoder never sees."""
        return max(0, self.count - self.window)

    @property
    def n_unknown(self) -> int:
        return sum(self.unknown)


# ----------------------------------------------------------------------------- the vocabulary files


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / CLIP's map from each byte to a printable character (byte-level BPE works on these)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) \
        + list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


def bpe_source_file() -> Path:
    """Where open-clip-torch's BPE file is (found without importing open_clip, which needs torchvision)."""
    spec = importlib.util.find_spec("open_clip")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / BPE_FILE
        if path.is_file():
            return path
    raise ClipVocabularyMissing(
        "CLIP's vocabulary is not installed: run `make run` once, or "
        ".venv/bin/pip install --no-deps -r requirements-nodeps.txt")


def vocab_and_merges(bpe_file: str | os.PathLike) -> tuple[dict[str, int], list[str]]:
    """CLIP ViT-L/14's vocabulary and merges from open_clip's BPE file (the recipe in the module docstring)."""
    with gzip.open(bpe_file, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = lines[1:1 + N_MERGES]  # line 0 is a header
    alphabet = list(bytes_to_unicode().values())
    tokens = alphabet + [ch + "</w>" for ch in alphabet] + ["".join(m.split(" ")) for m in merges] + [BOS, EOS]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    if len(vocab) != VOCAB_SIZE:
        raise ClipVocabularyMissing(f"{bpe_file} is not CLIP's BPE file ({len(vocab)} tokens, expected {VOCAB_SIZE})")
    return vocab, merges


def clip_tokenizer_folder(output_dir: str | os.PathLike) -> Path:
    """`vocab.json` + `merges.txt` (transformers' CLIPTokenizer files), built on first use under `output_dir`.

    Each file is written atomically and merges.txt last, so a folder with merges.txt is complete.
    """
    folder = Path(output_dir).expanduser() / CACHE_SUBDIR
    if (folder / "merges.txt").is_file() and (folder / "vocab.json").is_file():
        return folder
    vocab, merges = vocab_and_merges(bpe_source_file())
    atomic_write_text(folder / "vocab.json", json.dumps(vocab, ensure_ascii=False))
    atomic_write_text(folder / "merges.txt", "#version: 0.2\n" + "\n".join(merges) + "\n")
    return folder


# ----------------------------------------------------------------------------- the tokenizer

_lock = threading.Lock()
_tokenizers: dict[Path, object] = {}


def _backend_tokenizer(folder: Path):
    """A `tokenizers.Tokenizer` built as transformers' CLIPTokenizer builds its backend (see module docstring)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import BPE

    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    lines = (folder / "merges.txt").read_text(encoding="utf-8").split("\n")
    merges = [tuple(line.split(" ")) for line in lines[1:] if line]
    tok = Tokenizer(BPE(vocab=vocab, merges=merges, dropout=None, continuing_subword_prefix="",
                        end_of_word_suffix="</w>", fuse_unk=False, unk_token=EOS))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([BOS, EOS])
    tok.post_processor = processors.RobertaProcessing((EOS, vocab[EOS]), (BOS, vocab[BOS]), False, False)
    return tok


def clip_tokenizer(output_dir: str | os.PathLike):
    """The process's CLIP tokenizer (a `tokenizers.Tokenizer`), files built on first use.

    The built tokenizer is also saved as `tokenizer.json` beside the vocabulary: loading that is
    faster than building it again from vocab.json + merges.txt (each cold CLI run does it).
    """
    from tokenizers import Tokenizer

    folder = clip_tokenizer_folder(output_dir).resolve()
    with _lock:
        if folder not in _tokenizers:
            saved = folder / TOKENIZER_JSON
            try:
                tok = Tokenizer.from_file(str(saved))
            except Exception:  # missing, or a damaged file (tokenizers raises its own Exception): build it again
                tok = _backend_tokenizer(folder)
                atomic_write_text(saved, tok.to_str())
            _tokenizers[folder] = tok
        return _tokenizers[folder]


_BYTE_DECODER = {c: b for b, c in bytes_to_unicode().items()}


def readable_piece(piece: str) -> str:
    """A BPE piece as text: byte characters decoded (a split UTF-8 character shows as its bytes, e.g. <e8>)."""
    word_end = piece.endswith("</w>")
    core = piece[:-4] if word_end else piece
    if core in (BOS, EOS):
        return core
    raw = bytes(_BYTE_DECODER.get(ch, 0x3F) for ch in core)
    return _decode_fragments(raw) + ("␣" if word_end else "")


def _decode_fragments(raw: bytes) -> str:
    """UTF-8 text; a byte that is only part of a character (BPE split it) shows as <xx>."""
    out, i = [], 0
    while i < len(raw):
        for n in (4, 3, 2, 1):
            chunk = raw[i:i + n]
            if len(chunk) == n:
                try:
                    out.append(chunk.decode("utf-8"))
                    i += n
                    break
                except UnicodeDecodeError:
                    continue
        else:
            out.append(f"<{raw[i]:02x}>")
            i += 1
    return "".join(out)


def clip_tokens(prompt: str, output_dir: str | os.PathLike) -> TokenView:
    """The CLIP ids and pieces of `prompt`, <|startoftext|> and <|endoftext|> included, not truncated."""
    enc = clip_tokenizer(output_dir).encode(prompt)
    return TokenView(tokenizer="CLIP", ids=tuple(enc.ids), pieces=tuple(enc.tokens), window=CLIP_WINDOW,
                     unknown=tuple(False for _ in enc.ids))
