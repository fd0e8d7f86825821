"""A flow on the lab's training loop: learning, stop/resume, jobs, save/load, labels, reflow."""

import json
import threading

import pytest
import torch

from models.core.errors import InputError
from models.core.jobs import JobPool
from models.flow import run as flow_run
from models.flow.checkpoints import flow_zip_bytes, is_flow_run, load_flow_run, load_flow_zip, save_flow_run
from models.flow.exact import mixture_velocity, standardized
from models.flow.labels import labelled_data
from models.flow.reflow import reflow_pairs, reflow_trainer, straightness
from models.flow.trainer import FlowConfig, flow_trainer
from models.lab.datasets import DatasetSpec, dataset_mixture, sample_dataset
from models.lab.run import training_job

EIGHT = DatasetSpec.builtin("8-gaussians")


def _config(**kw):
    c = flow_run.flow_config(steps=kw.pop("steps", 300), **kw)
    c.hidden = 64
    return c


@pytest.fixture(scope="module")
def trained():
    data, _, _ = flow_run.load_training_data(EIGHT, conditional=False, n=4000)
    model, trainer = flow_run.train(data, _config())
    return data, model, trainer


def test_the_loss_falls_and_the_field_approaches_the_exact_velocity(trained):
    data, model, trainer = trained
    h = trainer.state.history
    assert h[-1]["loss"] < 0.9 * h[0]["loss"]
    exact = standardized(dataset_mixture("8-gaussians"), model.center, model.spread)
    z = torch.randn(400, 2, generator=torch.Generator().manual_seed(0))
    v, ve = model.standard_velocity(z, 0.8), mixture_velocity(exact, z.double(), 0.8).float()
    assert float((v - ve).norm(dim=1).mean() / ve.norm(dim=1).mean()) < 0.3
    # the implied score at a large σ (t = σ/(1+σ) near 1) is close to the exact mixture score
    x = sample_dataset("8-gaussians", 400, 3) + 2.0 * torch.randn(400, 2)
    s, ref = model.implied_score(x, 2.0), dataset_mixture("8-gaussians").score(x, 2.0)
    assert float((s - ref).norm(dim=1).mean() / ref.norm(dim=1).mean()) < 0.25


def test_stop_then_resume_continues_the_same_run():
    data, _, _ = flow_run.load_training_data(DatasetSpec.builtin("moons"), conditional=False, n=1000)
    config = _config(steps=60)
    config.log_every = 10
    trainer = flow_trainer(config, data.normalized)
    stop = threading.Event()
    trainer.run(lambda p: stop.set() if p.step >= 20 else None, stop)
    assert trainer.state.step == 20
    trainer.run()
    assert trainer.state.step == 60
    assert [r["step"] for r in trainer.state.history] == [10, 20, 30, 40, 50, 60]


def test_a_job_reports_history_and_a_live_preview():
    data, _, _ = flow_run.load_training_data(DatasetSpec.builtin("moons"), conditional=False, n=1000)
    run = flow_run.FlowRun(data=data, config=_config(steps=40))
    pool = JobPool(1)
    job = pool.submit(lambda j: training_job(j, run), name="flow")
    assert job.wait(120) and job.finished_ok
    snap = job.snapshot()
    assert snap.step == 40 and snap.history[-1]["step"] == 40
    assert snap.preview.shape == (flow_run.PREVIEW_POINTS, 2)
    assert run.model().steps_trained == 40


def test_save_and_load_give_the_same_flow(trained, tmp_path):
    _, model, trainer = trained
    d = save_flow_run(tmp_path / "run", model, trainer.state.history)
    assert is_flow_run(d) and not is_flow_run(tmp_path)
    loaded, history, names = load_flow_run(d)
    z = torch.randn(50, 2)
    assert torch.allclose(loaded.velocity(z, 0.3), model.velocity(z, 0.3))
    assert len(history) == len(trainer.state.history) and names == []
    assert loaded.config == model.config and loaded.steps_trained == 300
    again, _, _ = load_flow_zip(flow_zip_bytes(model, trainer.state.history), "flow.zip")
    assert torch.allclose(again.velocity(z, 0.3), model.velocity(z, 0.3))


def test_a_torn_or_crafted_flow_run_is_refused_in_one_line(trained, tmp_path):
    _, model, _ = trained
    d = save_flow_run(tmp_path / "run", model)
    (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(InputError, match="a torn or mixed run folder"):
        load_flow_run(d)
    d2 = save_flow_run(tmp_path / "run2", model)
    cfg = json.loads((d2 / "config.json").read_text())
    cfg["train"]["hidden"] = 100_000
    (d2 / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match="hidden must be a whole number from 1 to 1,024"):
        load_flow_run(d2)
    with pytest.raises(InputError, match="not a zip file"):
        load_flow_zip(b"nope")


def test_config_checks():
    with pytest.raises(InputError, match="unknown time sampling"):
        FlowConfig(time_sampling="cosine").validate()
    with pytest.raises(InputError, match="label dropout"):
        FlowConfig(label_dropout=1.0).validate()
    with pytest.raises(InputError, match="one label per training point"):
        flow_trainer(FlowConfig(num_classes=2), torch.randn(10, 2))


def test_labels_belong_to_the_points_drawn():
    moons = labelled_data(DatasetSpec.builtin("moons"), 2000, seed=4)
    # raw moons: the upper moon is (cos t, sin t), the lower (1 − cos t, ½ − sin t): mean y 0.64 vs −0.14
    raw_y = moons.data.points[:, 1]
    assert float(raw_y[moons.labels == 0].mean()) > float(raw_y[moons.labels == 1].mean()) + 0.5
    assert abs(float(moons.labels.float().mean()) - 0.5) < 0.05
    eight = labelled_data(EIGHT, 2000, seed=4)
    centers = dataset_mixture("8-gaussians").means_tensor()
    assert float((eight.data.points - centers[eight.labels]).norm(dim=1).max()) < 0.6
    with pytest.raises(InputError, match="no labels"):
        labelled_data(DatasetSpec.builtin("spirals"), 100)


def test_reflow_trains_on_the_parents_pairs_and_starts_from_its_weights(trained):
    _, model, _ = trained
    eps, x0 = reflow_pairs(model, 500, seed=1, steps=10)
    again = model.sample(n=500, steps=10, sampler="heun", start=eps).samples
    assert torch.allclose(model.to_data(x0), again, atol=1e-5)
    trainer = reflow_trainer(model, (eps, x0), steps=5)
    assert trainer.config.reflow == 1 and trainer.partners[0] is not None
    z = torch.randn(20, 2)
    assert torch.allclose(trainer.network(z, 0.5), model.network(z, 0.5))
    assert straightness(model, n=200, steps=20) > 0


def test_a_downloaded_run_loads_back_as_a_run_with_its_data(trained):
    data, model, trainer = trained
    run = flow_run.FlowRun(data=data, config=model.config, loaded=model, loaded_history=trainer.state.history)
    loaded, history, names = load_flow_zip(flow_run.run_zip_bytes(run), "flow.zip")
    back = flow_run.loaded_flow_run(loaded, history, names)
    assert back.data is not None and back.data.spec == EIGHT and back.steps_done == 300
    assert len(back.history) == len(trainer.state.history)
    z = torch.randn(20, 2)
    assert torch.allclose(back.model().velocity(z, 0.6), model.velocity(z, 0.6))
    with pytest.raises(InputError, match="train a flow first"):
        flow_run.run_zip_bytes(flow_run.FlowRun(data=data, config=model.config))


def _crafted_conditional_zip(**changes):
    """A conditional flow's zip, its config.json edited (the weights and their digest untouched)."""
    import io
    import zipfile

    data, labels, names = flow_run.load_training_data(EIGHT, conditional=True, n=500)
    config = flow_run.flow_config(steps=5, num_classes=len(names))
    config.hidden = 16
    run = flow_run.FlowRun(data=data, config=config, labels=labels, class_names=names)
    run.trainer = run.new_trainer()
    run.trainer.run()
    files = {}
    with zipfile.ZipFile(io.BytesIO(flow_zip_bytes(run.model(), run.trainer.state.history, names))) as zf:
        for info in zf.infolist():
            files[info.filename] = zf.read(info)
    cfg = json.loads(files["config.json"])
    for key, value in changes.items():
        if key == "dataset":
            cfg["dataset"] = value
        else:
            cfg[key] = value
    files["config.json"] = json.dumps(cfg).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, blob in files.items():
            zf.writestr(name, blob)
    return buf.getvalue()


def test_a_crafted_conditional_flow_zip_loads_into_a_run_the_page_can_show():
    """num_classes 8 with class_names [] crashed How FLUX samples; so would names for another dataset."""
    model, _, names = load_flow_zip(_crafted_conditional_zip(class_names=[]), "crafted.zip")
    assert len(names) == model.config.num_classes == 8 and all(isinstance(n, str) and n for n in names)
    model, history, names = load_flow_zip(_crafted_conditional_zip(dataset={"kind": "builtin", "name": "moons"}),
                                          "moons.zip")
    run = flow_run.loaded_flow_run(model, history, names)
    assert len(run.class_names) == 8
    assert run.data is None and run.labels is None  # moons has 2 classes: not this model's training data


def test_a_flow_zip_is_held_to_the_score_labs_size_limit():
    from models.lab.run_folder import MAX_ZIP_BYTES

    with pytest.raises(InputError, match=f"larger than {MAX_ZIP_BYTES // 1_000_000} MB"):
        load_flow_zip(b"PK" + b"\0" * MAX_ZIP_BYTES, "big.zip")
