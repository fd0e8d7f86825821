"""Command line of the FLUX engine: `python -m models.flux COMMAND ...`.

    make-tiny DIR                       build the tiny random-weight demo pipeline in DIR
    render FILE [--model M] [--only ID ...] [--out DIR] [--dry-run]
                                        render every missing image of a prompt file
    check FILE                          validate a prompt file (FILE:LINE: message per problem)
    generate PROMPT [--seed N] ...      make one image
    info [--model M]                    which weights would load, and the memory plan
    export FILE [--zip OUT.zip] [--html OUT.html] [--model M]
                                        the zip (file + starred images) and/or the HTML handout
    tokens PROMPT [--model M] [--max-sequence-length N]
                                        the CLIP ids and pieces (and T5's when real weights are here)

Bad input gives exit status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from models.flux import FluxError
from models.lab.cli import run_command


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):  # options spelled out (see models.lab.cli.Parser)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # one line instead of usage + error
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _cmd_make_tiny(args) -> int:
    from models.flux.tiny import make_tiny_pipeline

    folder = make_tiny_pipeline(args.dir)
    print(f"tiny demo pipeline written to {folder} (random weights: its images are noise)")
    return 0


def _cmd_render(args) -> int:
    from models.flux.render import render_file

    render_file(args.file, model=args.model, only=args.only, out=args.out, dry_run=args.dry_run,
                log=lambda line: print(line, flush=True))
    return 0


def _cmd_check(args) -> int:
    from models.flux.prompt_check import validate_file

    problems = validate_file(args.file)
    for p in problems:
        print(p.format(args.file))
    errors = sum(1 for p in problems if p.severity != "warning")
    if not problems:
        print(f"{args.file}: no problems")
    return 2 if errors else 0


def _cmd_generate(args) -> int:
    from models.flux.generate import Generator
    from models.flux.settings import load_settings
    from models.flux.store import DEMO_LABEL, ImageStore

    settings = load_settings()
    store = ImageStore(args.out or settings.output_dir)
    gen = Generator(args.model, settings=settings, store=store)
    overrides = {k: getattr(args, k) for k in ("steps", "width", "height", "max_sequence_length")
                 if getattr(args, k) is not None}
    params = gen.params(args.prompt, args.seed, **overrides)
    print(f"model: {gen.source.label}; {gen.plan.summary}", flush=True)
    result = gen.generate(params, on_step=lambda i, n, _img: print(f"step {i}/{n}", flush=True))
    how = "from the store" if result.from_cache else f"in {result.seconds:.1f} s"
    print(f"{result.path} (seed {params.seed}, {how})" + (f" [{DEMO_LABEL}]" if result.is_demo else ""))
    if result.truncated_tokens:
        print(f"warning: the prompt was cut: {result.truncated_tokens} T5 tokens beyond {params.max_sequence_length}")
    return 0


def _cmd_info(args) -> int:
    from models.flux.loading import plan_memory, resolve_model
    from models.flux.settings import load_settings

    settings = load_settings()
    source = resolve_model(args.model, settings)
    print(f"model: {source.label}")
    print(f"path: {source.path}")
    if source.note:
        print(f"note: {source.note}")
    plan = plan_memory(source)
    print(f"memory plan: {plan.summary}")
    if plan.warning:
        print(f"warning: {plan.warning}")
    print(f"images: {settings.output_dir}")
    return 0


def _cmd_export(args) -> int:
    from models.core.atomic import atomic_write_text, file_in_the_way, output_clash
    from models.flux.export import export_html, export_zip
    from models.flux.loading import choose_model_spec, resolve_model
    from models.flux.prompt_check import validate_file
    from models.flux.prompt_file import PromptFile
    from models.flux.settings import load_settings
    from models.flux.store import ImageStore

    if not args.zip and not args.html:
        raise FluxError("nothing to export: give --zip OUT.zip and/or --html OUT.html")
    for out in (args.zip, args.html):
        if out is not None and (out.is_dir() or file_in_the_way(out) is not None):
            raise FluxError(f"cannot write {out}: it is a folder, or a file is in the way")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise FluxError(f"--out {args.out} is a file, not an image folder (the folder the images are in)")
    if args.out is not None and not args.out.exists():
        raise FluxError(f"--out {args.out}: no image folder there (it is where render put the images)")
    errors = [p for p in validate_file(args.file) if p.severity != "warning"]
    if errors:
        raise FluxError(errors[0].format(args.file))
    settings = load_settings()
    pf = PromptFile.load(args.file)
    spec = choose_model_spec(settings, cli_model=args.model, file_model=pf.defaults.get("model"))
    model_id = resolve_model(spec, settings, allow_demo=True).model_id  # images of this model only
    store = ImageStore(args.out or settings.output_dir)
    images = {f"one of the images ({image.path.name})": image.path for image in store.find()}
    clash = output_clash({"--zip": args.zip, "--html": args.html}, {"the prompt file": args.file, **images})
    if clash:
        raise FluxError(clash)
    if args.zip:
        print(f"zip: {export_zip(pf, store, args.zip, model_id=model_id)}")
    if args.html:
        print(f"handout: {atomic_write_text(args.html, export_html(pf, store, model_id=model_id))}")
    return 0


def _cmd_tokens(args) -> int:
    # Cheap on purpose (tests/flux/test_tokens.py checks it): no diffusers, no transformers.
    from models.flux.loading import resolve_model
    from models.flux.params import SCHNELL_MAX_SEQUENCE_LENGTH
    from models.flux.settings import load_settings
    from models.flux.tokens import format_tokens, prompt_tokens

    settings = load_settings()
    source = resolve_model(args.model, settings, allow_demo=True)
    tokens = prompt_tokens(args.prompt, output_dir=settings.output_dir, source=source,
                           max_sequence_length=SCHNELL_MAX_SEQUENCE_LENGTH if args.max_sequence_length is None
                           else args.max_sequence_length)
    print("\n".join(format_tokens(tokens.clip)))
    print("\n".join(format_tokens(tokens.t5)) if tokens.t5 is not None else f"T5: {tokens.t5_note}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m models.flux", description="FLUX.1-schnell engine of Diffusion Classroom.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("make-tiny", help="build the tiny random-weight demo pipeline (offline)")
    p.add_argument("dir", type=Path)
    p.set_defaults(func=_cmd_make_tiny)

    p = sub.add_parser("render", help="render every missing image of a prompt file")
    p.add_argument("file", type=Path)
    p.add_argument("--model", help="folder, Hugging Face repo id, 'tiny' or 'auto' (default: the file's model)")
    p.add_argument("--only", nargs="+", metavar="ID", help="render only these prompt ids")
    p.add_argument("--out", type=Path, help="image folder (default: DC_OUTPUT_DIR or outputs/)")
    p.add_argument("--dry-run", action="store_true", help="list what would be rendered, render nothing")
    p.set_defaults(func=_cmd_render)

    p = sub.add_parser("check", help="validate a prompt file")
    p.add_argument("file", type=Path)
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("generate", help="make one image")
    p.add_argument("prompt")
    p.add_argument("--seed", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--width", type=int)
    p.add_argument("--height", type=int)
    p.add_argument("--max-sequence-length", type=int, dest="max_sequence_length")
    p.add_argument("--model", help="folder, Hugging Face repo id, 'tiny' or 'auto'")
    p.add_argument("--out", type=Path)
    p.set_defaults(func=_cmd_generate)

    p = sub.add_parser("info", help="which weights would load, and how they fit in memory")
    p.add_argument("--model")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("export", help="a prompt file's zip and/or HTML handout")
    p.add_argument("file", type=Path)
    p.add_argument("--zip", type=Path, metavar="OUT.zip", help="the file, its starred images, manifest.json")
    p.add_argument("--html", type=Path, metavar="OUT.html", help="one standalone page with images embedded")
    p.add_argument("--model", help="whose images: folder, repo id, 'tiny' or 'auto' (default: as render)")
    p.add_argument("--out", type=Path, help="image folder (default: DC_OUTPUT_DIR or outputs/)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("tokens", help="the CLIP (and T5) tokens of a prompt, offline")
    p.add_argument("prompt")
    p.add_argument("--model", help="folder, Hugging Face repo id, 'tiny' or 'auto' (T5 needs real weights)")
    p.add_argument("--max-sequence-length", type=int, dest="max_sequence_length",
                   help="T5 window (default: schnell's 256)")
    p.set_defaults(func=_cmd_tokens)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input, 1 unexpected error, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    # OSError: a folder we cannot write, a full disk, ...
    return run_command(lambda: args.func(args), bad_input=(FluxError, OSError),
                       interrupted="interrupted (finished images are kept; run again to resume)")
