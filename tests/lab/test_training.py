"""The one training loop's two extensions, on a toy objective: parameter groups with their own learning-rate
multiple, and an objective's own random streams (the batch's rows from "data", all carried by export_state)."""

from __future__ import annotations

import torch

from models.lab.streams import stream
from models.lab.training import LoopConfig, Trainer

DATA = torch.randn(256, 2, generator=torch.Generator().manual_seed(0))
LOOP = LoopConfig(steps=40, batch_size=32, lr=1e-2, seed=5, log_every=10)


def network() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))


class Denoise:
    """‖f(x + z) − x‖²; `own=True`: z from a stream of its own, the rows from its "data" stream."""

    levels = 0

    def __init__(self, own: bool = False, scale: float | None = None):
        self.scale = scale
        if own:
            self.streams = {name: stream(LOOP.seed, name) for name in ("data", "noise")}

    def parameter_groups(self, net):
        first, rest = list(net[0].parameters()), list(net[2].parameters())
        return [{"params": first, "lr_scale": self.scale}, {"params": rest}]

    def loss(self, net, batch, generator):
        g = self.streams["noise"] if hasattr(self, "streams") else generator
        return ((net(batch + torch.randn(batch.shape, generator=g)) - batch) ** 2).mean(), None


def weights(trainer: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.network.parameters()]


def test_a_groups_lr_scale_multiplies_the_learning_rate():
    frozen = Trainer(LOOP, Denoise(scale=0.0), network, DATA)
    start = weights(frozen)
    frozen.run()
    after = weights(frozen)
    assert torch.equal(start[0], after[0]) and torch.equal(start[1], after[1])  # ×0: the first layer never moves
    assert not torch.equal(start[2], after[2])
    assert [g["lr"] for g in frozen.optimizer.param_groups] == [0.0, LOOP.lr]
    twice = Trainer(LOOP, Denoise(scale=2.0), network, DATA)
    assert [g["lr"] for g in twice.optimizer.param_groups] == [2 * LOOP.lr, LOOP.lr]


def test_an_objectives_own_streams_draw_the_rows_and_travel_with_export_state():
    straight = Trainer(LOOP, Denoise(own=True, scale=1.0), network, DATA)
    assert straight.generator is straight.streams["data"]
    straight.run()
    first = Trainer(LOOP, Denoise(own=True, scale=1.0), network, DATA)
    first.run(steps=20)
    state = first.export_state()
    assert set(state["streams"]) == {"data", "noise"}
    resumed = Trainer(LOOP, Denoise(own=True, scale=1.0), network, DATA)
    resumed.load_state(state)
    resumed.run()
    assert all(torch.equal(a, b) for a, b in zip(weights(straight), weights(resumed)))
    shared = Trainer(LOOP, Denoise(scale=1.0), network, DATA)  # one generator for rows and noise
    shared.run()
    assert not torch.equal(weights(shared)[0], weights(straight)[0])


def test_the_loop_counts_its_cpu_seconds():
    seen = []
    trainer = Trainer(LOOP, Denoise(scale=1.0), network, DATA)
    state = trainer.run(seen.append)
    assert [p.step for p in seen] == [10, 20, 30, 40]
    assert 0 < seen[0].cpu_seconds <= seen[-1].cpu_seconds == state.cpu_seconds
    assert [row["cpu_seconds"] for row in state.history] == [p.cpu_seconds for p in seen]
