"""The prompt box: CLIP pieces marked seen / unseen, seed (with Randomize), steps, guidance, images, the
judge's verdict, the step timeline, and two prompts compared from the same seed."""

from __future__ import annotations

import secrets

import streamlit as st

from app.text_to_image import session
from models.text_to_image import lesson
from models.text_to_image.images import grid_png
from models.text_to_image.sample import DEFAULT_GUIDANCE, DEFAULT_STEPS, MAX_GUIDANCE, MAX_STEPS

ss = st.session_state
MAX_PAGE_IMAGES = 16
MARKDOWN_SPECIALS = "\\`*_{}[]()#+-.!|<>~$:"


def _escape(text: str) -> str:
    return "".join("\\" + ch if ch in MARKDOWN_SPECIALS else ch for ch in text)


def token_badges(text: str, seen_ids) -> None:
    """Each CLIP piece as a badge: green when it was in a training caption, red when never seen."""
    pieces = lesson.pieces(text, seen_ids)
    badges = " ".join(f":{'green' if p.seen else 'red'}-badge[{_escape(p.text)}]" for p in pieces)
    unseen = sum(not p.seen for p in pieces)
    st.markdown(badges)
    st.caption(f"{len(pieces)} CLIP pieces, {unseen} never seen in training"
               + (": their embeddings are still the random values they started with, so they tell the model "
                  "nothing." if unseen else ": every piece was learnt.") + " ␣ marks the end of a word.")


def _randomize() -> None:
    ss["t2i_seed"] = secrets.randbelow(2**31)


def settings_ui() -> tuple[int, int, float, int]:
    """Seed (+ Randomize), steps, guidance, number of images."""
    a, b, c = st.columns([2, 1.2, 2], vertical_alignment="bottom")
    seed = a.number_input("seed", 0, 2**31 - 1, 0, key="t2i_seed")
    b.button("Randomize", key="t2i_randomize", on_click=_randomize, icon=":material/casino:", width="stretch")
    n = c.slider("images", 1, MAX_PAGE_IMAGES, 8, key="t2i_n")
    d, e = st.columns(2)
    steps = d.slider("Euler steps", 1, MAX_STEPS, DEFAULT_STEPS, key="t2i_sample_steps")
    guidance = e.slider("guidance w", 0.0, MAX_GUIDANCE, DEFAULT_GUIDANCE, 0.5, key="t2i_guidance",
                        help="v = v_u + w·(v_c − v_u): 0 ignores the prompt, 1 is the plain conditional velocity.")
    return int(seed), int(steps), float(guidance), int(n)


def drawn(run, prompt: str, n: int, steps: int, guidance: float, seed: int) -> lesson.Drawn:
    return session.cached(("draw", run.id, run.steps_done, prompt, n, steps, guidance, seed),
                          lambda: lesson.draw(run.model, prompt, n=n, steps=steps, guidance=guidance, seed=seed))


def verdict(d: lesson.Drawn) -> str:
    """What the judge reads, and how often that is what was asked."""
    read = " ".join(str(j) for j in d.judged)
    if d.digit is None:
        return f"The judge reads: {read} (the prompt names no single digit in English)."
    text = f"The judge reads: {read} → {sum(j == d.digit for j in d.judged)} of {len(d.judged)} are {d.digit}s"
    if d.attributes:
        text += f"; {d.hit_rate:.0%} are {d.digit}s measured {' and '.join(d.attributes)}"
    return text + "."


def prompt_ui(run) -> None:
    prompt = st.text_input("prompt", "a handwritten seven", max_chars=300, key="t2i_prompt")
    token_badges(prompt, run.seen_ids)
    seed, steps, guidance, n = settings_ui()
    d = drawn(run, prompt, n, steps, guidance, seed)
    left, right = st.columns([1, 1])
    with left:
        st.image(grid_png(d.images, cols=min(n, 4)), width="stretch",
                 caption=f"{n} image(s) · {steps} Euler step(s) · w = {guidance:g} · seed {seed}")
        st.caption(verdict(d))
    with right:
        rows = min(n, 4)
        st.image(grid_png(lesson.timeline_rows(d, rows), cols=steps), width="stretch",
                 caption="Step timeline: at each step (left to right, t = "
                         + ", ".join(f"{t:.2f}" for t in d.times[:-1])
                         + f") the model's guess of the final image, x̂₀ = x_t − t·v; first {rows} image(s).")


def compare_ui(run) -> None:
    """Two prompts, the same seed and settings: only the text differs."""
    seed, steps, guidance = int(ss.get("t2i_seed", 0)), int(ss.get("t2i_sample_steps", DEFAULT_STEPS)), \
        float(ss.get("t2i_guidance", DEFAULT_GUIDANCE))
    cols = st.columns(2)
    for col, key, default in zip(cols, ("t2i_compare_a", "t2i_compare_b"), ("seven", "семь")):
        with col:
            text = st.text_input("prompt", default, max_chars=300, key=key)
            token_badges(text, run.seen_ids)
            d = drawn(run, text, 8, steps, guidance, seed)
            st.image(grid_png(d.images, cols=4), width="stretch", caption=f"seed {seed} · {steps} step(s) · w = {guidance:g}")
            st.caption(verdict(d))
