"""A noise-conditional score network (NCSN, Song & Ermon 2019) on one screen, top to bottom.

data → noise ladder → network → loss → training loop → sampler, in plain PyTorch. It draws the
same random numbers in the same order as the engine (models/score, the Score lab's defaults), so
with the same seed it gives the same numbers (a test checks). Run: python docs/ncsn_on_one_screen.py
"""
import copy
import hashlib
import math

import torch
from torch import nn

SEED, N_POINTS, STEPS, BATCH, LR, EMA = 0, 2000, 2000, 256, 5e-3, 0.99
LEVELS, SAMPLE_LEVELS, N_SAMPLES = 10, 100, 2000


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


def noise_ladder(data, levels):
    """2. σ_1 > … > σ_L, geometric: from the widest distance between two points (the top level forgets
    where the data was) down to 1% of the data's spread (a blur nobody sees)."""
    sigma_max = torch.cdist(data, data).max().item()  # the engine takes 2,000 random points of a larger set
    sigma_min = max(0.01 * data.std(0).mean().item(), 1e-4)
    return torch.exp(torch.linspace(math.log(sigma_max), math.log(sigma_min), levels))


class ScoreNet(nn.Module):
    """3. s(x, σ) ≈ ∇log p_σ(x): an MLP sees x and log σ (as sin/cos features); its output is divided
    by σ, so the MLP itself only predicts −z, which has unit size at every σ."""

    def __init__(self, hidden=128, depth=3):
        super().__init__()
        layers, width = [], 2 + 17
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        self.mlp = nn.Sequential(*layers, nn.Linear(width, 2))
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(8.0), 8)))

    def forward(self, x, sigma):
        log_sigma = torch.log(sigma)[:, None]
        a = log_sigma * self.freqs
        return self.mlp(torch.cat([x, log_sigma, torch.sin(a), torch.cos(a)], 1)) / sigma[:, None]


def dsm_loss(net, x, sigmas, g):
    """4. Denoising score matching ½‖σ·s(x + σz, σ) + z‖² (weighted by σ²: every level O(1)), levels spread
    evenly over the batch, each σ jittered within half a rung (the sampler's finer ladder goes between)."""
    L = len(sigmas)
    level = torch.arange(len(x)) % L
    half_rung = 0.5 * torch.log(sigmas[0] / sigmas[1])
    sigma = sigmas[level] * torch.exp((2 * torch.rand(len(x), generator=g) - 1) * half_rung)
    z = torch.randn(x.shape, generator=g)
    per_example = 0.5 * ((sigma[:, None] * net(x + sigma[:, None] * z, sigma) + z) ** 2).sum(1)
    per_level = torch.zeros(L).index_add_(0, level, per_example) / torch.bincount(level, minlength=L)
    return per_level.mean()  # the mean over levels of each level's mean


def train(data, sigmas, steps=STEPS, seed=SEED):
    """5. Random batches, Adam with a cosine learning rate (down to 5%), and an EMA copy of the weights."""
    torch.manual_seed(stream(seed, "init").initial_seed())  # the initial weights: a stream of their own
    net = ScoreNet()
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    g = stream(seed, "batches")                  # batches and noise: a stream of their own
    losses = []
    for step in range(1, steps + 1):
        if step % 10 == 1:                       # the schedule moves slowly: set it every 10 steps
            opt.param_groups[0]["lr"] = LR * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (step / steps))))
        batch = data[torch.randint(len(data), (BATCH,), generator=g)]
        loss = dsm_loss(net, batch, sigmas, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema.parameters(), net.parameters()):
                e.lerp_(p, 1 - EMA)
        losses.append(loss.item())
    return ema, losses


@torch.no_grad()
def sample(net, sigmas, n=N_SAMPLES, seed=SEED, levels=SAMPLE_LEVELS):
    """6. The ancestral sampler (the engine's default): from N(0, (1 + σ_1²) I), the noisy data at the top,
    down a finer ladder: x ← x + (σ² − σ'²)·s(x, σ) + σ'·√(1 − σ'²/σ²)·z (a jump toward the denoised
    guess x + σ²s, re-noised to the next σ'), and at the end the denoised guess itself (Tweedie)."""
    x = torch.randn(n, 2, generator=stream(seed, "prior")) * (1 + sigmas[0] ** 2).sqrt()
    fine = torch.exp(torch.linspace(math.log(sigmas[0]), math.log(sigmas[-1]), levels)).tolist()
    g = stream(seed, "sampler-noise")           # the steps' noise: a stream apart from the start's
    for sigma, nxt in zip(fine, fine[1:]):
        s = net(x, torch.full((n,), sigma))
        x.add_(s, alpha=sigma**2 - nxt**2).add_(torch.randn(n, 2, generator=g),
                                                 alpha=nxt * math.sqrt(max(1 - nxt**2 / sigma**2, 0.0)))
    return x + fine[-1] ** 2 * net(x, torch.full((n,), fine[-1]))


def main(steps=STEPS):
    torch.set_num_threads(1)                     # 2-D points: one thread is fastest
    data = moons(N_POINTS, SEED)
    sigmas = noise_ladder(data, LEVELS)
    print(f"σ ladder: {sigmas[0]:.3f} → {sigmas[-1]:.4f} in {LEVELS} levels")
    net, losses = train(data, sigmas, steps)
    x = sample(net, sigmas)
    k = max(steps // 4, 1)
    print(f"mean loss over each {k} steps:", " ".join(f"{sum(losses[i:i + k]) / k:.4f}" for i in range(0, steps, k)))
    print("std of the samples:", [round(v, 3) for v in x.std(0).tolist()], "of the data:",
          [round(v, 3) for v in data.std(0).tolist()])
    print(f"median distance from a sample to its nearest data point: {torch.cdist(x, data).min(1).values.median():.4f}")


if __name__ == "__main__":
    main()
