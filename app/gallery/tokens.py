"""The gallery card's token view: what FLUX's text encoders read of a prompt (models/flux/tokens.py)."""

from __future__ import annotations

import streamlit as st

from app.gallery.messages import md_escape
from models.flux import FluxError
from models.flux.loading import ModelSource
from models.flux.tokens import count_line, prompt_tokens, shown_pieces

CLIP_NOTE = ("FLUX's CLIP-L tokenizer (OpenAI CLIP's byte-level BPE, lowercased). It reads at most 77 tokens, "
             "start and end included; later pieces are cut off. ␣ ends a word; `<e8>` is one byte of a character "
             "that has no piece of its own.")
T5_NOTE = ("The pipeline's T5 tokenizer: the transformer reads these, up to max_sequence_length. Every <unk> "
           "piece becomes the same 'unknown' token: the model cannot tell them apart.")


def _pieces_text(view) -> str:
    pieces = shown_pieces(view)
    kept, cut = pieces[:view.window], pieces[view.window:]
    return " · ".join(kept) + (f"\n✂ cut off ({len(cut)}): " + " · ".join(cut) if cut else "")


def token_panel(text: str, *, output_dir, source: ModelSource | None, max_sequence_length: int) -> None:
    """An expander with the prompt's CLIP tokens and, with real weights, its T5 tokens."""
    try:
        tokens = prompt_tokens(text, output_dir=output_dir, source=source,
                               max_sequence_length=max_sequence_length)
    except (FluxError, OSError) as exc:
        st.caption(f"Tokens cannot be shown: {md_escape(str(exc))}")
        return
    clip, t5 = tokens.clip, tokens.t5
    label = f"Tokens · CLIP {clip.count}/{clip.window}" + (" (cut)" if clip.truncated else "")
    if t5 is not None:
        label += f" · T5 {t5.count}/{t5.window}" + (" (cut)" if t5.truncated else "") \
            + (f" · {t5.n_unknown} <unk>" if t5.n_unknown else "")
    with st.expander(label, icon=":material/token:"):
        st.markdown(f"**{count_line(clip)}**")
        st.code(_pieces_text(clip), language=None, wrap_lines=True)
        st.caption(CLIP_NOTE)
        if t5 is None:
            st.info(tokens.t5_note, icon=":material/info:")
            return
        st.markdown(f"**{count_line(t5)}**")
        st.code(_pieces_text(t5), language=None, wrap_lines=True)
        unknown = [p for p, unk in zip(t5.pieces, t5.unknown) if unk]
        if unknown:
            st.error("Unknown to T5 (<unk>): " + ", ".join(f"“{md_escape(p)}”" for p in unknown), icon=":material/help:")
        st.caption(T5_NOTE)
