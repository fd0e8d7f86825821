"""FLUX.1-schnell text-to-image engine: settings, model loading, generation, image store, batch render.

Headless (never imports streamlit). Heavy libraries (torch, diffusers, transformers) are imported
only when a pipeline is actually built or loaded, so the gallery page and the CLI start fast.

Modules, one idea each (each imports only modules above it):
    settings      - FluxSettings read from DC_* environment variables
    quiet         - silence the libraries' progress bars and notes
    tiny          - a random-weight FLUX-shaped pipeline built offline (the classroom demo)
    params        - GenerationParams and the one set of limits (seed, steps, sizes, guidance, tokens)
    prompt_schema - the prompt file's keys and ids, and the one route from a prompt to GenerationParams
    prompt_check  - check a prompt file: FILE:LINE: message per problem (`check`, `render`, the gallery)
    prompt_file   - edit a prompt file, keeping its comments, and save it safely (under a file lock)
    prompt_edits  - a session's edits as a patch, applied to the file as it is on disk (the gallery's saves)
    loading       - which weights a spec means (resolve_model), memory plans, loading the pipeline
    store         - PNG files named by a content hash, with A1111 + JSON metadata
    recall        - the parameters of an uploaded PNG, size-capped and checked against the one schema
    generate      - the Generator (one pipeline per process), progress, cancel
    render        - render every missing image of a prompt file (optionally across processes)
    export        - a zip and an HTML handout of a prompt file and its images
    cli           - `python -m models.flux ...`
"""


class FluxError(Exception):
    """Base of every user-facing error in models.flux: its message is shown as is (one line)."""
