"""Export a prompt file and its images: a zip to share, and a standalone HTML handout to print.

The handout renders commentary with markdown-it-py with raw HTML switched off, so nothing a user types
in a prompt file can inject markup or scripts into the page. Links are kept only for http(s) addresses.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from models.core.atomic import atomic_write_bytes
from models.flux.prompt_file import PromptFile
from models.flux.settings import public_model_id
from models.flux.store import DEMO_LABEL, ImageStore, StoredImage

# --------------------------------------------------------------------------------------------------
# Markdown commentary -> HTML (markdown-it-py, CommonMark)


def _markdown_renderer():
    """CommonMark with raw HTML off (typed tags come out escaped), no images (a handout must not fetch
    anything), and links only to http(s) addresses (no javascript:, data:, file:)."""
    md = MarkdownIt("commonmark", {"html": False}).disable("image")
    md.validateLink = lambda url: url.strip().lower().startswith(("http://", "https://"))

    def link_open(renderer, tokens, idx, options, env):
        tokens[idx].attrSet("rel", "noopener noreferrer")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


_MARKDOWN = _markdown_renderer()


def markdown_to_html(text: str) -> str:
    """Commentary (Markdown) as HTML, escaping everything the user wrote.

    >>> markdown_to_html("**bold** <b>")
    '<p><strong>bold</strong> &lt;b&gt;</p>'
    """
    return _MARKDOWN.render(text or "").strip()


# --------------------------------------------------------------------------------------------------
# Which images belong to a prompt, and which one represents it


def prompt_images(store: ImageStore, prompt_id: str, text: str, model_id: str | None = None) -> list[StoredImage]:
    """Images made for this prompt (its id and its current text), newest first.

    model_id keeps only one model's images (so demo noise and real FLUX images are not mixed).
    Images of the same text made under another id (e.g. recalled from a PNG) count too.
    """
    seen: set[Path] = set()
    found: list[StoredImage] = []
    for image in store.find(prompt_id=prompt_id) + store.find(prompt=text):
        if image.path in seen or image.prompt != text:
            continue
        if model_id is not None and image.metadata.get("model_id") != model_id:
            continue
        seen.add(image.path)
        found.append(image)
    found.sort(key=lambda s: (s.mtime, s.path.name), reverse=True)
    return found


def export_name(prompt_id: str | None, seed: object) -> str:
    """A readable file name for an exported image, as AUTOMATIC1111 names its files: <prompt id>_seed<seed>.png."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in str(prompt_id or "image")).strip(".-") or "image"
    return f"{safe}_seed{seed}.png"


def image_key(image: StoredImage) -> str:
    """The cache key of a stored image (its file name without .png)."""
    return str(image.metadata.get("cache_key") or image.path.stem)


def matches_chosen(image: StoredImage, chosen: int | str | None) -> bool:
    """Is this the starred image? `chosen` is a seed (int) or a cache key (str)."""
    if chosen is None or isinstance(chosen, bool):
        return False
    if isinstance(chosen, int):
        return image.metadata.get("seed") == chosen
    return image_key(image) == chosen


def representative_image(images: list[StoredImage], chosen: int | str | None, seed: int | None) -> StoredImage | None:
    """The image that stands for a prompt: the starred one, else the one with the file's seed, else the newest.

    Among equals a real FLUX image is preferred over a demo one.
    """
    if not images:
        return None
    ordered = sorted(images, key=lambda s: s.is_demo)  # stable: keeps newest first within each group
    for wanted in (lambda s: matches_chosen(s, chosen), lambda s: seed is not None and s.metadata.get("seed") == seed):
        for image in ordered:
            if wanted(image):
                return image
    return ordered[0]


def _as_prompt_file(prompt_file: PromptFile | str | os.PathLike) -> PromptFile:
    return prompt_file if isinstance(prompt_file, PromptFile) else PromptFile.load(prompt_file)


def _selected(pf: PromptFile, store: ImageStore, model_id: str | None) -> list[tuple[dict, dict, StoredImage | None]]:
    """(section, prompt, its representative image or None) in file order."""
    out = []
    for section in pf.sections():
        for prompt in section["prompts"]:
            pid = prompt.get("id", "")
            images = prompt_images(store, pid, prompt.get("text", ""), model_id)
            seed = pf.params(pid).seed if pid else None
            out.append((section, prompt, representative_image(images, prompt.get("chosen"), seed)))
    return out


def _describe(image: StoredImage) -> dict[str, Any]:
    meta = image.metadata
    return {k: meta.get(k) for k in ("seed", "steps", "width", "height", "guidance_scale", "max_sequence_length",
                                      "model_id", "revision")}


# --------------------------------------------------------------------------------------------------
# Zip


def export_zip_bytes(prompt_file: PromptFile | str | os.PathLike, store: ImageStore, *,
                     model_id: str | None = None) -> bytes:
    """The zip as bytes: the prompt file, one image per prompt (starred, else first) and manifest.json.

    Layout: <file>.toml, images/<section id>/<prompt id>_seed<seed>.png, manifest.json (which image is
    which, with its parameters and whether it is a demo image).
    """
    pf = _as_prompt_file(prompt_file)
    name = pf.path.name if pf.path is not None else "prompts.toml"
    manifest: dict[str, Any] = {"title": pf.title, "prompt_file": name,
                                "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"), "images": []}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, pf.dumps().encode("utf-8"))
        for section, prompt, image in _selected(pf, store, model_id):
            entry: dict[str, Any] = {"section": section.get("id"), "prompt_id": prompt.get("id"),
                                     "prompt": prompt.get("text"), "file": None}
            if image is not None:
                seed = image.metadata.get("seed")
                arcname = f"images/{section.get('id')}/{export_name(prompt.get('id'), seed)}"
                zf.write(image.path, arcname, compress_type=zipfile.ZIP_STORED)  # PNG is compressed already
                entry.update(file=arcname, is_demo=image.is_demo, **_describe(image))
                if image.is_demo:
                    entry["label"] = DEMO_LABEL
            manifest["images"].append(entry)
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return buffer.getvalue()


def export_zip(prompt_file_path: PromptFile | str | os.PathLike, store: ImageStore, out_path: str | os.PathLike,
               *, model_id: str | None = None) -> Path:
    """Write the zip of `export_zip_bytes` to `out_path` atomically; returns the path."""
    data = export_zip_bytes(prompt_file_path, store, model_id=model_id)
    return atomic_write_bytes(out_path, data)


# --------------------------------------------------------------------------------------------------
# HTML handout

_CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #1d1d1f; line-height: 1.5; }
h1 { border-bottom: 2px solid #444; padding-bottom: .3rem; }
h2 { margin-top: 2.5rem; border-bottom: 1px solid #bbb; }
figure.prompt { display: grid; grid-template-columns: minmax(0, 22rem) 1fr; gap: 1.2rem; margin: 1.5rem 0;
                page-break-inside: avoid; }
figure.prompt img { width: 100%; height: auto; border: 1px solid #ccc; image-rendering: auto; }
.missing { width: 100%; aspect-ratio: 1; display: flex; align-items: center; justify-content: center;
           background: #f2f2f2; color: #777; border: 1px dashed #bbb; font-style: italic; }
blockquote.prompt-text { font-family: ui-monospace, Menlo, Consolas, monospace; background: #f6f6f6;
                         margin: 0 0 .6rem; padding: .5rem .8rem; border-left: 4px solid #888; white-space: pre-wrap; }
.params { font-size: .85rem; color: #555; }
.demo { background: #fff3cd; color: #7a4b00; border: 1px solid #e0b84c; padding: .2rem .5rem; font-weight: bold;
        font-size: .85rem; display: inline-block; margin: .3rem 0; }
.tag { background: #e8eef7; border-radius: .6rem; padding: 0 .5rem; margin-right: .3rem; font-size: .8rem; }
code { background: #f0f0f0; padding: 0 .2rem; }
@media print { figure.prompt { grid-template-columns: 40% 1fr; } }
"""


def _image_data_uri(path: Path, max_side: int | None) -> str:
    data = path.read_bytes()
    if max_side:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            if max(im.size) > max_side:
                im = im.convert("RGB")
                im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                out = io.BytesIO()
                im.save(out, format="PNG", optimize=True)
                data = out.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def params_line(meta: dict[str, Any]) -> str:
    """'seed 7 · 4 steps · 1024×1024 · guidance 0 · max 256 tokens · model' from image metadata or params."""
    parts = [f"seed {meta.get('seed')}"]
    if meta.get("steps") is not None:
        parts.append(f"{meta['steps']} steps")
    if meta.get("width") and meta.get("height"):
        parts.append(f"{meta['width']}×{meta['height']}")
    guidance = meta.get("guidance_scale")
    if guidance is not None:
        parts.append(f"guidance {guidance:g}" if isinstance(guidance, (int, float)) else f"guidance {guidance}")
    if meta.get("max_sequence_length") is not None:
        parts.append(f"max {meta['max_sequence_length']} tokens")
    if meta.get("model_id"):
        parts.append(public_model_id(meta["model_id"]))
    return " · ".join(parts)


def export_html(prompt_file: PromptFile | str | os.PathLike, store: ImageStore, *, model_id: str | None = None,
                max_side: int | None = 768) -> str:
    """A standalone HTML handout (one file, images embedded as base64 PNG) of the prompt file.

    Every piece of user text is escaped; commentary goes through `markdown_to_html`. Demo images carry
    DEMO_LABEL. max_side shrinks big images to keep the file small (None: embed as stored).
    """
    pf = _as_prompt_file(prompt_file)
    esc = html.escape
    title = pf.title or (pf.path.stem if pf.path is not None else "Prompts")
    body: list[str] = [f"<h1>{esc(title)}</h1>"]
    by_section: dict[str, list[tuple[dict, StoredImage | None]]] = {}
    for section, prompt, image in _selected(pf, store, model_id):
        by_section.setdefault(section["id"], []).append((prompt, image))
    for section in pf.sections():
        body.append(f'<section id="{esc(str(section["id"]))}">')
        body.append(f"<h2>{esc(section.get('title') or str(section['id']))}</h2>")
        body.append(markdown_to_html(section.get("commentary", "")))
        for prompt, image in by_section.get(section["id"], []):
            body.append('<figure class="prompt">')
            if image is not None:
                alt = esc(prompt.get("text", ""))
                body.append(f'<div><img src="{_image_data_uri(image.path, max_side)}" alt="{alt}">')
                if image.is_demo:
                    body.append(f'<div class="demo">{esc(DEMO_LABEL)}</div>')
                body.append(f'<div class="params">{esc(params_line(image.metadata))}</div></div>')
            else:
                body.append('<div><div class="missing">not generated yet</div>'
                            f'<div class="params">{esc(params_line(pf.params(prompt["id"]).to_dict()))}</div></div>')
            body.append("<figcaption>")
            body.append(f'<blockquote class="prompt-text">{esc(prompt.get("text", ""))}</blockquote>')
            if prompt.get("translation"):
                body.append(f'<p class="params">Translation: “{esc(prompt["translation"])}”</p>')
            tags = [t for t in prompt.get("tags", []) if isinstance(t, str)]
            if tags:
                body.append("<p>" + "".join(f'<span class="tag">{esc(t)}</span>' for t in tags) + "</p>")
            body.append(markdown_to_html(prompt.get("commentary", "")))
            body.append("</figcaption></figure>")
        body.append("</section>")
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    body.append(f'<p class="params">Made with Diffusion Classroom on {generated}.</p>')
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body>\n</html>\n"
    )
