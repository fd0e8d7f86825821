"""The training-run front door (models/score/run.py): the worker, loss floors, previews, save/load,
and the explicit samplers (models/score/sampling.py) checked against exact answers."""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np
import pytest
import torch

from models.core.errors import InputError
from models.core.jobs import JobPool
from models.lab.datasets import DatasetSpec, dataset_mixture, sample_dataset
from models.lab.metrics import energy_distance, mode_shares, nearest_distances
from models.lab.training import EXPLODED_LOSS
from models.lab.uploads import save_upload
from models.score import checkpoints, floors, sampling
from models.score import run as training_run
from models.score.experiments import (empirical_optimal_samples, forward_noising, ncsn_toy_sampling,
                                      training_points)
from models.score.noise import geometric_sigmas
from models.score.objectives import implicit_score_matching
from models.score.reference import (dsm_loss_floor, empirical_score, empirical_score_fn, mixture_score_fn,
                                    reference_score)
from models.score.samplers import tweedie
from tests.helpers import quick_score_run


# ----------------------------------------------------------------------------- floors (math)

def test_posterior_variance_floor_matches_the_monte_carlo_floor():
    pts = sample_dataset("moons", 400, seed=1)
    score = empirical_score_fn(pts)
    for sigma in (1.5, 0.3, 0.05):
        fast = floors.loss_floors(pts, [sigma], n=1500, seed=3)[0]
        slow = dsm_loss_floor(score, pts, sigma, n=40_000, seed=4)
        assert fast == pytest.approx(slow, abs=0.02), sigma


def test_floor_limits_are_exact():
    # σ → ∞: posterior = the whole data set, floor = tr Cov(data)/(2σ²);
    # a single training point: the clean point is known, floor = 0.
    pts = sample_dataset("8-gaussians", 500, seed=0)
    sigma = 200.0
    expected = float(pts.var(0, unbiased=False).sum()) / (2 * sigma**2)
    assert floors.loss_floors(pts, [sigma], n=500)[0] == pytest.approx(expected, rel=0.02)
    one = torch.tensor([[0.3, -0.2], [0.3, -0.2]])
    assert floors.loss_floors(one, [0.5], n=200)[0] == pytest.approx(0.0, abs=1e-6)


class _EmpiricalScore(torch.nn.Module):
    """The exact score of the smoothed point set as a differentiable 'network'."""

    def __init__(self, pts):
        super().__init__()
        self.pts = pts

    def forward(self, x, sigma):
        s = float(sigma.flatten()[0]) if torch.is_tensor(sigma) else float(sigma)
        return empirical_score(self.pts, x, s)


def test_implicit_loss_is_the_dsm_loss_minus_one():
    # The page draws the sliced/implicit floor as the DSM floor + objective_offset (= −1 in 2-D).
    pts = sample_dataset("circles", 300, seed=2)
    sigma = 0.4
    g = torch.Generator().manual_seed(0)
    x = pts[torch.randint(len(pts), (20_000,), generator=g)]
    ism = float(implicit_score_matching(_EmpiricalScore(pts), x, torch.tensor(sigma), g).mean().detach())
    dsm_floor = floors.loss_floors(pts, [sigma], n=3000)[0]
    assert floors.objective_offset("implicit") == -1.0
    assert ism == pytest.approx(dsm_floor - 1.0, abs=0.03)



# ----------------------------------------------------------------------------- worker, save / load

def test_worker_trains_in_the_pool_and_reports_progress():
    run = quick_score_run(steps=60)
    job = JobPool(1).submit(lambda j: training_run.training_job(j, run))
    assert job.wait(120)
    assert job.state == "done", job.error
    snap = job.snapshot()
    assert snap.step == 60 and len(snap.history) == len(run.history) >= 2
    assert snap.preview.shape == (training_run.PREVIEW_POINTS, 2)
    assert run.loss_floor() is not None and all(math.isfinite(f) for f in run.level_floors)


def test_blow_up_stops_the_job_and_keeps_sane_weights():
    run = quick_score_run(steps=400, lr=10.0)
    job = JobPool(1).submit(lambda j: training_run.training_job(j, run))
    assert job.wait(120)
    assert job.state == "failed" and training_run.classify_error(job.exception) == "diverged"
    assert "smaller learning rate" in job.error
    assert run.steps_done < 400
    assert all(abs(r["loss"]) < EXPLODED_LOSS for r in run.history)
    assert all(torch.isfinite(p).all() for p in run.trainer.network.parameters())
    samples = training_run.preview_samples(run.model(), n=50)
    assert samples.shape == (50, 2)


def test_zip_round_trip_and_clear_errors(tmp_path):
    run = quick_score_run(steps=20)
    job = JobPool(1).submit(lambda j: training_run.training_job(j, run))
    assert job.wait(120) and job.state == "done"
    blob = training_run.run_zip_bytes(run)
    model, history = checkpoints.load_run_zip(blob, "m.zip")
    x = torch.randn(30, 2)
    assert torch.allclose(model.score(x, 0.5), run.model().score(x, 0.5), atol=1e-5)
    assert [r["step"] for r in history] == [r["step"] for r in run.history]
    with pytest.raises(InputError, match="not a zip"):
        checkpoints.load_run_zip(b"hello", "notes.txt")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.md", "hi")
    with pytest.raises(InputError, match="config.json"):
        checkpoints.load_run_zip(buf.getvalue(), "other.zip")
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, data[: len(data) // 3] if info.filename == "model.safetensors" else data)
    with pytest.raises(InputError, match="corrupt|truncated"):
        checkpoints.load_run_zip(broken.getvalue(), "broken.zip")




# ----------------------------------------------------------------------------- one run, trained in two jobs

def test_target_steps_is_the_one_place_training_stops():
    run = quick_score_run(steps=40)
    pool = JobPool(1)
    first = pool.submit(lambda j: training_run.training_job(j, run, previews=False, loss_floors=False))
    assert first.wait(60) and first.state == "done", first.error
    trainer = run.trainer
    assert run.steps_done == 40
    run.target_steps = 70  # "Train more": the same Trainer continues
    second = pool.submit(lambda j: training_run.training_job(j, run, previews=False, loss_floors=False))
    assert second.wait(60) and second.state == "done", second.error
    assert run.trainer is trainer and run.steps_done == 70
    assert run.loss_floors is None and second.snapshot().preview is None


def test_train_then_sample_returns_the_samplers_result():
    run = quick_score_run(steps=20)
    job = JobPool(1).submit(lambda j: training_run.train_then_sample(j, run, lambda r: r.model().steps_trained))
    assert job.wait(60) and job.state == "done", job.error
    assert job.result == 20


# ----------------------------------------------------------------------------- samplers vs exact answers

def _unit_gaussian_score(x, sigma):
    """p = N(0, I) smoothed by N(0, σ²I) is N(0, (1 + σ²) I): score −x / (1 + σ²)."""
    return -x / (1 + sigma**2)


def test_tweedie_step_shrinks_a_unit_gaussian_by_one_over_one_plus_sigma_squared():
    # Langevin at σ = 1 samples p_σ = N(0, 2I) (std 1.41); one Tweedie step maps x to E[x₀ | x] = x/2,
    # whose std is 1/√2 = 0.71 while the data's is 1.00: the final step over-shrinks when σ is not small.
    blurred = sampling.sample_langevin(_unit_gaussian_score, 1.0, eps=0.1, n=4000, seed=0, steps=400)
    denoised = sampling.sample_langevin(_unit_gaussian_score, 1.0, eps=0.1, n=4000, seed=0, steps=400,
                                        final_denoise=True)
    assert float(blurred.samples.std()) == pytest.approx(2**0.5, rel=0.04)
    assert float(denoised.samples.std()) == pytest.approx(2**-0.5, rel=0.04)
    torch.testing.assert_close(denoised.samples, tweedie(blurred.samples, 1.0, _unit_gaussian_score(blurred.samples, 1.0)))


def test_annealed_and_denoising_samplers_recover_a_gaussian_mixture_with_the_exact_score():
    mixture = dataset_mixture("8-gaussians")
    score = mixture_score_fn(mixture)
    sigmas = geometric_sigmas(4.0, 0.01, 10)
    fresh = sample_dataset("8-gaussians", 2000, seed=5)
    for result in (sampling.sample_annealed_langevin(score, sigmas, n=2000, seed=0),
                   sampling.sample_denoising(score, sigmas, n=2000, seed=0)):
        assert energy_distance(result.samples, fresh) < 0.01
        assert max(abs(s - 1 / 8) for s in mode_shares(result.samples, mixture.means_tensor())) < 0.03


def test_draw_samples_picks_the_sampler_by_model_kind():
    run = quick_score_run(steps=20)
    JobPool(1).submit(lambda j: training_run.training_job(j, run, previews=False, loss_floors=False)).wait(60)
    model = run.model()
    annealed = training_run.draw_samples(model, "annealed", n=50, steps_per_level=2, frames=5)
    assert annealed.labels[-1] == "final denoising step (Tweedie)" and annealed.samples.shape == (50, 2)
    assert training_run.draw_samples(model, "denoise", n=50).labels[-1] == "denoised (Tweedie mean)"
    with pytest.raises(InputError, match="unknown sampler"):
        training_run.draw_samples(model, "langevin", n=10)
    single = quick_score_run(steps=20, model="single-sigma")
    JobPool(1).submit(lambda j: training_run.training_job(j, single, previews=False, loss_floors=False)).wait(60)
    result = training_run.draw_samples(single.model(), "langevin", n=50, frames=5)
    assert result.labels[-1] == "final denoising step (Tweedie)"
    with pytest.raises(InputError, match="no noise ladder"):
        training_run.draw_samples(single.model(), "annealed", n=10)


# ----------------------------------------------------------------------------- the reference-score rule

def test_reference_score_is_exact_for_mixtures_and_empirical_otherwise():
    pts = sample_dataset("ncsn-mixture", 500, seed=0)
    ref = reference_score(DatasetSpec.builtin("ncsn-mixture"), pts)
    x = torch.randn(20, 2) * 4
    assert ref.kind == "exact"
    torch.testing.assert_close(ref.score(x, 0.7), dataset_mixture("ncsn-mixture").score(x, 0.7))
    moons = sample_dataset("moons", 300, seed=0)
    emp = reference_score(DatasetSpec.builtin("moons"), moons)
    assert emp.kind == "empirical"
    torch.testing.assert_close(emp.score(x, 0.3), empirical_score(moons, x, 0.3))
    assert reference_score(DatasetSpec.csv("any.csv"), moons).kind == "empirical"


# ----------------------------------------------------------------------------- the pages' computations

def test_forward_noising_denoises_with_the_exact_posterior_mean():
    r = forward_noising("8-gaussians", 400, 0.3, seed=0, lim=3.0, arrows=5, cells=7)
    exact = dataset_mixture("8-gaussians").score(torch.from_numpy(r.noisy), 0.3)
    np.testing.assert_allclose(r.denoised, r.noisy + 0.09 * exact.numpy(), rtol=1e-5, atol=1e-5)
    assert r.arrows.shape == (25, 2) and r.log_p.shape == (49,)


def test_ncsn_toy_plain_langevin_splits_evenly_and_annealed_recovers_80_20():
    # The Langevin page says "about 50/50" and "about 80/20" (NCSN paper, Fig. 3; exact scores).
    plain = ncsn_toy_sampling("langevin", n=1000, seed=0, eps=0.1, steps=1000)
    annealed = ncsn_toy_sampling("annealed", n=1000, seed=0, eps=0.1, steps=100)
    assert abs(plain.shares[1] - 0.5) < 0.06
    assert abs(annealed.shares[1] - 0.8) < 0.04
    assert annealed.paths.shape[1:] == (10, 2) and plain.paths.shape[0] > 50


def test_empirical_optimal_samples_copy_the_training_points():
    samples = empirical_optimal_samples("moons", 30, 300, seed=0)
    train = training_points("moons", 30, seed=0)
    copies = np.mean(nearest_distances(samples, train) < 0.01 * train.std(0).mean())
    assert copies > 0.9


# ----------------------------------------------------------------------------- uploads

def test_uploads_are_kept_once_per_content_under_a_safe_name(tmp_path):
    a = save_upload("../../etc/my points.csv", b"x,y\n1,2\n", folder=tmp_path)
    b = save_upload("other.csv", b"x,y\n1,2\n", folder=tmp_path)
    assert a.parent == b.parent and a.parent.parent.parent == tmp_path  # <owner>/<content hash>/<name>
    assert a.name == "my_points.csv" and a.read_bytes() == b"x,y\n1,2\n"
    assert not list(tmp_path.rglob("*.tmp"))
