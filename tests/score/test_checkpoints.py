"""Saved runs (models/score/checkpoints.py, saved_config.py): an uploaded zip is checked before
anything is built, never reads a server path, and a run folder is written whole or not at all."""

from __future__ import annotations

import io
import json
import time
import tracemalloc
import zipfile

import pytest
import torch

from models.core.errors import InputError
from models.lab import run_folder
from models.lab.datasets import sample_dataset
from models.score import checkpoints
from models.score.checkpoints import ScoreModel, load_run, load_run_zip, run_zip_bytes, save_run
from models.score.trainer import TrainConfig, score_trainer

DATA = sample_dataset("moons", 500, seed=0)
SMALL = dict(hidden=16, depth=2, batch_size=32, log_every=5, levels=4)


def _model(steps: int = 10, seed: int = 0, dataset: dict | None = None) -> tuple[ScoreModel, list[dict]]:
    t = score_trainer(TrainConfig(steps=steps, seed=seed, **SMALL), DATA)
    t.run()
    return ScoreModel.from_trainer(t, dataset=dataset or {"kind": "builtin", "name": "moons"}), t.state.history


@pytest.fixture(scope="module")
def good_zip() -> bytes:
    model, history = _model()
    return run_zip_bytes(model, history)


def _zip_with(base: bytes, config_edit=None, extra: dict[str, bytes] | None = None) -> bytes:
    """`base` with its config.json changed by `config_edit(cfg)` and files replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "config.json" and config_edit is not None:
                cfg = json.loads(data)
                config_edit(cfg)
                data = json.dumps(cfg).encode()
            if extra and info.filename in extra:
                data = extra.pop(info.filename)
            dst.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def _set(path: str, value):
    def edit(cfg):
        *parents, last = path.split(".")
        node = cfg
        for key in parents:
            node = node[key]
        node[last] = value
    return edit


def _drop(name: str):
    return lambda cfg: cfg.pop(name)


MALFORMED = {
    "model bogus": _set("train.model", "bogus"),
    "hidden text": _set("train.hidden", "abc"),
    "hidden 20000": _set("train.hidden", 20000),
    "depth 2.5": _set("train.depth", 2.5),
    "depth 100": _set("train.depth", 100),
    "sigmas empty": _set("sigmas", []),
    "sigmas increasing": _set("sigmas", [0.1, 0.2, 0.3, 0.4]),
    "sigmas with NaN": _set("sigmas", [1.0, float("nan"), 0.2, 0.1]),
    "sigmas negative": _set("sigmas", [1.0, 0.5, 0.2, -0.1]),
    "sigmas 1000 levels": _set("sigmas", [1.0 / (i + 1) for i in range(1000)]),
    "sigmas text": _set("sigmas", "big"),
    "scale 0 (old name)": lambda cfg: cfg.update(scale=0, shift=cfg.pop("center")) or cfg.pop("spread"),
    "spread inf": _set("spread", float("inf")),
    "shift of 3": lambda cfg: cfg.update(shift=[0.0, 0.0, 0.0], scale=cfg.pop("spread")) or cfg.pop("center"),
    "center text": _set("center", ["a", 1]),
    "center 1e400": _set("center", [10**400, 0]),
    "seed 2**70": _set("train.seed", 2**70),
    "seed -1": _set("train.seed", -1),
    "steps_trained negative": _set("steps_trained", -5),
    "steps_trained text": _set("steps_trained", "many"),
    "lr text": _set("train.lr", "fast"),
    "lr true": _set("train.lr", True),
    "levels 10**6": _set("train.levels", 10**6),
    "batch 10**9": _set("train.batch_size", 10**9),
    "conditioning bogus": _set("train.conditioning", "bogus"),
    "train not an object": _set("train", [1, 2]),
    "sigmas missing": _drop("sigmas"),
    "dataset kind bogus": _set("dataset", {"kind": "bogus"}),
    "dataset a number": _set("dataset", 5),
    "format_version 99": _set("format_version", 99),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_config_is_one_input_error_before_anything_is_built(good_zip, case, monkeypatch):
    built = []
    monkeypatch.setattr(checkpoints, "build_network", lambda *a, **k: built.append(1))
    blob = _zip_with(good_zip, MALFORMED[case])
    with pytest.raises(InputError) as err:
        load_run_zip(blob, "m.zip")
    message = str(err.value)
    assert "\n" not in message and message.startswith("m.zip") and len(message) < 300, message
    assert built == []


def test_config_json_that_is_not_an_object_or_too_deep_is_one_line(good_zip):
    for text in (b"[1, 2]", b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe", b"{" + b" " * 2_000_000 + b"}"):
        with pytest.raises(InputError, match="config.json"):
            load_run_zip(_zip_with(good_zip, extra={"config.json": text}), "m.zip")


def test_twelve_million_loss_rows_are_read_in_well_under_a_second(good_zip):
    rows = b"step,loss\n" + b"1,1\n" * 12_000_000
    blob = _zip_with(good_zip, extra={"losses.csv": rows})
    assert len(blob) < 300_000  # a small upload...
    started = time.perf_counter()
    model, history = load_run_zip(blob, "m.zip")
    seconds = time.perf_counter() - started
    assert len(history) == run_folder.MAX_HISTORY_ROWS
    assert seconds < 1.0, seconds                 # ...that once took 82 s
    tracemalloc.start()
    load_run_zip(blob, "m.zip")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 40_000_000, peak                # ...and left the server at 3.6 GB


def test_a_huge_line_in_losses_csv_stops_the_reading(good_zip):
    blob = _zip_with(good_zip, extra={"losses.csv": b"step,loss" + b",x" * 10_000_000 + b"\n1,1\n"})
    started = time.perf_counter()
    _, history = load_run_zip(blob, "m.zip")
    assert history == [] and time.perf_counter() - started < 1.0


def test_an_uploaded_run_never_reads_a_server_path(good_zip, tmp_path, monkeypatch):
    from models.lab import points_csv
    from models.score import run as training_run

    secret = tmp_path / "secret.csv"
    secret.write_text("x,y\n" + "".join(f"{i},{i % 7}\n" for i in range(50)))
    opened = []
    real = points_csv.read_points_csv
    monkeypatch.setattr(points_csv, "read_points_csv", lambda p: opened.append(p) or real(p))
    import models.lab.datasets as datasets
    monkeypatch.setattr(datasets, "read_points_csv", lambda p: opened.append(p) or real(p))
    blob = _zip_with(good_zip, _set("dataset", {"kind": "csv", "path": str(secret)}))
    model, _ = load_run_zip(blob, "m.zip")
    assert model.dataset is None                                   # nothing the run front door would load
    assert model.dataset_from_upload == {"kind": "csv", "path": str(secret)}  # kept to show and save again
    assert "secret.csv" in model.dataset_label() and "not available" in model.dataset_label()
    assert training_run.data_for_loaded(model) is None
    assert opened == []
    back, _ = load_run_zip(run_zip_bytes(model), "again.zip")     # a re-download keeps the spec
    assert back.dataset_from_upload == {"kind": "csv", "path": str(secret)}


def test_a_run_folder_on_disk_keeps_its_csv_path(tmp_path):
    csv_path = tmp_path / "mine.csv"
    model, history = _model(dataset={"kind": "csv", "path": str(csv_path)})
    back = load_run(save_run(tmp_path / "run", model, history))
    assert back.dataset == {"kind": "csv", "path": str(csv_path)}   # the user's own run: the CLI may read it


def test_an_uploaded_builtin_dataset_is_still_available(good_zip):
    model, history = load_run_zip(good_zip, "m.zip")
    assert model.dataset == {"kind": "builtin", "name": "moons"} and history


# ----------------------------------------------------------------------------- a run folder, whole or not at all

def _same_weights(a: ScoreModel, b: ScoreModel) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.network.state_dict().values(), b.network.state_dict().values()))


@pytest.mark.parametrize("fail_on", ["model.safetensors", "config.json", "losses.csv"])
def test_a_crash_mid_save_keeps_the_old_run_and_shows_nothing_half_written(tmp_path, monkeypatch, fail_on):
    old, old_history = _model(seed=1)
    new, new_history = _model(seed=2)
    run_dir = save_run(tmp_path / "run", old, old_history)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    real = run_folder._write_file

    def crash(path, data):
        if path.name == fail_on:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(run_folder, "_write_file", crash)
    with pytest.raises(InputError, match="cannot write the run"):
        save_run(run_dir, new, new_history)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]        # no temp folder left behind
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before
    assert _same_weights(load_run(run_dir), old)
    monkeypatch.undo()
    save_run(run_dir, new, new_history)                            # and a later save replaces it whole
    assert _same_weights(load_run(run_dir), new)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_crash_before_anything_is_saved_leaves_no_run(tmp_path, monkeypatch):
    model, history = _model()
    monkeypatch.setattr(run_folder, "_write_file", lambda path, data: (_ for _ in ()).throw(OSError(5, "I/O")))
    with pytest.raises(InputError):
        save_run(tmp_path / "run", model, history)
    assert list(tmp_path.iterdir()) == []


def test_a_torn_folder_is_refused_with_one_line(tmp_path):
    a, b = _model(seed=1)[0], _model(seed=2)[0]
    save_run(tmp_path / "a", a)
    save_run(tmp_path / "b", b)
    # a crash of the old non-atomic save: the new weights beside the old config
    (tmp_path / "a" / "model.safetensors").write_bytes((tmp_path / "b" / "model.safetensors").read_bytes())
    with pytest.raises(InputError) as err:
        load_run(tmp_path / "a")
    assert "torn or mixed" in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "b" / "config.json").unlink()
    with pytest.raises(InputError, match="missing"):
        load_run(tmp_path / "b")


def test_save_run_never_replaces_other_files(tmp_path):
    model, _ = _model()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.txt").write_text("mine")
    (tmp_path / "file.txt").write_text("mine")
    for target, words in ((tmp_path / "notes", "other files"), (tmp_path / "file.txt", "is a file"),
                          (tmp_path / "file.txt" / "run", "is a file")):
        with pytest.raises(InputError, match=words):
            save_run(target, model)
    assert (tmp_path / "notes" / "thesis.txt").read_text() == "mine"
    assert (tmp_path / "file.txt").read_text() == "mine"
