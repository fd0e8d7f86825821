"""A tiny random-weight pipeline with FLUX.1's exact structure, built offline in about a second.

Why: the real FLUX.1-schnell is ~30 GB and gated; a classroom laptop rarely has it. The tiny
pipeline runs the very same diffusers code path (two text encoders, a FLUX transformer, the FLUX
VAE scaling, the flow-matching Euler scheduler) in ~0.1 s per 64x64 image, so every button of the
gallery works. Its weights are random: its images are noise and must be labelled as a demo.

Tokenizers are built from hand-written vocabularies (no download): byte-level CLIP, Unigram T5.
"""

from __future__ import annotations

import json
import os
import shutil
import string
import tempfile
import threading
from pathlib import Path

from models.flux import FluxError

TINY_MODEL_ID = "tiny-flux-demo"
TINY_REVISION = "v2"  # bump when the recipe below changes: it is part of every image's cache key
MARKER_FILE = "tiny_flux_demo.json"  # written next to model_index.json; marks a folder as the demo
SEED = 0
# Everything a build writes at the top of its folder: a folder holding anything else is not ours to replace.
PIPELINE_ENTRIES = frozenset({MARKER_FILE, "model_index.json", "scheduler", "text_encoder", "text_encoder_2",
                              "tokenizer", "tokenizer_2", "transformer", "vae"})


def is_tiny_pipeline(folder: str | os.PathLike) -> bool:
    """True when `folder` holds a pipeline made by make_tiny_pipeline (any recipe revision)."""
    return (Path(folder) / MARKER_FILE).is_file()


def tiny_revision(folder: str | os.PathLike) -> str | None:
    """The recipe revision a tiny pipeline folder was built with (None if unreadable)."""
    try:
        return json.loads((Path(folder) / MARKER_FILE).read_text()).get("revision")
    except (OSError, ValueError, AttributeError):
        return None


def _clip_tokenizer():
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    # Byte-level vocabulary, no merges: every character is a token, so any prompt tokenizes offline.
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in sorted(ByteLevel.alphabet()):
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault(ch + "</w>", len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _t5_tokenizer():
    from transformers import T5Tokenizer

    # Unigram vocabulary of single printable characters, with and without the word marker "▁".
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    for ch in string.printable.strip():
        pieces += [("\u2581" + ch, -1.0), (ch, -2.0)]
    pieces.append(("\u2581", -3.0))
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=512)


def build_tiny_pipeline():
    """Build the tiny FluxPipeline in memory (deterministic: seeded random weights)."""
    from models.flux.quiet import quiet_libraries

    quiet_libraries()
    import torch
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    tokenizer, tokenizer_2 = _clip_tokenizer(), _t5_tokenizer()
    torch.manual_seed(SEED)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=77, projection_dim=32,
            bos_token_id=0, eos_token_id=1, pad_token_id=1,
        )
    )
    torch.manual_seed(SEED + 1)
    text_encoder_2 = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer_2), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
            relative_attention_num_buckets=8, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1,
        )
    )
    torch.manual_seed(SEED + 2)
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=64, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32,
        guidance_embeds=False, axes_dims_rope=[4, 4, 8],
    )
    torch.manual_seed(SEED + 3)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=16,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8), layers_per_block=1, norm_num_groups=4, sample_size=32,
        use_quant_conv=False, use_post_quant_conv=False,
        mid_block_add_attention=False,  # attention over a 128x128 latent grid would cost ~1 GB at 1024x1024
        shift_factor=0.1159, scaling_factor=0.3611,  # FLUX.1's VAE latent normalisation
    )
    scheduler = FlowMatchEulerDiscreteScheduler(shift=1.0, use_dynamic_shifting=False)
    for model in (text_encoder, text_encoder_2, transformer, vae):
        model.eval()
    return FluxPipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, transformer=transformer,
    )


_build_lock = threading.Lock()


def check_replaceable(folder: Path) -> None:
    """Refuse (FluxError) an existing `folder` that is not a demo pipeline this project wrote.

    The build replaces its target whole, so a target must be new, an empty folder, or a folder
    with our marker file and nothing but what a build writes. Anything else is someone's files
    (DC_TINY_DIR or `make-tiny DIR` pointed at the wrong place) and is never deleted.
    """
    if not folder.exists():
        return
    if not folder.is_dir():
        raise FluxError(f"{folder} is a file, not a demo pipeline this project wrote: refusing to replace it "
                        "(give make-tiny / DC_TINY_DIR a new folder)")
    names = {p.name for p in folder.iterdir()}
    if names and not (MARKER_FILE in names and names <= PIPELINE_ENTRIES):
        shown = ", ".join(sorted(names - PIPELINE_ENTRIES)[:3] or sorted(names)[:3])
        raise FluxError(f"{folder} holds files ({shown}) and is not a demo pipeline this project wrote: refusing "
                        "to delete them (give make-tiny / DC_TINY_DIR a new or empty folder)")


def _complete(folder: Path) -> bool:
    """A finished build of the current recipe (an older revision is rebuilt)."""
    return tiny_revision(folder) == TINY_REVISION and (folder / "model_index.json").is_file()


def make_tiny_pipeline(folder: str | os.PathLike, *, replace_existing: bool = True) -> Path:
    """Build the tiny pipeline and save it to `folder` (replaced atomically); return the folder.

    It is written into a temporary sibling folder first and renamed into place, so a crash never
    leaves a half-written pipeline that would later fail to load. With replace_existing=False a
    complete pipeline that appeared meanwhile (another process built it) is kept and ours dropped.
    An existing folder that is not a pipeline this project wrote is refused (`check_replaceable`).
    """
    folder = Path(folder).expanduser().resolve()  # a link is followed: its target is what would be replaced
    check_replaceable(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    pipe = build_tiny_pipeline()
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        pipe.save_pretrained(tmp)
        (tmp / MARKER_FILE).write_text(
            json.dumps({"model_id": TINY_MODEL_ID, "revision": TINY_REVISION,
                        "note": "random weights: a demo of the pipeline's mechanics, not FLUX output"}, indent=2)
        )
        if folder.exists() and not (replace_existing is False and _complete(folder)):
            check_replaceable(folder)  # again: another process may have put something there meanwhile
            # os.replace cannot replace a non-empty folder: move the old one aside, then delete it.
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}-old-", dir=folder.parent))
            os.replace(folder, old / "x")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, folder)
        except OSError:
            if not _complete(folder):  # not a lost race with another builder: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when the rename succeeded
    return folder


def ensure_tiny_pipeline(folder: str | os.PathLike) -> Path:
    """Return `folder`, building the tiny pipeline there first if missing, incomplete or of an older recipe.

    Safe when several threads or processes (e.g. `accelerate launch`) ask at once: the first complete
    build wins and the others keep it.
    """
    folder = Path(folder).expanduser()
    with _build_lock:
        if not _complete(folder):
            make_tiny_pipeline(folder, replace_existing=False)
    return folder.resolve()
