"""The data file, the captions and their measured attributes, and the judge."""

from __future__ import annotations

import torch

from models.text_to_image import judge as J
from models.text_to_image.captions import (ATTRIBUTES, WORDS, article, attribute_table, caption_bank,
                                           captions_for, intent, measure)
from models.text_to_image.data import from_model, load_digits, to_model
from tests.helpers import run_python


def test_the_digits_come_from_the_wheel_without_importing_sklearn():
    code = ("import sys; from models.text_to_image.data import load_digits; d = load_digits(); "
            "print(len(d), tuple(d.images.shape), 'sklearn' in sys.modules, 'scipy' in sys.modules)")
    run = run_python(code)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.split() == ["1797", "(1797,", "8,", "8)", "False", "False"]


def test_digits_are_in_the_unit_interval_with_every_label():
    d = load_digits()
    assert d.images.min() == 0 and d.images.max() == 1
    assert d.labels.bincount().tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert torch.equal(from_model(to_model(d.images[:5])), d.images[:5])


def test_captions_use_the_templates_and_only_measured_attributes():
    caps = captions_for(7, ("thick",))
    for expected in ("seven", "7", "the digit 7", "a handwritten seven", "a thick seven", "a thick 7"):
        assert expected in caps
    assert not any("slanted" in c or "thin" in c for c in caps)
    assert "an eight" in captions_for(8, ()) and "an upright 8" in captions_for(8, ("upright",))
    assert article("one") == "a" and article("eight") == "an"
    bank = caption_bank()
    assert len(bank.key) == 1797 and int(bank.counts.sum()) == len(bank.texts)
    assert all(t.isascii() for t in bank.texts)  # English only, on purpose


def test_attributes_are_measured_from_the_pixels():
    d = load_digits()
    flags = measure(d.images).flags
    assert abs(flags["thick"].float().mean().item() - 0.25) < 0.01  # the top quarter of ink mass
    assert abs(flags["slanted"].float().mean().item() - 1 / 3) < 0.01
    assert not (flags["thick"] & flags["thin"]).any() and not (flags["slanted"] & flags["upright"]).any()
    table = attribute_table()
    assert set(table) == set(ATTRIBUTES)
    assert table["upright"][6] < 0.02 < 0.8 < table["slanted"][6]  # the rare combination the page shows
    bolder = d.images[:1] * 0 + 1  # a filled square has the most ink there is
    assert measure(bolder).flags["thick"].item()


def test_intent_reads_english_words_and_numerals_only():
    assert intent("a thick seven") == (7, ("thick",))
    assert intent("the digit 7") == (7, ())
    assert intent("семь 七, digit") == (None, ())
    assert intent("seven or eight") == (None, ())
    assert WORDS[7] == "seven"


def test_the_judge_is_right_on_the_half_it_does_not_hold():
    mine, other = J.halves()
    assert len(set(mine.tolist()) & set(other.tolist())) == 0 and len(mine) + len(other) == 1797
    assert J.held_out_accuracy() >= 0.97


def test_diversity_of_real_digits_is_about_one():
    d = load_digits()
    sevens = d.images[d.labels == 7]
    assert abs(J.diversity(sevens[:100], 7) - 1) < 0.1
    assert J.diversity(sevens[:1].expand(10, -1, -1), 7) == 0  # ten copies of one digit: no variety
