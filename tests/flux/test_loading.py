"""Finding weights (folder, Hugging Face cache layout, tiny, auto), memory plans, loading, settings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from models.flux.loading import (
    GB, InsufficientMemory, MemoryPlan, ModelNotFound, ModelSource, load_pipeline, next_offload_level, plan_memory,
    resolve_model, weights_folder,
)
from models.flux.settings import SCHNELL_REPO_ID, SettingsError, load_settings
from models.flux.tiny import TINY_MODEL_ID, TINY_REVISION
from tests.helpers import run_python

CPU_PLAN = MemoryPlan(device="cpu", dtype="float32", summary="test: CPU float32")
REAL = ModelSource(kind="hf-cache", path=None, repo_id=SCHNELL_REPO_ID, revision="abc")


# ----------------------------------------------------------------------------- settings


def test_settings_defaults_and_environment(tmp_path):
    s = load_settings({})
    assert s.model == "auto" and s.allow_download is False
    assert s.output_dir.name == "outputs" and s.tiny_dir.parts[-2:] == (".cache", "tiny-flux")
    assert s.prompts_file.parts[-2:] == ("prompts", "part1.toml")
    from huggingface_hub import constants

    assert s.cache_dir == s.resolved_cache_dir == Path(constants.HF_HUB_CACHE)  # huggingface_hub's default

    s = load_settings({"DC_FLUX_MODEL": "tiny", "DC_OUTPUT_DIR": str(tmp_path / "o"), "DC_TINY_DIR": str(tmp_path),
                       "DC_ALLOW_DOWNLOAD": "yes", "DC_HF_CACHE": str(tmp_path / "c"),
                       "DC_PROMPTS_FILE": str(tmp_path / "p.toml")})
    assert (s.model, s.output_dir, s.tiny_dir, s.allow_download, s.resolved_cache_dir, s.prompts_file) == (
        "tiny", tmp_path / "o", tmp_path, True, tmp_path / "c", tmp_path / "p.toml")
    with pytest.raises(SettingsError, match="DC_ALLOW_DOWNLOAD"):
        load_settings({"DC_ALLOW_DOWNLOAD": "maybe"})
    with pytest.raises(Exception):
        s.model = "x"  # frozen


# ----------------------------------------------------------------------------- finding the weights


def test_tiny_and_auto_without_cache(tiny_settings, tiny_dir):
    tiny = resolve_model("tiny", tiny_settings)
    assert (tiny.kind, tiny.is_demo, tiny.model_id, tiny.revision) == ("tiny", True, TINY_MODEL_ID, TINY_REVISION)
    assert tiny.path == tiny_dir
    auto = resolve_model("auto", tiny_settings)
    assert auto.is_demo and auto.kind == "tiny"
    assert SCHNELL_REPO_ID in auto.note and "demo" in auto.note
    # A folder that holds the demo pipeline is recognised as the demo too.
    assert resolve_model(str(tiny_dir), tiny_settings).is_demo


def test_folder_source_loads(tiny_settings, tiny_dir, tmp_path, flux_helpers):
    folder = flux_helpers.copy_without_marker(tiny_dir, tmp_path / "my-flux")
    source = resolve_model(str(folder), tiny_settings)
    assert (source.kind, source.is_demo, source.path, source.model_id) == ("folder", False, folder, str(folder))
    pipe = load_pipeline(source, CPU_PLAN)
    assert type(pipe).__name__ == "FluxPipeline"
    assert pipe.transformer.dtype.__str__() == "torch.float32"


def test_hf_cache_layout_snapshot_and_refs(tiny_settings, tiny_dir, tmp_path, flux_helpers):
    cache = tmp_path / "hub"
    commit = "c0ffee" * 6 + "abcd"
    snapshot = flux_helpers.make_hf_cache(cache, "acme/flux-mini", tiny_dir, commit)
    settings = replace(tiny_settings, cache_dir=cache)
    source = resolve_model("acme/flux-mini", settings)
    assert (source.kind, source.repo_id, source.revision, source.path) == ("hf-cache", "acme/flux-mini", commit,
                                                                          snapshot)
    assert not source.is_demo and source.model_id == "acme/flux-mini" and commit[:8] in source.label
    assert load_pipeline(source, CPU_PLAN).transformer is not None
    # huggingface_hub agrees that this is a cache entry.
    from huggingface_hub import scan_cache_dir

    assert {r.repo_id for r in scan_cache_dir(cache).repos} == {"acme/flux-mini"}
    # Loading by repo id through huggingface_hub itself (local_files_only) also works on this layout.
    by_id = ModelSource(kind="hf-cache", path=None, repo_id="acme/flux-mini", cache_dir=cache)
    assert load_pipeline(by_id, CPU_PLAN).vae is not None
    # An explicit revision that is cached / not cached.
    assert resolve_model(f"acme/flux-mini@{commit}", settings).path == snapshot
    with pytest.raises(ModelNotFound, match="revision deadbeef"):
        resolve_model("acme/flux-mini@deadbeef", settings)


def test_hf_cache_without_refs_takes_the_newest_pipeline_snapshot(tiny_settings, tiny_dir, tmp_path, flux_helpers):
    """A snapshot copied in by hand (no refs/main) is still found, through huggingface_hub's cache scan."""
    cache = tmp_path / "hub"
    commit = "ab" * 20
    snapshot = flux_helpers.make_hf_cache(cache, "acme/by-hand", tiny_dir, commit)
    (snapshot.parents[1] / "refs" / "main").unlink()
    source = resolve_model("acme/by-hand", replace(tiny_settings, cache_dir=cache))
    assert (source.path, source.revision) == (snapshot, commit)
    with pytest.raises(ModelNotFound, match="not on this machine"):
        resolve_model("acme/other", replace(tiny_settings, cache_dir=cache))
    with pytest.raises(ModelNotFound, match="not on this machine"):  # a cache folder that does not exist
        resolve_model("acme/by-hand", replace(tiny_settings, cache_dir=tmp_path / "no-cache"))


def test_finding_the_demo_builds_nothing_until_it_is_loaded(tiny_settings, tmp_path):
    settings = replace(tiny_settings, tiny_dir=tmp_path / "tiny-later")
    source = resolve_model("tiny", settings)
    assert source.is_demo and source.path == tmp_path / "tiny-later" and not source.path.exists()
    assert weights_folder(source) == source.path and (source.path / "model_index.json").is_file()


def test_auto_prefers_cached_schnell(tiny_settings, tiny_dir, tmp_path, flux_helpers):
    cache = tmp_path / "hub"
    flux_helpers.make_hf_cache(cache, SCHNELL_REPO_ID, tiny_dir)
    source = resolve_model("auto", replace(tiny_settings, cache_dir=cache))
    assert source.kind == "hf-cache" and source.repo_id == SCHNELL_REPO_ID and not source.is_demo


def test_missing_model_message(tiny_settings):
    with pytest.raises(ModelNotFound) as err:
        resolve_model(SCHNELL_REPO_ID, tiny_settings)
    msg = str(err.value)
    assert "\n" not in msg
    for needle in (str(tiny_settings.resolved_cache_dir), "licence", "HF_TOKEN", f"hf download {SCHNELL_REPO_ID}",
                   "huggingface-cli download", "DC_FLUX_MODEL", "--model tiny"):
        assert needle in msg, needle
    with pytest.raises(ModelNotFound, match="does not exist"):
        resolve_model("./no/such/folder", tiny_settings)


def test_missing_model_cli_is_one_line_and_offline(run_cli, cli_env):
    # No network is touched (HF_HUB_OFFLINE is not needed for that; drop it to prove it).
    env = {k: v for k, v in cli_env.items() if k != "HF_HUB_OFFLINE"}
    run = run_cli("info", "--model", "acme/not-downloaded", env=env, timeout=60)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: Model acme/not-downloaded is not on this")
    assert "Traceback" not in run.stderr


def test_bad_folders(tiny_settings, tiny_dir, tmp_path, flux_helpers):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelNotFound, match="no model_index.json"):
        resolve_model(str(empty), tiny_settings)
    broken = flux_helpers.copy_without_marker(tiny_dir, tmp_path / "broken")
    import shutil

    shutil.rmtree(broken / "transformer")  # an interrupted download
    with pytest.raises(ModelNotFound, match="incomplete: missing transformer/"):
        resolve_model(str(broken), tiny_settings)


def test_allow_download_defers_to_the_hub(tiny_settings):
    source = resolve_model("acme/elsewhere", replace(tiny_settings, allow_download=True))
    assert source.path is None and source.local_files_only is False and source.repo_id == "acme/elsewhere"
    # Without the permission, everything stays local.
    assert resolve_model("tiny", tiny_settings).local_files_only


# ----------------------------------------------------------------------------- memory plans (pure numbers)


def test_plan_demo_always_cpu_float32(tiny_settings):
    plan = plan_memory(resolve_model("tiny", tiny_settings), cuda_free_bytes=80 * GB, ram_bytes=1 * GB, has_mps=True)
    assert (plan.device, plan.dtype, plan.offload, plan.warning) == ("cpu", "float32", "none", None)


@pytest.mark.parametrize("free, offload, tiling", [
    (79 * GB, "none", False),     # H100
    (35 * GB, "none", False),
    (30 * GB, "model", False),    # 32 GB card
    (24 * GB, "model", False),
    (23 * GB, "sequential", True),  # RTX 4090 after the desktop takes its share
    (8 * GB, "sequential", True),
])
def test_plan_cuda_levels(free, offload, tiling):
    plan = plan_memory(REAL, cuda_free_bytes=free, ram_bytes=64 * GB, has_mps=False, cpu_count=8)
    assert (plan.device, plan.dtype, plan.offload, plan.vae_tiling) == ("cuda", "bfloat16", offload, tiling)
    assert plan.summary and plan.seconds_per_image > 0


def test_plan_never_float16_and_warns_on_low_ram():
    for free in (0, 5 * GB, 25 * GB, 40 * GB):
        for mps in (False, True):
            try:
                plan = plan_memory(REAL, cuda_free_bytes=free, ram_bytes=128 * GB, has_mps=mps, cpu_count=4)
            except InsufficientMemory:
                continue
            assert plan.dtype != "float16"
    low = plan_memory(REAL, cuda_free_bytes=26 * GB, ram_bytes=16 * GB, has_mps=False)
    assert low.offload == "model" and "16 GB of RAM" in low.warning


def test_plan_mps_and_cpu():
    mps = plan_memory(REAL, cuda_free_bytes=0, ram_bytes=32 * GB, has_mps=True)
    assert (mps.device, mps.dtype) == ("mps", "bfloat16") and "32 GB" in mps.warning
    assert plan_memory(REAL, cuda_free_bytes=0, ram_bytes=64 * GB, has_mps=True).warning is None
    # A tiny GPU is no help: CPU.
    cpu = plan_memory(REAL, cuda_free_bytes=2 * GB, ram_bytes=128 * GB, has_mps=False, cpu_count=8)
    assert (cpu.device, cpu.dtype, cpu.offload) == ("cpu", "float32", "none")
    assert "No GPU" in cpu.warning and "minutes" in cpu.warning
    # Twice the cores, half the estimated time.
    cpu16 = plan_memory(REAL, cuda_free_bytes=0, ram_bytes=128 * GB, has_mps=False, cpu_count=16)
    assert cpu16.seconds_per_image == pytest.approx(cpu.seconds_per_image / 2)


def test_plan_refuses_cpu_without_enough_ram():
    with pytest.raises(InsufficientMemory) as err:
        plan_memory(REAL, cuda_free_bytes=0, ram_bytes=24 * GB, has_mps=False, cpu_count=2)
    msg = str(err.value)
    assert "24 GB" in msg and "68 GB" in msg and "--model tiny" in msg


def test_next_offload_level_chain():
    plan = plan_memory(REAL, cuda_free_bytes=79 * GB, ram_bytes=64 * GB, has_mps=False)
    seen = [plan.offload]
    while (plan := next_offload_level(plan)) is not None:
        seen.append(plan.offload)
        assert plan.device == "cuda" and plan.dtype == "bfloat16"
    assert seen == ["none", "model", "sequential"]
    assert next_offload_level(CPU_PLAN) is None


def test_load_refuses_gpu_plan_without_gpu(tiny_settings):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    gpu_plan = MemoryPlan(device="cuda", dtype="bfloat16", offload="model", summary="model offload")
    with pytest.raises(InsufficientMemory, match="CUDA GPU"):
        load_pipeline(resolve_model("tiny", tiny_settings), gpu_plan)


# ----------------------------------------------------------------------------- import cost


def test_engine_modules_do_not_import_diffusers():
    code = ("import sys, models.flux.generate, models.flux.store, models.flux.render, models.flux.loading, "
            "models.flux.cli; heavy = [m for m in ('diffusers', 'transformers', 'torch', 'accelerate') "
            "if m in sys.modules]; print(heavy)")
    run = run_python(code)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
