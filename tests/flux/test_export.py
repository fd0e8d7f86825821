"""Export: the zip (prompt file + chosen images + manifest) and the standalone HTML handout."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from models.flux.export import (
    export_html,
    export_zip,
    export_zip_bytes,
    markdown_to_html,
    prompt_images,
    representative_image,
)
from models.flux.params import GenerationParams
from models.flux.prompt_file import PromptFile
from models.flux.store import DEMO_LABEL, ImageStore
from models.flux.tiny import TINY_MODEL_ID

PROMPTS = """\
# keep this comment
title = "Handout <script>alert('title')</script>"

[defaults]
steps = 4
width = 256
height = 256

[[sections]]
id = "s1"
title = "First & <b>best</b>"
commentary = \"\"\"
Intro with **bold**, *italic* and `code`.

<script>alert("xss")</script>

- a [safe link](https://example.org/page?a=1&b=2)
- a [bad link](javascript:alert(1))
\"\"\"

[[sections.prompts]]
id = "cat"
text = "a cat <img src=x onerror=alert(1)>"
seed = 1
commentary = "The **cat**."
tags = ["<tag>"]
translation = "un chat"

[[sections.prompts]]
id = "dog"
text = "a dog"
seed = 5

[[sections]]
id = "s2"
title = "Discussion"
commentary = "No images here."
"""


def solid(color: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", (32, 32), color)


def save(store: ImageStore, text: str, seed: int, prompt_id: str, color, model_id: str = TINY_MODEL_ID) -> Path:
    params = GenerationParams(prompt=text, seed=seed, steps=4, width=256, height=256, model_id=model_id)
    return store.save(solid(color), params, extra={"prompt_id": prompt_id, "is_demo": model_id == TINY_MODEL_ID})


@pytest.fixture
def setup(tmp_path):
    path = tmp_path / "lesson.toml"
    path.write_text(PROMPTS, encoding="utf-8")
    store = ImageStore(tmp_path / "images")
    cat_text = "a cat <img src=x onerror=alert(1)>"
    files = {
        "cat1": save(store, cat_text, 1, "cat", (255, 0, 0)),
        "cat2": save(store, cat_text, 2, "cat", (0, 255, 0)),
        "old": save(store, "an older text of the cat prompt", 3, "cat", (0, 0, 255)),
    }
    return path, store, files


def test_zip_holds_the_file_the_representative_images_and_a_manifest(setup, tmp_path):
    path, store, files = setup
    out = export_zip(path, store, tmp_path / "out" / "lesson.zip")
    with zipfile.ZipFile(out) as zf:
        names = sorted(zf.namelist())
        assert names == ["images/s1/cat_seed1.png", "lesson.toml", "manifest.json"]
        assert zf.read("lesson.toml") == path.read_bytes()
        assert zf.read("images/s1/cat_seed1.png") == files["cat1"].read_bytes()  # the file's seed, not the newest
        manifest = json.loads(zf.read("manifest.json"))
    entries = {e["prompt_id"]: e for e in manifest["images"]}
    assert entries["cat"]["seed"] == 1 and entries["cat"]["is_demo"] and entries["cat"]["label"] == DEMO_LABEL
    assert entries["dog"]["file"] is None  # not generated yet
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["lesson.zip"]  # no temp file left


def test_zip_takes_the_starred_image_and_unsaved_edits(setup):
    path, store, files = setup
    pf = PromptFile.load(path)
    pf.set_chosen("cat", 2)
    pf.set_prompt_commentary("cat", "edited, not saved")
    with zipfile.ZipFile(io.BytesIO(export_zip_bytes(pf, store))) as zf:
        assert "images/s1/cat_seed2.png" in zf.namelist()
        assert zf.read("images/s1/cat_seed2.png") == files["cat2"].read_bytes()
        assert "edited, not saved" in zf.read("lesson.toml").decode("utf-8")
        assert "# keep this comment" in zf.read("lesson.toml").decode("utf-8")
    key = files["cat1"].stem  # a cache key works as a star too
    pf.set_chosen("cat", key)
    with zipfile.ZipFile(io.BytesIO(export_zip_bytes(pf, store))) as zf:
        assert "images/s1/cat_seed1.png" in zf.namelist()


def test_prompt_images_filters_by_text_and_model(setup, tmp_path):
    path, store, files = setup
    cat_text = "a cat <img src=x onerror=alert(1)>"
    real = save(store, cat_text, 1, "cat", (9, 9, 9), model_id="black-forest-labs/FLUX.1-schnell")
    found = prompt_images(store, "cat", cat_text)
    assert {f.path for f in found} == {files["cat1"], files["cat2"], real}  # not the old text's image
    demo_only = prompt_images(store, "cat", cat_text, model_id=TINY_MODEL_ID)
    assert {f.path for f in demo_only} == {files["cat1"], files["cat2"]}
    # A real image beats a demo one with the same seed; with no seed match the newest real one wins.
    assert representative_image(found, None, 1).path == real
    assert representative_image(found, 2, 1).path == files["cat2"]
    assert representative_image([], None, 1) is None


def test_html_escapes_user_text_and_embeds_images(setup):
    path, store, files = setup
    page = export_html(path, store, max_side=None)
    # Nothing the user typed becomes markup.
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "a cat &lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;best&lt;/b&gt;" in page and "&lt;tag&gt;" in page
    assert 'href="javascript' not in page
    assert '<a href="https://example.org/page?a=1&amp;b=2" rel="noopener noreferrer">safe link</a>' in page
    assert "<strong>bold</strong>" in page and "<em>italic</em>" in page and "<code>code</code>" in page
    # Sections in order, the discussion section without images.
    assert page.index("First &amp;") < page.index("Discussion")
    # The representative image is embedded byte for byte, labelled as a demo, with its parameters.
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(uris) == 1
    assert base64.b64decode(uris[0]) == files["cat1"].read_bytes()
    assert page.count(DEMO_LABEL) == 1
    assert "seed 1 · 4 steps · 256×256" in page
    assert "Translation: “un chat”" in page
    assert "not generated yet" in page  # the dog


def test_html_shrinks_big_images(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('title = "t"\n[[sections]]\nid = "s"\n[[sections.prompts]]\nid = "p"\ntext = "x"\nseed = 0\n',
                    encoding="utf-8")
    store = ImageStore(tmp_path / "images")
    params = GenerationParams(prompt="x", seed=0, width=1024, height=512)
    store.save(Image.new("RGB", (1024, 512), (10, 20, 30)), params, extra={"prompt_id": "p"})
    page = export_html(path, store, max_side=128)
    data = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", page).group(1))
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (128, 64)
    assert DEMO_LABEL not in page  # a real (non-demo) image has no demo label


@pytest.mark.parametrize(
    "source, expected",
    [
        ("plain & simple", "<p>plain &amp; simple</p>"),
        ("# Title\ntext", "<h1>Title</h1>\n<p>text</p>"),
        ("line one\nline two\n\nnext", "<p>line one\nline two</p>\n<p>next</p>"),
        ("- a\n  more\n- **b**", "<ul>\n<li>a\nmore</li>\n<li><strong>b</strong></li>\n</ul>"),
        ("1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>"),
        ("`<b>*x*</b>`", "<p><code>&lt;b&gt;*x*&lt;/b&gt;</code></p>"),
        ("snake_case and *it*", "<p>snake_case and <em>it</em></p>"),
        ("[x](http://a.b/c) [y](data:text/html,hi)", '<p><a href="http://a.b/c" rel="noopener noreferrer">x</a> '
                                                      "[y](data:text/html,hi)</p>"),
        ('[q](https://a.b/"onmouseover=x)', '<p><a href="https://a.b/%22onmouseover=x" '
                                            'rel="noopener noreferrer">q</a></p>'),
        ("```\n<i>raw</i>\n```", "<pre><code>&lt;i&gt;raw&lt;/i&gt;\n</code></pre>"),
        ("", ""),
    ],
)
def test_markdown_commentary(source, expected):
    assert markdown_to_html(source) == expected


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "before <script>alert(1)</script> after",
    "<img src=x onerror=alert(1)>",
    "text <img src=x onerror=alert(1)> more",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click][r]\n\n[r]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "[click](data:text/html;base64,PHNjcmlwdD4=)",
    "![x](javascript:alert(1))",
    "![x](https://tracker.example/pixel.png)",  # images are off: a handout never fetches anything
])
def test_markdown_never_lets_markup_or_scripts_through(source):
    out = markdown_to_html(source)
    assert all(tag in ("p", "/p", "a", "/a") for tag in re.findall(r"<(/?\w+)", out)), out  # typed tags escaped
    assert all(href.startswith("https://") for href in re.findall(r'href="([^"]*)"', out)), out
    assert 'href="javascript' not in out.lower() and 'href="data' not in out


def test_export_names_are_prompt_id_and_seed():
    from models.flux.export import export_name

    assert export_name("witch-black-hole", 1234) == "witch-black-hole_seed1234.png"
    assert export_name("pastoral-holiday-mixed-script.translation", 1860) == \
        "pastoral-holiday-mixed-script.translation_seed1860.png"
    assert export_name("../a b", 7) == "a-b_seed7.png"  # never a path: the lightbox's download name
    assert export_name(None, 3) == "image_seed3.png"
