"""The image store: PNG metadata (A1111 + JSON), parsing other tools' A1111 text, atomic writes, listing."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from models.flux import store as store_module
from models.flux.params import GenerationParams
from models.flux.store import (
    DEMO_LABEL, ImageStore, a1111_parameters, params_from_metadata, parse_a1111, read_metadata, thumbnail,
)


def picture(seed: int = 0, size=(32, 24)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def params(prompt="a cat in a hat", seed=1, **kw) -> GenerationParams:
    return GenerationParams(prompt=prompt, seed=seed, **kw)


def png_bytes(text_chunks: dict[str, str]) -> bytes:
    info = PngInfo()
    for k, v in text_chunks.items():
        info.add_text(k, v)
    out = io.BytesIO()
    picture().save(out, format="PNG", pnginfo=info)
    return out.getvalue()


# ----------------------------------------------------------------------------- A1111 text


def test_a1111_text_of_our_params():
    p = params("a cat, in a hat\nsecond line", seed=42, width=512, height=768)
    assert a1111_parameters(p) == (
        "a cat, in a hat\nsecond line\n"
        "Steps: 4, Sampler: flow-match euler, CFG scale: 0, Seed: 42, Size: 512x768, "
        "Model: black-forest-labs/FLUX.1-schnell, Max sequence length: 256")
    back = parse_a1111(a1111_parameters(p))
    assert params_from_metadata(back) == p  # a round trip through the text alone


def test_parse_external_a1111_with_negative_prompt_and_extra_keys():
    text = ("masterpiece, best quality, a cat\nwearing a hat, (detailed:1.2)\n"
            "Negative prompt: lowres, bad anatomy,\nblurry\n"
            "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234567890, Size: 512x768, "
            "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
            'Lora hashes: "add_detail: 7c6bad76eb54, more_details: 3b8aa1d351ef", Version: v1.6.0')
    meta = parse_a1111(text)
    assert meta["prompt"] == "masterpiece, best quality, a cat\nwearing a hat, (detailed:1.2)"
    assert meta["negative_prompt"] == "lowres, bad anatomy,\nblurry"
    assert (meta["steps"], meta["seed"], meta["width"], meta["height"]) == (20, 1234567890, 512, 768)
    assert meta["guidance_scale"] == 7.0 and meta["model_id"] == "v1-5-pruned-emaonly"
    assert meta["sampler"] == "DPM++ 2M Karras"
    assert meta["extra"] == {"Model hash": "6ce0161689", "Version": "v1.6.0",
                             "Lora hashes": "add_detail: 7c6bad76eb54, more_details: 3b8aa1d351ef"}


def test_parse_external_a1111_variants():
    flux = parse_a1111("a photo of a cat\nSteps: 28, Sampler: Euler, Schedule type: Simple, CFG scale: 1, "
                       "Distilled CFG Scale: 3.5, Seed: 7, Size: 1024x1024, Model: flux1-dev-bnb-nf4")
    assert (flux["prompt"], flux["seed"], flux["steps"], flux["guidance_scale"]) == ("a photo of a cat", 7, 28, 1.0)
    assert flux["extra"]["Distilled CFG Scale"] == "3.5" and flux["negative_prompt"] is None
    just_prompt = parse_a1111("only a prompt, with a comma")
    assert just_prompt["prompt"] == "only a prompt, with a comma" and just_prompt["seed"] is None
    odd = parse_a1111("x\nSteps: 4, Seed: not-a-number, Size: big, CFG scale: 2.5")
    assert (odd["prompt"], odd["steps"], odd["seed"], odd["width"], odd["guidance_scale"]) == ("x", 4, None, None, 2.5)
    with pytest.raises(ValueError, match="no prompt and seed"):
        params_from_metadata(odd)


def test_read_metadata_of_pngs_made_elsewhere():
    meta = read_metadata(png_bytes({"parameters": "a dog\nNegative prompt: cat\nSteps: 30, CFG scale: 5.5, "
                                                  "Seed: 99, Size: 640x480, Model: sdxl"}))
    assert meta["source"] == "a1111" and meta["is_demo"] is False
    assert (meta["prompt"], meta["negative_prompt"], meta["seed"], meta["width"], meta["model_id"]) == (
        "a dog", "cat", 99, 640, "sdxl")
    recalled = params_from_metadata(meta)
    assert (recalled.seed, recalled.steps, recalled.guidance_scale, recalled.height) == (99, 30, 5.5, 480)
    plain = read_metadata(png_bytes({}))
    assert plain["source"] == "none" and plain["prompt"] is None


# ----------------------------------------------------------------------------- saving


def test_save_writes_both_chunks_atomically(tmp_path):
    store = ImageStore(tmp_path / "images")
    p = params("un chat « dans » un chapeau ✓", seed=3)
    path = store.save(picture(), p, extra={"prompt_id": "cat", "is_demo": True, "truncated_tokens": 2, "seconds": 1.5})
    assert path == tmp_path / "images" / f"{p.cache_key()}.png" and store.get(p) == path
    assert os.listdir(tmp_path / "images") == [path.name]  # no temp file left behind
    with Image.open(path) as im:
        assert set(im.info) >= {"parameters", "diffusion_classroom"}
        assert im.info["parameters"].startswith("un chat « dans » un chapeau ✓\nSteps: 4")
    meta = read_metadata(path)
    assert meta["source"] == "diffusion_classroom"
    assert (meta["prompt_id"], meta["is_demo"], meta["truncated_tokens"], meta["seconds"]) == ("cat", True, 2, 1.5)
    assert meta["created"] and meta["cache_key"] == p.cache_key()
    assert params_from_metadata(meta) == p
    assert read_metadata(path.read_bytes()) == meta  # bytes work like paths
    assert store.get(params(seed=4)) is None


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    store = ImageStore(tmp_path)
    p = params()
    original = Image.Image.save

    def save_half_then_fail(self, fp, *args, **kwargs):
        buf = io.BytesIO()
        original(self, buf, *args, **kwargs)
        fp.write(buf.getvalue()[:100])  # half a PNG reaches the disk ...
        raise OSError(28, "No space left on device")  # ... then the disk is full

    monkeypatch.setattr(Image.Image, "save", save_half_then_fail)
    with pytest.raises(OSError, match="No space"):
        store.save(picture(), p)
    assert list(tmp_path.iterdir()) == []  # neither the half file nor a temp file is visible
    assert store.get(p) is None
    monkeypatch.undo()
    # An existing image is replaced whole, never truncated.
    first = store.save(picture(1), p)
    monkeypatch.setattr(Image.Image, "save", save_half_then_fail)
    with pytest.raises(OSError):
        store.save(picture(2), p)
    monkeypatch.undo()
    with Image.open(first) as im:
        assert np.array_equal(np.asarray(im), np.asarray(picture(1)))
    assert [f.name for f in tmp_path.iterdir()] == [first.name]


# ----------------------------------------------------------------------------- listing


def test_find_filters_sorts_and_caches(tmp_path, monkeypatch):
    store = ImageStore(tmp_path)
    assert ImageStore(tmp_path / "missing").find() == []
    paths = []
    for i in range(50):
        path = store.save(picture(i, (8, 8)), params(f"prompt {i % 5}", seed=i), extra={"prompt_id": f"p{i % 5}"})
        os.utime(path, ns=(10**18 + i * 10**9, 10**18 + i * 10**9))  # distinct, increasing mtimes
        paths.append(path)
    (tmp_path / ".half-written.png.tmp").write_bytes(b"\x89PNG")  # ignored: a write in progress
    (tmp_path / "notes.png").write_text("not an image")  # ignored: unreadable

    reads = []
    real = store_module.read_metadata
    monkeypatch.setattr(store_module, "read_metadata", lambda p: reads.append(p) or real(p))
    everything = store.find()
    assert [s.path for s in everything] == paths[::-1]  # newest first
    assert len(reads) == 51  # 50 images + the broken file, each read once
    reads.clear()
    assert [s.path for s in store.find(prompt_id="p3")] == [paths[i] for i in (48, 43, 38, 33, 28, 23, 18, 13, 8, 3)]
    assert [s.metadata["seed"] for s in store.find(prompt="prompt 1")][:2] == [46, 41]
    assert reads == []  # nothing read again: the mtime cache answers (for the unreadable file too)
    os.utime(paths[0], ns=(2 * 10**18, 2 * 10**18))  # a changed file is read again
    reads.clear()
    assert store.find()[0].path == paths[0] and reads == [paths[0]]


def test_demo_label_thumbnail_delete(tmp_path):
    store = ImageStore(tmp_path)
    demo = store.save(picture(size=(64, 32)), params(model_id="tiny-flux-demo", width=64, height=32),
                      extra={"is_demo": True})
    real = store.save(picture(size=(64, 32)), params(seed=9))
    found = {s.path: s for s in store.find()}
    assert found[demo].is_demo and found[demo].label == DEMO_LABEL
    assert DEMO_LABEL == "demo pipeline — random weights, not FLUX output"
    assert found[real].label is None and found[real].params().seed == 9

    thumb = thumbnail(demo, 128)
    with Image.open(io.BytesIO(thumb)) as im:
        assert im.format == "JPEG" and im.size == (128, 64)
    assert thumbnail(demo, 128) is thumb  # cached
    assert thumbnail(demo, 32) is not thumb

    with pytest.raises(ValueError):
        store.delete(tmp_path.parent / "elsewhere.png")
    store.delete(demo)
    assert not demo.exists() and [s.path for s in store.find()] == [real]


def test_an_orphaned_temp_png_is_removed_on_the_next_start(tmp_path):
    # `kill -9` during a save leaves the atomic write's hidden temp file behind: .<key>.png.<random>.tmp
    first = ImageStore(tmp_path)
    kept = first.save(picture(), params())
    orphan = tmp_path / f".{kept.stem}x.png.k3j2h1.tmp"
    orphan.write_bytes(b"\x89PNG half an image")
    old = os.path.getmtime(kept) - 3600
    os.utime(orphan, (old, old))
    in_progress = tmp_path / ".other.png.a1b2c3.tmp"  # another process writing right now: left alone
    in_progress.write_bytes(b"\x89PNG")
    mine = [tmp_path / "notes.tmp", tmp_path / ".hidden.png"]  # not the store's temp files: never touched
    for p in mine:
        p.write_bytes(b"mine")
        os.utime(p, (old, old))
    store_module._cleaned_roots.clear()  # a new process
    again = ImageStore(tmp_path)
    assert not orphan.exists()
    assert in_progress.exists() and all(p.exists() for p in mine) and kept.exists()
    assert [s.path for s in again.find()] == [kept]
