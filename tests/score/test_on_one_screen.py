"""docs/ncsn_on_one_screen.py is the engine's NCSN, written out: same seed, same numbers, bit for bit."""

import importlib.util
from pathlib import Path

import torch

from models.lab.datasets import sample_dataset
from models.lab.training import limited_threads
from models.score.checkpoints import ScoreModel
from models.score.run import draw_samples
from models.score.sampling import DEFAULT_SAMPLER
from models.score.trainer import TrainConfig, score_trainer

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "ncsn_on_one_screen.py"
STEPS, N_POINTS, N_SAMPLES, SEED = 40, 500, 300, 3


def load_script():
    spec = importlib.util.spec_from_file_location("ncsn_on_one_screen", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_one_screen_ncsn_gives_the_engines_numbers():
    script = load_script()
    data = sample_dataset("moons", N_POINTS, SEED)
    assert torch.equal(script.moons(N_POINTS, SEED), data)

    trainer = score_trainer(TrainConfig(steps=STEPS, log_every=1, num_threads=1, seed=SEED), data)
    trainer.run()
    with limited_threads(1):
        sigmas = script.noise_ladder(data, script.LEVELS)
        net, losses = script.train(data, sigmas, steps=STEPS, seed=SEED)
    assert torch.equal(sigmas, trainer.objective.sigmas)
    assert losses == [row["loss"] for row in trainer.state.history]  # every step's loss, exactly
    engine_weights = list(trainer.sampling_network.parameters())
    assert len(list(net.parameters())) == len(engine_weights)
    for mine, engine in zip(net.parameters(), engine_weights):
        assert torch.equal(mine, engine)

    assert DEFAULT_SAMPLER == "denoise", "the script shows the engine's default sampler: update it"
    engine_samples = draw_samples(ScoreModel.from_trainer(trainer), n=N_SAMPLES, seed=SEED).samples
    with limited_threads():  # the thread count the engine's samplers use
        samples = script.sample(net, sigmas, n=N_SAMPLES, seed=SEED)
    assert torch.equal(samples, engine_samples)


def test_the_one_screen_ncsn_runs_as_a_script(capsys):
    with limited_threads(1):  # restores the thread count main() sets
        load_script().main(steps=20)
    out = capsys.readouterr().out
    assert "σ ladder" in out and "std of the samples" in out and "nearest data point" in out
