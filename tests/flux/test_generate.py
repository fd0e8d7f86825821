"""GenerationParams (validation, cache key), the Generator end to end on the tiny pipeline, previews, cancel."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
from PIL import Image

from models.flux.generate import (
    FLUX_LATENT_RGB_BIAS, FLUX_LATENT_RGB_FACTORS, GenerationCancelled, Generator, OutOfMemory, latents_preview,
)
from models.flux.loading import MemoryPlan
from models.flux.params import BadParams, GenerationParams
from models.flux.store import ImageStore, params_from_metadata, read_metadata
from models.flux.tiny import TINY_MODEL_ID, TINY_REVISION


def tiny_params(**kw) -> GenerationParams:
    base = dict(prompt="a red cube on a table", seed=7, width=64, height=64, model_id=TINY_MODEL_ID, revision=TINY_REVISION)
    base.update(kw)
    return GenerationParams(**base)


@pytest.fixture
def generator(tiny_settings):
    return Generator("tiny", settings=tiny_settings, store=ImageStore(tiny_settings.output_dir))


@pytest.fixture
def count_pipeline_calls(monkeypatch):
    """Counts calls of FluxPipeline.__call__ (the real call still runs)."""
    from diffusers import FluxPipeline

    calls = []
    original = FluxPipeline.__call__

    def counting(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FluxPipeline, "__call__", counting)
    return calls


# ----------------------------------------------------------------------------- parameters


def test_defaults_are_schnell_settings():
    p = GenerationParams(prompt="x", seed=1)
    assert (p.steps, p.width, p.height, p.guidance_scale, p.max_sequence_length) == (4, 1024, 1024, 0.0, 256)
    assert p.model_id == "black-forest-labs/FLUX.1-schnell"
    assert p.validate() is p


@pytest.mark.parametrize("change, words", [
    (dict(prompt="   "), "prompt text is empty"),
    (dict(seed=-1), "seed"),
    (dict(seed=True), "seed"),
    (dict(seed=5.0), "seed must be a whole number"),  # never silently turned into an int
    (dict(seed=2**63), "seed"),  # a seed must fit in a prompt file (TOML: signed 64-bit)
    (dict(steps=0), "steps"),
    (dict(steps=51), "steps"),
    (dict(steps=4.0), "steps"),
    (dict(steps="four"), "steps"),
    (dict(width=1000), "width 1000 is not a multiple of 16"),
    (dict(height=2064), "height"),
    (dict(width=64), "only for the tiny demo"),
    (dict(max_sequence_length=300), "from 1 to 256"),
    (dict(max_sequence_length=0), "max_sequence_length"),
    (dict(guidance_scale=float("nan")), "guidance_scale"),
    (dict(guidance_scale=-1.0), "guidance_scale"),
    (dict(guidance_scale=20.5), "from 0 to 20"),
])
def test_bad_params_have_clear_messages(change, words):
    params = dataclasses.replace(GenerationParams(prompt="a cat", seed=1), **change)
    with pytest.raises(BadParams, match=words):
        params.validate()
    assert issubclass(BadParams, ValueError)


def test_limits_depend_on_model():
    tiny_params(width=64, height=16).validate()  # small sizes only for the demo
    with pytest.raises(BadParams):
        tiny_params(width=8).validate()
    # FLUX.1-dev style models may use 512 T5 tokens; schnell may not.
    GenerationParams(prompt="x", seed=1, model_id="black-forest-labs/FLUX.1-dev", max_sequence_length=512).validate()
    with pytest.raises(BadParams):
        GenerationParams(prompt="x", seed=1, max_sequence_length=512).validate()


def test_cache_key_covers_exactly_the_pixel_fields():
    p = GenerationParams(prompt="a cat", seed=1)
    assert p.cache_key() == GenerationParams(prompt="a cat", seed=1).cache_key()
    assert len(p.cache_key()) == 24 and int(p.cache_key(), 16) >= 0
    assert dataclasses.replace(p, guidance_scale=0).cache_key() == p.cache_key()  # 0 and 0.0 are the same
    changes = dict(prompt="a cat.", seed=2, steps=3, width=512, height=512, guidance_scale=1.0,
                   max_sequence_length=128, model_id="other/model", revision="abc")
    assert {f.name for f in dataclasses.fields(p)} == set(changes)  # every field is covered below
    keys = {dataclasses.replace(p, **{name: value}).cache_key() for name, value in changes.items()}
    assert len(keys) == len(changes) and p.cache_key() not in keys
    assert GenerationParams.from_dict({**p.to_dict(), "unknown": 1}) == p


# ----------------------------------------------------------------------------- end to end on the tiny pipeline


def test_generate_store_cache_hit_and_recall(generator, count_pipeline_calls):
    params = generator.params("a red cube on a table", seed=7)
    assert (params.model_id, params.revision, params.width) == (TINY_MODEL_ID, TINY_REVISION, 64)
    first = generator.generate(params, prompt_id="cube")
    assert len(count_pipeline_calls) == 1
    call = count_pipeline_calls[0]  # schnell's settings are always passed explicitly
    assert (call["num_inference_steps"], call["guidance_scale"], call["max_sequence_length"]) == (4, 0.0, 256)
    assert not first.from_cache and first.is_demo and first.truncated_tokens == 0 and first.seconds > 0
    assert first.path.name == f"{params.cache_key()}.png" and first.path.is_file()

    with Image.open(first.path) as im:
        assert im.size == (64, 64)
        assert "Seed: 7" in im.info["parameters"] and "Model: tiny-flux-demo" in im.info["parameters"]
        assert '"prompt_id": "cube"' in im.info["diffusion_classroom"]
        stored_pixels = np.asarray(im.convert("RGB"))
    assert np.array_equal(stored_pixels, np.asarray(first.image))  # PNG is lossless

    mtime = first.path.stat().st_mtime_ns
    again = generator.generate(params)
    assert again.from_cache and again.path == first.path and again.prompt_id == "cube"
    assert len(count_pipeline_calls) == 1  # not regenerated
    assert first.path.stat().st_mtime_ns == mtime
    assert np.array_equal(np.asarray(again.image), stored_pixels)

    meta = read_metadata(first.path)
    assert meta["is_demo"] is True and meta["prompt_id"] == "cube"
    assert params_from_metadata(meta) == params  # recall gives back exactly the parameters


def test_same_seed_same_image_different_seed_differs(tiny_settings):
    gen = Generator("tiny", settings=tiny_settings)  # no store: always computes
    a = np.asarray(gen.generate(gen.params("a lighthouse at dusk", seed=1)).image).astype(int)
    b = np.asarray(gen.generate(gen.params("a lighthouse at dusk", seed=1)).image).astype(int)
    c = np.asarray(gen.generate(gen.params("a lighthouse at dusk", seed=2)).image).astype(int)
    assert np.array_equal(a, b)
    assert np.abs(a - c).mean() > 1.0
    assert gen.load_seconds is not None and gen.loaded


def test_progress_previews(generator):
    steps = []
    generator.generate(generator.params("a blue bird", seed=3, steps=3, width=128, height=64),
                       on_step=lambda i, n, im: steps.append((i, n, im.size, im.mode)))
    assert [s[:2] for s in steps] == [(1, 3), (2, 3), (3, 3)]
    w, h = steps[0][2]
    assert steps[0][3] == "RGB" and w == 2 * h and w >= 128  # latent grid 16x8, upscaled for display


def test_latents_preview_is_the_linear_projection(tiny_pipe):
    import torch

    factors = torch.tensor(FLUX_LATENT_RGB_FACTORS)
    bias = torch.tensor(FLUX_LATENT_RGB_BIAS)
    zero = latents_preview(torch.zeros(1, 4 * 2, 64), width=64, height=32, size=0)
    expected = ((bias.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    assert zero.size == (8, 4) and (np.asarray(zero) == expected).all()
    # Pack a known 16-channel latent image the way the pipeline does, and check the preview unpacks it.
    latent = torch.randn(1, 16, 4, 8, generator=torch.Generator().manual_seed(0)) * 5
    packed = tiny_pipe._pack_latents(latent, 1, 16, 4, 8)
    preview = np.asarray(latents_preview(packed, width=64, height=32, size=0)).astype(int)
    rgb = ((torch.einsum("chw,cr->hwr", latent[0], factors) + bias).clamp(-1, 1) + 1) * 127.5
    assert np.abs(preview - rgb.round().numpy()).max() <= 1


def test_truncated_tokens_are_reported(generator, tiny_dir):
    from transformers import AutoTokenizer

    t5 = AutoTokenizer.from_pretrained(tiny_dir / "tokenizer_2")
    long_prompt = "a very long description of a harbour at night " * 8
    n = len(t5(long_prompt).input_ids)
    assert n > 64
    result = generator.generate(generator.params(long_prompt, seed=1, max_sequence_length=64))
    assert result.truncated_tokens == n - 64
    assert read_metadata(result.path)["truncated_tokens"] == n - 64
    assert generator.truncated_tokens("short", 64) == 0 and generator.count_tokens("abc") == len(t5("abc").input_ids)


# ----------------------------------------------------------------------------- cancel, busy, errors


def test_cancel_during_generation_writes_nothing(generator, tiny_settings):
    cancel = threading.Event()
    seen = []

    def on_step(i, n, preview):
        seen.append(i)
        if i == 2:
            cancel.set()

    with pytest.raises(GenerationCancelled):
        generator.generate(generator.params("a green fox", seed=5, steps=6), on_step=on_step, cancel=cancel)
    assert seen == [1, 2]  # stopped at the next step
    out = tiny_settings.output_dir
    assert not out.exists() or list(out.iterdir()) == []  # no image, no temp file
    assert not generator.busy
    # The pipeline is still usable afterwards.
    assert generator.generate(generator.params("a green fox", seed=5, steps=2)).path.is_file()


def test_busy_while_generating_and_cancel_while_waiting(generator):
    generator.load()
    inside, release = threading.Event(), threading.Event()
    errors = []

    def slow_step(i, n, preview):
        inside.set()
        release.wait(30)

    worker = threading.Thread(target=lambda: generator.generate(generator.params("slow", seed=1, steps=1),
                                                                on_step=slow_step))
    worker.start()
    try:
        assert inside.wait(60)
        assert generator.busy
        cancel = threading.Event()
        cancel.set()
        try:
            generator.generate(generator.params("queued", seed=2), cancel=cancel)
        except GenerationCancelled as exc:
            errors.append(str(exc))
    finally:
        release.set()
        worker.join(60)
    assert errors and "waiting" in errors[0]
    assert not generator.busy


def test_params_for_another_model_are_refused(generator):
    with pytest.raises(BadParams, match="generator uses"):
        generator.generate(GenerationParams(prompt="a cat", seed=1))


def test_cuda_out_of_memory_offers_the_next_plan(tiny_settings, tiny_pipe, monkeypatch):
    import torch
    from diffusers import FluxPipeline

    gpu_plan = MemoryPlan(device="cuda", dtype="bfloat16", offload="none", summary="whole pipeline on the GPU")
    gen = Generator("tiny", settings=tiny_settings, plan=gpu_plan)
    gen._pipe = tiny_pipe  # pretend it loaded on a GPU

    def out_of_memory(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(FluxPipeline, "__call__", out_of_memory)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    with pytest.raises(OutOfMemory) as err:
        gen.generate(gen.params("a cat", seed=1))
    assert err.value.next_plan.offload == "model" and "model offload" in str(err.value)
    gen.use_plan(err.value.next_plan)
    assert gen.plan.offload == "model" and not gen.loaded
