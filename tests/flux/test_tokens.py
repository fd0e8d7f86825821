"""FLUX's CLIP tokens, offline, from open-clip-torch's BPE file; T5 tokens only with real weights."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from models.core.clip_tokenizer import (
    CLIP_WINDOW, VOCAB_SIZE, clip_tokenizer_folder, clip_tokens, readable_piece,
)
from models.flux.tokens import T5_NEEDS_WEIGHTS, format_tokens, prompt_tokens, t5_tokens
from tests.helpers import run_python

CAT = "a photo of a cat"
MIXED = "пастораль 节日, illustration"
TRUMP = "a suit of Trump playing cards"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("tokens-out")


def test_reference_ids_of_flux_clip_tokenizer(out):
    assert clip_tokens(CAT, out).ids == (49406, 320, 1125, 539, 320, 2368, 49407)
    mixed = clip_tokens(MIXED, out)
    assert mixed.ids == (49406, 26302, 16912, 23669, 17875, 13506, 16370, 31090, 119, 141, 490, 164, 232, 224,
                         37156, 267, 6052, 49407)
    assert mixed.count == 18 and mixed.truncated == 0 and mixed.window == CLIP_WINDOW == 77
    shown = [readable_piece(p) for p in mixed.pieces]
    # "пастораль" falls apart into letters and byte fragments; "节" into its three UTF-8 bytes.
    assert shown[1:7] == ["п", "а", "с", "т", "о", "р"]
    assert shown[11:15] == ["<e8>", "<8a>", "<82>", "日␣"]
    assert shown[-2] == "illustration␣" and shown[0] == "<|startoftext|>" and shown[-1] == "<|endoftext|>"
    assert "trump</w>" in clip_tokens(TRUMP, out).pieces  # CLIP lowercases


def test_vocabulary_files_are_built_once_and_complete(out):
    folder = clip_tokenizer_folder(out)
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    merges = (folder / "merges.txt").read_text(encoding="utf-8").split("\n")
    assert len(vocab) == VOCAB_SIZE == 49408 and vocab["<|startoftext|>"] == 49406 and vocab["<|endoftext|>"] == 49407
    assert merges[0] == "#version: 0.2" and len([m for m in merges[1:] if m]) == 48894
    before = (folder / "vocab.json").stat().st_mtime_ns
    assert clip_tokenizer_folder(out) == folder and (folder / "vocab.json").stat().st_mtime_ns == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_same_tokens_as_transformers_clip_tokenizer(out):
    from transformers import CLIPTokenizer

    reference = CLIPTokenizer.from_pretrained(str(clip_tokenizer_folder(out)))
    for prompt in (CAT, MIXED, TRUMP, "It's 2026!  Ünïcödé\ttabs — and <|endoftext|> inside", "", "x" * 300):
        ours = clip_tokens(prompt, out)
        ids = reference(prompt).input_ids
        assert list(ours.ids) == ids, prompt
        assert list(ours.pieces) == reference.convert_ids_to_tokens(ids), prompt


def test_long_prompt_counts_against_the_77_token_window(out):
    view = clip_tokens("cat " * 100, out)
    assert view.count == 102 and view.truncated == 102 - 77
    lines = format_tokens(view)
    assert lines[0] == "CLIP: 102 of 77 tokens, 25 cut off"
    assert lines[2].split().index("|") == 1 + 77  # the cut is marked after the 77th piece


def test_t5_view_needs_real_weights(out, tiny_dir, tmp_path, flux_helpers):
    from models.flux.loading import resolve_model
    from models.flux.settings import FluxSettings

    demo = resolve_model("tiny", FluxSettings(tiny_dir=tiny_dir))
    tokens = prompt_tokens(MIXED, output_dir=out, source=demo)
    assert tokens.t5 is None and tokens.t5_note == T5_NEEDS_WEIGHTS
    # A pipeline folder that does not say it is the demo stands in for real weights: its own T5
    # tokenizer is used, and the pieces it does not know are <unk> (id 2).
    real = flux_helpers.copy_without_marker(tiny_dir, tmp_path / "weights")
    source = resolve_model(str(real), FluxSettings(tiny_dir=tiny_dir))
    tokens = prompt_tokens(MIXED, output_dir=out, source=source, max_sequence_length=8)
    t5 = tokens.t5
    assert tokens.t5_note is None and t5.window == 8 and t5.ids[-1] == 1  # </s>
    assert [p for p, unk in zip(t5.pieces, t5.unknown) if unk] == ["пастораль", "节日"]
    assert t5.n_unknown == 2 and t5.truncated == t5.count - 8
    assert t5_tokens(MIXED, real, 8) == t5
    assert format_tokens(t5)[0] == f"T5: {t5.count} of 8 tokens, {t5.count - 8} cut off, 2 <unk>"


def test_cli_tokens_without_diffusers_or_transformers(cli_env):
    code = ("import sys; from models.flux.cli import main; rc = main(['tokens', 'a photo of a cat']); "
            "print('LOADED', sorted(m for m in ('diffusers', 'transformers', 'torch', 'open_clip') if m in sys.modules)); "
            "sys.exit(rc)")
    run = run_python(code, env=cli_env, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "CLIP: 7 of 77 tokens"
    assert lines[1].split()[1:] == ["49406", "320", "1125", "539", "320", "2368", "49407"]
    assert lines[3] == f"T5: {T5_NEEDS_WEIGHTS}"
    assert lines[-1] == "LOADED []"


@pytest.fixture
def tokens_cli(flux_cli):
    """`python -m models.flux tokens ...` in this process: (exit status, stdout, stderr)."""
    return lambda *args: flux_cli("tokens", *args)


def test_cli_tokens_refuses_bytes_that_are_no_text_in_one_line(cli_env):
    """A shell's $'\\xff\\xfe' reaches Python as lone surrogates: one line, exit 2, no 'internal error'."""
    run = subprocess.run([sys.executable.encode(), b"-m", b"models.flux", b"tokens", b"\xff\xfe"],
                         capture_output=True, env=cli_env, timeout=60)
    err = run.stderr.decode("utf-8", "replace")
    assert run.returncode == 2 and err.count("\n") == 1 and "internal error" not in err, err
    assert "UTF-8" in err and run.stdout == b""


@pytest.mark.parametrize("value", ["0", "-5", "513", "257", "100000000000000000000"])
def test_cli_tokens_max_sequence_length_is_bounded(tokens_cli, value):
    rc, out, err = tokens_cli("a cat", "--max-sequence-length", value)
    assert rc == 2 and out == "" and err.count("\n") == 1, (rc, out, err)
    assert "from 1 to 256" in err


def test_tokenizing_is_capped(tokens_cli, out):
    from models.flux import FluxError
    from models.flux.params import PROMPT_MAX_CHARS

    rc, stdout, err = tokens_cli("cat " * PROMPT_MAX_CHARS)
    assert rc == 2 and stdout == "" and f"at most {PROMPT_MAX_CHARS}" in err and err.count("\n") == 1
    with pytest.raises(FluxError, match=f"at most {PROMPT_MAX_CHARS}"):
        prompt_tokens("x" * (PROMPT_MAX_CHARS + 1), output_dir=out, source=None)
    assert tokens_cli("a cat", "--max-sequence-length", "256")[0] == 0
