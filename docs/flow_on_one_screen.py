"""Flow matching (the straight-line path FLUX and SD3 train on) on one screen, top to bottom.

data → path → network → loss → training loop → Euler sampler, in plain PyTorch. It draws the same
random numbers in the same order as the engine (models/flow, the How FLUX samples page), so with
the same seed it gives the same numbers (a test checks). Run: python docs/flow_on_one_screen.py
"""
import copy
import hashlib
import math

import torch
from torch import nn

SEED, N_POINTS, STEPS, BATCH, LR, EMA = 0, 2000, 2000, 256, 5e-3, 0.99
SAMPLE_STEPS, N_SAMPLES = 50, 2000


def stream(seed, name):
    """A generator of its own for one kind of draw (the sampler's start, its noise): two generators seeded
    alike would replay each other's numbers, so each is seeded by a hash of (seed, name)."""
    digest = hashlib.blake2b(f"{name}:{seed}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))


def moons(n, seed):
    """1. Data: two interleaving half circles, centred and scaled to a spread of about 1 (closed-form constants)."""
    g = torch.Generator().manual_seed(seed)
    t = math.pi * torch.rand(n, generator=g)
    second = torch.rand(n, generator=g) < 0.5
    x = torch.where(second, 1 - torch.cos(t), torch.cos(t))
    y = torch.where(second, 0.5 - torch.sin(t), torch.sin(t))
    points = torch.stack([x, y], 1) + 0.05 * torch.randn(n, 2, generator=g)
    scale = math.sqrt((0.75 + (5 / 8 - 1 / math.pi - 1 / 16)) / 2 + 0.05**2)
    return (points - torch.tensor([0.5, 0.25])) / scale


# 2. The path: a straight line from a data point x₀ (t = 0) to a noise draw ε (t = 1),
#        x_t = (1 − t)·x₀ + t·ε,   so its velocity dx_t/dt = ε − x₀ is the same at every t.
# The best network v(x, t) is the AVERAGE of ε − x₀ over all lines through x at time t.

class VelocityNet(nn.Module):
    """3. v(x, t): an MLP sees x and t (as sin/cos features, so it can bend its field quickly near t = 0)."""

    def __init__(self, hidden=128, depth=3):
        super().__init__()
        layers, width = [], 2 + 17
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        self.mlp = nn.Sequential(*layers, nn.Linear(width, 2))
        self.register_buffer("freqs", math.pi * torch.exp(torch.linspace(0, math.log(16.0), 8)))

    def forward(self, x, t):
        a = t[:, None] * self.freqs
        return self.mlp(torch.cat([x, t[:, None], torch.sin(a), torch.cos(a)], 1))


def flow_matching_loss(net, x0, g):
    """4. ‖v(x_t, t) − (ε − x₀)‖², t logit-normal (sigmoid of a standard normal: more draws mid-path)."""
    eps = torch.randn(x0.shape, generator=g)
    t = torch.sigmoid(torch.randn(len(x0), generator=g))
    x_t = (1 - t[:, None]) * x0 + t[:, None] * eps
    return ((net(x_t, t) - (eps - x0)) ** 2).mean()


def train(data, steps=STEPS, seed=SEED):
    """5. Random batches, Adam with a cosine learning rate (down to 5%), and an EMA copy of the weights."""
    torch.manual_seed(stream(seed, "init").initial_seed())  # the initial weights: a stream of their own
    net = VelocityNet()
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    g = stream(seed, "batches")                  # batches, noise and times: a stream of their own
    losses = []
    for step in range(1, steps + 1):
        if step % 10 == 1:                       # the schedule moves slowly: set it every 10 steps
            opt.param_groups[0]["lr"] = LR * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (step / steps))))
        batch = data[torch.randint(len(data), (BATCH,), generator=g)]
        loss = flow_matching_loss(net, batch, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema.parameters(), net.parameters()):
                e.lerp_(p, 1 - EMA)
        losses.append(loss.item())
    return ema, losses


@torch.no_grad()
def sample(net, n=N_SAMPLES, seed=SEED, steps=SAMPLE_STEPS):
    """6. Euler, FLUX's sampler: from ε ~ N(0, I) at t = 1 to t = 0 in even steps, x ← x + (t' − t)·v(x, t).
    Were the averaged paths straight, one step would do; they bend where lines cross."""
    x = torch.randn(n, 2, generator=stream(seed, "prior"))
    times = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64).tolist()
    for t, t_next in zip(times, times[1:]):
        x = x + (t_next - t) * net(x, torch.full((n,), t))
    return x


def main(steps=STEPS):
    torch.set_num_threads(1)                     # 2-D points: one thread is fastest
    data = moons(N_POINTS, SEED)
    net, losses = train(data, steps)
    x = sample(net)
    k = max(steps // 4, 1)
    print(f"mean loss over each {k} steps:", " ".join(f"{sum(losses[i:i + k]) / k:.4f}" for i in range(0, steps, k)))
    print("std of the samples:", [round(v, 3) for v in x.std(0).tolist()], "of the data:",
          [round(v, 3) for v in data.std(0).tolist()])
    print(f"median distance from a sample to its nearest data point: {torch.cdist(x, data).min(1).values.median():.4f}")


if __name__ == "__main__":
    main()
