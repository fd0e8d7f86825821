"""The step timeline: x̂₀ = x_t − t·v at each step, decoded, kept whole in the image's metadata folder."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from models.flux.generate import DEMO_RENDER_MAX, Generator, demo_size_note, render_size
from models.flux.params import GenerationParams
from models.flux.store import ImageStore, TIMELINE_SUFFIX, png_parameters
from models.flux.timeline import TimelineRecorder
from models.flux.tiny import TINY_MODEL_ID, TINY_REVISION


@pytest.mark.slow
def test_recorded_prediction_is_the_euler_step_extrapolated_to_t0(tiny_pipe):
    """Check x̂₀ against the scheduler's own Euler steps: step k runs from σ_{k−1} to σ_k; with C_k the
    latents after it, v_k = (C_k − C_{k−1}) / (σ_k − σ_{k−1}) and x̂₀_k = C_{k−1} − σ_{k−1} v_k.
    The last x̂₀ is the final latent."""
    import torch

    seen = []

    def keep(pipe, step, timestep, tensors):
        seen.append(tensors["latents"].clone())
        return {}

    with TimelineRecorder(tiny_pipe, 64, 64) as recorder:
        def callback(pipe, step, timestep, tensors):
            recorder.record(step + 1)
            return keep(pipe, step, timestep, tensors)

        tiny_pipe("a lighthouse", num_inference_steps=4, guidance_scale=0.0, height=64, width=64,
                  max_sequence_length=32, generator=torch.Generator("cpu").manual_seed(3), output_type="latent",
                  callback_on_step_end=callback, callback_on_step_end_tensor_inputs=["latents"])
    sigmas = [float(s) for s in tiny_pipe.scheduler.sigmas]
    assert [f.t for f in recorder.frames] == pytest.approx(sigmas[:4]) == [1.0, 0.75, 0.5, 0.25]
    for k in range(2, 5):  # 1-based step k runs from σ = sigmas[k-1] to sigmas[k]; C_k = seen[k-1]
        v = (seen[k - 1] - seen[k - 2]) / (sigmas[k] - sigmas[k - 1])
        expected = seen[k - 2] - sigmas[k - 1] * v
        assert torch.allclose(recorder.x0_latents[k - 1], expected, atol=1e-4), k
    assert torch.allclose(recorder.x0_latents[-1], seen[-1], atol=1e-5)  # Euler's last step lands on x̂₀
    assert all(f.image.size == (64, 64) for f in recorder.frames)
    assert not tiny_pipe.transformer._forward_hooks  # the hook is removed afterwards


def test_generated_image_keeps_its_timeline_in_its_metadata_folder(tiny_settings):
    store = ImageStore(tiny_settings.output_dir)
    gen = Generator("tiny", settings=tiny_settings, store=store)
    params = GenerationParams(prompt="a red cube", seed=5, width=64, height=64, model_id=TINY_MODEL_ID,
                              revision=TINY_REVISION)
    result = gen.generate(params)
    timeline = store.timeline(result.path)
    assert [(e.step, e.t) for e in timeline] == [(1, 1.0), (2, 0.75), (3, 0.5), (4, 0.25)]
    assert timeline[0].path.parent == result.path.with_name(result.path.stem + TIMELINE_SUFFIX)
    # The last step's picture is the image itself (lossless PNG); step 1's guess is another picture.
    final = np.asarray(result.image.convert("RGB"), dtype=float)
    on_disk = [np.asarray(Image.open(e.path).convert("RGB"), dtype=float) for e in timeline]
    assert np.array_equal(on_disk[-1], final)
    assert np.abs(on_disk[0] - final).mean() > 1
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]  # no temp file or folder left
    store.delete(result.path)
    assert not result.path.exists() and store.timeline(result.path) == []
    assert not any(store.root.iterdir())


def test_demo_renders_small_whatever_the_files_size_and_says_so(tiny_settings):
    params = GenerationParams(prompt="x", seed=1, width=1024, height=768, model_id=TINY_MODEL_ID,
                              revision=TINY_REVISION)
    assert render_size(params, is_demo=True) == (256, 192) and DEMO_RENDER_MAX == 256
    assert render_size(params, is_demo=False) == (1024, 768)
    assert demo_size_note(params, (256, 192)) == "demo rendered at 256×192 (the settings ask 1024×768)"
    store = ImageStore(tiny_settings.output_dir)
    result = Generator("tiny", settings=tiny_settings, store=store).generate(params)
    assert result.image.size == (256, 192)
    meta = store.metadata(result.path)
    assert meta["width"] == 1024 and meta["rendered_size"] == [256, 192]
    assert meta["size_note"] == "demo rendered at 256×192 (the settings ask 1024×768)"
    # the PNG info other tools read (and the lightbox shows) gives the size of the picture, not the one asked
    assert "Size: 256x192," in png_parameters(result.path) and "1024" not in png_parameters(result.path)


def _tampered_store(tmp_path):
    """An image with a 4-step timeline, then a frame corrupted, one linked out, one linked to a secret."""
    from models.flux.timeline import TimelineFrame

    store = ImageStore(tmp_path / "outputs")
    params = GenerationParams(prompt="a red cube", seed=5, width=64, height=64, model_id=TINY_MODEL_ID,
                              revision=TINY_REVISION)
    frames = [TimelineFrame(step=k, t=1 - (k - 1) / 4, image=Image.new("RGB", (8, 8), (60 * k, 0, 0)))
              for k in range(1, 5)]
    path = store.save(Image.new("RGB", (8, 8)), params, timeline=frames)
    folder = store.timeline_folder(path)
    (folder / "step02.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    elsewhere = tmp_path / "someone-elses.png"
    Image.new("RGB", (8, 8)).save(elsewhere)
    (folder / "step03.png").unlink()
    (folder / "step03.png").symlink_to(elsewhere)
    (folder / "step04.png").unlink()
    (folder / "step04.png").symlink_to("/etc/passwd")
    return store, path, folder


def test_a_corrupt_or_linked_timeline_frame_is_never_shown(tmp_path):
    store, path, _ = _tampered_store(tmp_path)
    entries = store.timeline(path)
    assert [e.step for e in entries] == [1, 2]  # the links are not frames of this image
    assert store.frame_bytes(entries[0]) is not None
    assert store.frame_bytes(entries[1]) is None  # corrupt: not shown, no exception


def test_a_huge_timeline_index_is_not_read_whole(tmp_path):
    import json
    import time

    store, path, folder = _tampered_store(tmp_path)
    frames = [{"step": 1, "t": 1.0, "file": "step01.png"}] * 100_000
    (folder / "timeline.json").write_text(json.dumps({"version": 1, "frames": frames}))
    start = time.perf_counter()
    assert store.timeline(path) == []
    assert time.perf_counter() - start < 1.0
    few = [{"step": k, "t": 1.0, "file": "step01.png"} for k in range(1, 200)]
    (folder / "timeline.json").write_text(json.dumps({"version": 1, "frames": few}))
    from models.flux.params import STEPS_MAX

    assert len(store.timeline(path)) <= STEPS_MAX
