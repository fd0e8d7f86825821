"""docs/flow_on_one_screen.py is the engine's flow matching, written out: same seed, same numbers, bit for bit."""

import importlib.util
from pathlib import Path

import torch

from models.flow.model import FlowModel
from models.flow.trainer import FlowConfig, flow_trainer
from models.lab.datasets import sample_dataset
from models.lab.training import limited_threads

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "flow_on_one_screen.py"
STEPS, N_POINTS, N_SAMPLES, SEED = 40, 500, 300, 3


def load_script():
    spec = importlib.util.spec_from_file_location("flow_on_one_screen", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_one_screen_flow_gives_the_engines_numbers():
    script = load_script()
    data = sample_dataset("moons", N_POINTS, SEED)
    assert torch.equal(script.moons(N_POINTS, SEED), data)

    config = FlowConfig(steps=STEPS, log_every=1, num_threads=1, seed=SEED)
    assert config.time_sampling == "logit-normal"
    trainer = flow_trainer(config, data)
    trainer.run()
    with limited_threads(1):
        net, losses = script.train(data, steps=STEPS, seed=SEED)
    assert losses == [row["loss"] for row in trainer.state.history]  # every step's loss, exactly
    engine_weights = list(trainer.sampling_network.parameters())
    assert len(list(net.parameters())) == len(engine_weights)
    for mine, engine in zip(net.parameters(), engine_weights):
        assert torch.equal(mine, engine)

    model = FlowModel.from_trainer(trainer, torch.zeros(2), 1.0)  # trained on standardized points already
    engine_samples = model.sample(n=N_SAMPLES, seed=SEED).samples   # the defaults: 50 Euler steps
    with limited_threads(1):
        samples = script.sample(net, n=N_SAMPLES, seed=SEED)
    assert torch.equal(samples, engine_samples)


def test_the_one_screen_flow_runs_as_a_script(capsys):
    with limited_threads(1):  # restores the thread count main() sets
        load_script().main(steps=20)
    out = capsys.readouterr().out
    assert "std of the samples" in out and "nearest data point" in out
