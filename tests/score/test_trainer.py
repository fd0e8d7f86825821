"""Trainer behaviour: determinism, callbacks, stop, resume, NaN guard, checkpoints."""

import json
import math
import threading

import pytest
import torch

from models.core.errors import InputError
from models.lab.datasets import sample_dataset
from models.lab.training import TrainingDiverged
from models.score.checkpoints import ScoreModel, load_run, save_run
from models.score.trainer import TrainConfig, score_trainer

DATA = sample_dataset("moons", 2000, seed=0)
SMALL = dict(hidden=32, depth=2, batch_size=64, log_every=10)


def test_training_is_seed_deterministic_on_cpu():
    a, b = score_trainer(TrainConfig(steps=60, seed=3, **SMALL), DATA), score_trainer(TrainConfig(steps=60, seed=3, **SMALL), DATA)
    a.run(), b.run()
    for pa, pb in zip(a.network.parameters(), b.network.parameters()):
        assert torch.equal(pa, pb)
    c = score_trainer(TrainConfig(steps=60, seed=4, **SMALL), DATA)
    c.run()
    assert not torch.equal(next(a.network.parameters()), next(c.network.parameters()))


def test_callback_reports_every_k_steps_with_per_sigma_losses():
    seen = []
    t = score_trainer(TrainConfig(steps=50, levels=5, **SMALL), DATA)
    t.run(seen.append)
    assert [p.step for p in seen] == [10, 20, 30, 40, 50]
    assert all(len(p.per_sigma) == 5 and math.isfinite(p.loss) and p.steps_per_second > 0 for p in seen)
    assert [row["step"] for row in t.state.history] == [10, 20, 30, 40, 50]
    # the reported loss is the mean of the per-level losses (the NCSN objective)
    assert seen[-1].loss == pytest.approx(sum(seen[-1].per_sigma) / 5, rel=1e-4)


def test_ncsn_loss_falls_towards_its_bayes_floor():
    from models.score.reference import dsm_loss_floor, empirical_score_fn
    t = score_trainer(TrainConfig(steps=600, log_every=20, hidden=64, depth=2), DATA)
    t.run()
    # the NCSN loss is the mean over levels of per-level DSM losses, each bounded below by its floor
    sigmas = t.objective.sigmas
    floor = sum(dsm_loss_floor(empirical_score_fn(DATA), DATA, float(s), n=4000) for s in sigmas) / len(sigmas)
    first, last = t.state.history[0]["loss"], t.state.history[-1]["loss"]
    assert floor < last < first
    # the empirical floor is what a memorizing network reaches; a generalizing one stays above it
    assert last - floor < 0.7 * (first - floor)


def test_stop_event_stops_and_resume_continues_exactly():
    stop = threading.Event()
    t = score_trainer(TrainConfig(steps=100, **SMALL), DATA)

    def stop_at_30(p):
        if p.step == 30:
            stop.set()

    t.run(stop_at_30, stop)
    assert t.state.step == 30
    stop.clear()
    t.run(stop_event=stop)
    assert t.state.step == 100
    # resuming in two parts gives the same weights as one uninterrupted run
    whole = score_trainer(TrainConfig(steps=100, **SMALL), DATA)
    whole.run()
    for pa, pb in zip(t.network.parameters(), whole.network.parameters()):
        torch.testing.assert_close(pa, pb)


def test_nan_loss_stops_with_a_clear_message_and_keeps_finite_weights(monkeypatch):
    monkeypatch.setattr("models.lab.training.SNAPSHOT_EVERY_S", 0.0)  # a fallback copy every window
    t = score_trainer(TrainConfig(steps=100, ema=0.0, **SMALL), DATA)
    calls = {"n": 0}

    def poison_after_25_steps(module, inputs, output):
        calls["n"] += 1
        return output * float("nan") if calls["n"] > 25 else output

    t.network.register_forward_hook(poison_after_25_steps)
    with pytest.raises(TrainingDiverged) as info:
        t.run()
    msg = str(info.value)
    assert "NaN" in msg and "between steps 21 and 30" in msg and "smaller learning rate" in msg
    assert t.state.step == 20  # rolled back to the last logged, finite step
    assert [r["step"] for r in t.state.history] == [10, 20]
    assert all(torch.isfinite(p).all() for p in t.network.parameters())
    assert all(math.isfinite(r["loss"]) for r in t.state.history)


def test_learning_rate_10_is_caught_as_divergence():
    t = score_trainer(TrainConfig(steps=200, lr=10.0, **SMALL), DATA)
    with pytest.raises(TrainingDiverged, match="exploded.*smaller learning rate"):
        t.run()
    assert all(torch.isfinite(p).all() for p in t.network.parameters())


@pytest.mark.parametrize("bad, needle", [
    (dict(model="gan"), "unknown model"), (dict(objective="ssm"), "unknown objective"),
    (dict(steps=0), "steps"), (dict(lr=-1.0), "learning rate"), (dict(sigma_min=0.0), "σ min"),
    (dict(sigma_min=2.0, sigma_max=1.0), "smaller"), (dict(device="tpu"), "unknown device"),
])
def test_bad_settings_fail_with_a_clear_message(bad, needle):
    with pytest.raises(InputError, match=needle):
        score_trainer(TrainConfig(**{**SMALL, **bad}), DATA)


def test_cuda_requested_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(InputError, match="no CUDA"):
        score_trainer(TrainConfig(device="cuda", **SMALL), DATA)


def _trained(model="ncsn"):
    t = score_trainer(TrainConfig(model=model, steps=30, **SMALL), DATA)
    t.run()
    return t


@pytest.mark.parametrize("model", ["ncsn", "single-sigma"])
def test_checkpoint_round_trip_gives_identical_outputs(tmp_path, model):
    t = _trained(model)
    m = ScoreModel.from_trainer(t, center=[0.5, -1.0], spread=2.0, dataset={"kind": "builtin", "name": "moons"})
    save_run(tmp_path, m, t.state.history)
    back = load_run(tmp_path)
    x = torch.randn(100, 2)
    for sigma in (m.sigma, float(m.sigmas[0])):
        assert torch.equal(m.score(x, sigma), back.score(x, sigma))
    assert back.config == m.config and back.dataset == m.dataset and back.steps_trained == 30
    header = (tmp_path / "losses.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["step", "loss"] and len(header) == (2 + 10 if model == "ncsn" else 2)
    assert not list(tmp_path.glob("*.tmp"))


def test_score_model_undoes_standardization_by_the_chain_rule():
    t = _trained()
    plain = ScoreModel.from_trainer(t)
    moved = ScoreModel.from_trainer(t, center=[3.0, -2.0], spread=4.0)
    z = torch.randn(20, 2)
    x = z * 4.0 + torch.tensor([3.0, -2.0])
    torch.testing.assert_close(moved.score(x, 4.0 * 0.5), plain.score(z, 0.5) / 4.0)


def test_corrupt_missing_and_mismatched_checkpoints_fail_cleanly(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_run(tmp_path / "nope")
    t = _trained()
    save_run(tmp_path, ScoreModel.from_trainer(t))
    weights = tmp_path / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_run(tmp_path)
    weights.write_bytes(good)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["train"]["hidden"] = 33
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match="does not match"):
        load_run(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(InputError, match="not a valid run config"):
        load_run(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(InputError, match="missing"):
        load_run(tmp_path)


def test_the_old_model_name_dsm_means_single_sigma():
    config = TrainConfig(model="dsm")
    config.validate()
    assert config.model == "single-sigma"
    assert TrainConfig(model="single-sigma") == config
    with pytest.raises(InputError, match="single-sigma"):
        TrainConfig(model="gan").validate()


def test_a_run_saved_with_the_old_names_loads_and_samples_identically(tmp_path):
    from models.score.sampling import sample_langevin
    t = _trained("single-sigma")
    m = ScoreModel.from_trainer(t, center=[0.5, -1.0], spread=2.0, dataset={"kind": "builtin", "name": "moons"})
    save_run(tmp_path, m, t.state.history)
    # rewrite config.json as runs saved before the renames were: model "dsm", centre/spread as shift/scale
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["train"]["model"] = "dsm"
    cfg["shift"], cfg["scale"] = cfg.pop("center"), cfg.pop("spread")
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    back = load_run(tmp_path)
    assert back.config.model == "single-sigma" and back.config == m.config
    assert torch.equal(back.center, m.center) and back.spread == m.spread
    a, b = (sample_langevin(model.score, model.sigma, eps=0.01, n=200, seed=1, steps=20, final_denoise=True,
                            center=model.center, spread=model.spread).samples for model in (m, back))
    assert torch.equal(a, b)


def test_single_sigma_default_is_a_tenth_of_the_data_spread():
    from models.score.trainer import default_single_sigma
    points = torch.randn(5000, 2, generator=torch.Generator().manual_seed(0)) * torch.tensor([2.0, 4.0])
    assert default_single_sigma(points) == pytest.approx(0.1 * float(points.std(0).mean()))
    assert default_single_sigma(points) == pytest.approx(0.3, rel=0.05)
    t = score_trainer(TrainConfig(model="single-sigma", steps=1, **SMALL), points)
    assert t.config.sigma == round(default_single_sigma(points), 4)
    assert float(t.objective.sigmas[0]) == pytest.approx(t.config.sigma)
