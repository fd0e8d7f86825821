"""FLUX.1-schnell text-to-image engine: settings, model loading, generation, image store, batch render.

Headless (never imports streamlit). Heavy libraries (torch, diffusers, transformers) are imported
only when a pipeline is actually built or loaded, so the gallery page and the CLI start fast.

Modules, one idea each:
    settings  - FluxSettings read from DC_* environment variables
    tiny      - a random-weight FLUX-shaped pipeline built offline (the classroom demo)
    loading   - find the weights (folder / HF cache / tiny), plan memory, load the pipeline
    generate  - GenerationParams, the Generator (one pipeline per process), progress, cancel
    store     - PNG files named by a content hash, with A1111 + JSON metadata
    render    - render every missing image of a prompt file (optionally across processes)
    cli       - `python -m models.flux ...`
"""


class FluxError(Exception):
    """Base of every user-facing error in models.flux: its message is shown as is (one line)."""
