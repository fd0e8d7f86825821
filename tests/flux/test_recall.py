"""Recalling a PNG's parameters trusts nothing in the PNG.

A huge image is refused from its header before anything decodes it; metadata of the wrong shape or type
is refused with one line, checked by the one schema (GenerationParams.problems) for the lesson's model.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from models.flux.recall import MAX_RECALL_PIXELS, RecallRefused, png_size, recall_params
from models.flux.settings import SCHNELL_REPO_ID
from tests.flux_fixtures import GOOD, huge_png, ours, png_with


def test_a_good_png_is_recalled_for_the_lessons_model():
    recalled = recall_params(ours({"params": GOOD}), "tiny")
    assert recalled.params.prompt == "a lighthouse in fog" and recalled.params.seed == 1234
    assert recalled.params.model_id == "tiny" and recalled.made_with == SCHNELL_REPO_ID
    assert recalled.source == "diffusion_classroom"


def test_a_30000_pixel_square_is_refused_from_its_header():
    data = huge_png(30000, 30000)
    assert png_size(data) == (30000, 30000)
    with pytest.raises(RecallRefused, match="30000×30000 pixels: too large"):
        recall_params(data, "tiny")
    with pytest.raises(Image.DecompressionBombError):  # what the gallery once let through
        Image.open(io.BytesIO(data))


def test_the_cap_is_just_above_the_largest_flux_image():
    assert 2048 * 2048 < MAX_RECALL_PIXELS and png_size(huge_png(4097, 4096)) == (4097, 4096)
    with pytest.raises(RecallRefused, match="too large"):
        recall_params(huge_png(4097, 4096), "tiny")


@pytest.mark.parametrize("record, why", [
    ({"params": 5}, "metadata cannot be read"),
    ({"params": "abc"}, "metadata cannot be read"),
    ({"params": {**GOOD, "prompt": ["a", "list"]}}, "prompt text must be text in quotes, not list"),
    ({"params": {**GOOD, "guidance_scale": "x"}}, "guidance_scale must be a number"),
    ({"params": {**GOOD, "seed": 2**70}}, "seed must be a whole number"),
    ({"params": {**GOOD, "steps": 4.5}}, "steps must be a whole number"),
    ({"params": {**GOOD, "width": 1000}}, "width 1000 is not a multiple of 16"),
    ({"params": {**GOOD, "prompt": "x" * 6000}}, "at most 5000"),
    ({"params": {**GOOD, "seed": None}}, "carries no prompt and seed"),
    ({"extra": [1, 2]}, "metadata cannot be read"),
])
def test_bad_metadata_is_refused_in_one_line(record, why):
    with pytest.raises(RecallRefused, match=why) as info:
        recall_params(ours(record), "tiny")
    assert "\n" not in str(info.value)


def test_sizes_are_checked_for_the_lessons_model():
    small = ours({"params": {**GOOD, "width": 64, "height": 64}})
    assert recall_params(small, "tiny").params.width == 64  # the demo draws small images
    with pytest.raises(RecallRefused, match="width 64 is outside 256-2048"):
        recall_params(small, SCHNELL_REPO_ID)


def test_not_a_png_and_a1111_text():
    with pytest.raises(RecallRefused, match="not a PNG"):
        recall_params(b"GIF89a....", "tiny")
    a1111 = png_with({"parameters": "a cat\nSteps: 6, Sampler: Euler, CFG scale: 0, Seed: 5, Size: 512x512"})
    recalled = recall_params(a1111, "tiny")
    assert (recalled.params.prompt, recalled.params.steps, recalled.source) == ("a cat", 6, "a1111")


def test_an_a1111_png_says_what_was_dropped_or_changed_and_offers_schnells_values():
    from models.flux.recall import with_schnell_values

    text = ("a lighthouse in fog, masterpiece\nNegative prompt: blurry, lowres\n"
            "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model: v1-5-pruned-emaonly")
    recalled = recall_params(png_with({"parameters": text}), SCHNELL_REPO_ID)
    assert (recalled.params.prompt, recalled.params.seed, recalled.params.steps, recalled.params.guidance_scale) == (
        "a lighthouse in fog, masterpiece", 42, 20, 7.0)
    assert recalled.notes == (
        "Dropped the negative prompt “blurry, lowres”: FLUX.1-schnell takes none (it runs without guidance, "
        "so there is no second pass to steer away from it).",
        "Copied 20 steps; schnell is distilled for 1 to 4 steps (4 is its setting).",
        "Copied CFG scale 7; schnell has no guidance input and ignores it (each step is one conditional pass).",
        f"Made with v1-5-pruned-emaonly; drawn here with {SCHNELL_REPO_ID}: the same prompt and seed give a "
        "different picture with another model.",
        "Sampler “Euler a” is not used: FLUX samples with flow-match euler.",
    )
    assert recalled.differs_from_schnell
    fixed = with_schnell_values(recalled.params)
    assert (fixed.steps, fixed.guidance_scale, fixed.seed, fixed.width) == (4, 0.0, 42, 512)
    # One of our own PNGs made with schnell's settings carries over whole: nothing to say.
    assert recall_params(ours({"params": GOOD}), SCHNELL_REPO_ID).notes == ()
