"""One small seeded training run shared by the text-to-image tests (~8 s of CPU time on one thread)."""

from __future__ import annotations

import pytest

from models.text_to_image.train import TrainConfig, train

TEST_STEPS = 600  # measured: ~97 % correct digits at 4 Euler steps and w = 2 (the default run, 1,000 steps: 99.9 %)


@pytest.fixture(scope="session")
def trained():
    return train(TrainConfig(steps=TEST_STEPS, seed=0))
