"""One route from a prompt file to an image: the gallery and `render` build the same parameters (and so
the same cache keys) for every prompt of prompts/part1.toml, pick the model by the same rule, and the
engine's modules import without circles."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from models.flux.loading import resolve_model
from models.flux.params import SEED_MAX, GenerationParams
from models.flux.prompt_check import validate_text
from models.flux.prompt_file import PromptFile
from models.flux.render import load_checked, render_file, render_jobs
from models.flux.settings import SCHNELL_REPO_ID
from tests.helpers import run_python

REPO = Path(__file__).resolve().parents[2]
PART1 = REPO / "prompts" / "part1.toml"


def gallery_params(settings, path: Path) -> dict[str, GenerationParams]:
    """What the gallery page would generate for each prompt (its own helpers, without a browser)."""
    from app.gallery.backend import backend_status, model_spec
    from app.gallery.session import prompt_generation_params

    pf = PromptFile.load(path)
    backend = backend_status.__wrapped__(model_spec(settings, pf), settings)  # not st.cache_resource'd
    assert backend.model_id is not None, backend.error  # (an error about memory still names the model)
    return {pid: prompt_generation_params(pf, pid, backend) for pid in pf.prompt_ids()}


def render_params(settings, path: Path) -> dict[str, GenerationParams]:
    """What `render` would generate for each prompt."""
    lines: list[str] = []
    summary = render_file(path, settings=settings, log=lines.append, dry_run=True)
    source = resolve_model(settings.model, settings)
    jobs = dict(render_jobs(load_checked(path), source))
    assert summary.model_label == source.label and summary.missing == len(jobs)
    assert sum("would render" in line for line in lines) == len(jobs)
    return jobs


@pytest.mark.parametrize("model", ["tiny", "cached-schnell"])
def test_gallery_and_render_build_the_same_params_for_part1(model, tiny_settings, tiny_dir, tmp_path, flux_helpers):
    settings = tiny_settings
    if model == "cached-schnell":  # weights standing in for FLUX.1-schnell, in a Hugging Face cache layout
        cache = tmp_path / "hub"
        flux_helpers.make_hf_cache(cache, SCHNELL_REPO_ID, tiny_dir)
        settings = replace(tiny_settings, model="auto", cache_dir=cache)
    gallery = gallery_params(settings, PART1)
    render = render_params(settings, PART1)
    assert list(gallery) == list(render) and len(gallery) == 6
    for pid in gallery:
        assert gallery[pid] == render[pid], pid
        assert gallery[pid].cache_key() == render[pid].cache_key(), pid
        assert gallery[pid].validate() is gallery[pid]
    expected_model = "tiny-flux-demo" if model == "tiny" else SCHNELL_REPO_ID
    assert {p.model_id for p in gallery.values()} == {expected_model}
    assert all(p.width == p.height == 1024 for p in gallery.values())  # part1's own settings, not the demo's


def test_model_rule_is_shared_and_only_the_gallery_falls_back_to_the_demo(tiny_settings):
    """The file names FLUX.1-schnell, which is not cached: the gallery shows the demo, render refuses."""
    from app.gallery.backend import backend_status, model_spec
    from models.flux.loading import ModelNotFound

    settings = replace(tiny_settings, model="auto")
    pf = PromptFile.load(PART1)
    spec = model_spec(settings, pf)
    assert spec == SCHNELL_REPO_ID
    backend = backend_status.__wrapped__(spec, settings)
    assert backend.is_demo and SCHNELL_REPO_ID in backend.note
    assert backend.source == resolve_model(spec, settings, allow_demo=True)
    with pytest.raises(ModelNotFound, match="not on this machine"):
        render_file(PART1, settings=settings, log=lambda s: None, dry_run=True)


def test_the_seed_limit_fits_torch_and_a_prompt_file():
    import torch

    torch.Generator("cpu").manual_seed(SEED_MAX)  # accepted by the generator that draws the noise
    GenerationParams(prompt="x", seed=SEED_MAX).validate()
    pf = PromptFile.from_text('title = "t"\n[[sections]]\nid = "s"\n[[sections.prompts]]\nid = "p"\ntext = "x"\n')
    pf.set_prompt_seed("p", SEED_MAX)  # and writable back into the file, which `check` accepts
    assert validate_text(pf.dumps()) == [] and pf.params("p").seed == SEED_MAX
    with pytest.raises(ValueError, match="seed"):
        pf.set_prompt_seed("p", SEED_MAX + 1)


MODULES = ["params", "prompt_schema", "prompt_check", "prompt_file", "settings", "tiny", "quiet", "loading",
           "store", "generate", "render", "export", "cli"]


def test_no_import_circles():
    """Import each module first, in a fresh interpreter: a circle fails for the module that starts it."""
    code = ("import importlib, sys\n"
            "for name in sys.argv[1:]:\n"
            "    for key in [k for k in sys.modules if k.startswith('models')]:\n"
            "        del sys.modules[key]\n"
            "    importlib.import_module('models.flux.' + name)\n"
            "print('ok')")
    run = run_python(code, *MODULES)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def test_each_module_imports_only_modules_below_it():
    """The engine's imports form layers (read from the source): nothing imports a module that imports it back."""
    import ast

    graph: dict[str, set[str]] = {}
    for name in MODULES:
        tree = ast.parse((REPO / "models" / "flux" / f"{name}.py").read_text(encoding="utf-8"))
        found = {node.module.rsplit(".", 1)[-1] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("models.flux.")}
        graph[name] = found & set(MODULES)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph[start])

    circles = [name for name in MODULES if reaches(name, name, set())]
    assert circles == [], {name: graph[name] for name in circles}
