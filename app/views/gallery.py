"""FLUX gallery: the prompt file of Part 1 with its images and commentary.

Generate (through the shared job pool), star the image for the handout, edit prompts and commentary,
save back to the TOML file (keeping its comments), recall a PNG's parameters, export a zip or handout.
User text is shown with st.markdown / st.code only: never through unsafe_allow_html.

Edits are this session's patch, applied to the file as it is on disk when saving (models/flux/
prompt_edits.py): another session's saved edit of a different field is never reverted. Served to a class
network, only the instructor edits (app/ui/access.py); students look, and generate.
"""

import difflib
from dataclasses import replace

import streamlit as st

from app.gallery import files as gf
from app.gallery import images as gi
from app.gallery import scratch as gs
from app.gallery import tokens as gt
from app.gallery import widgets as gw
from app.ui.access import can_edit
from app.ui.resources import generation_pool, session_id
from models.flux import FluxError
from models.flux.export import export_html, export_zip_bytes, params_line
from models.flux.params import MAX_VARIATIONS, random_seed
from models.flux.prompt_edits import save_edits
from models.flux.prompt_file import SaveConflict
from models.flux.prompt_schema import ALTERNATIVE_KEYS, OVERRIDE_KEYS, PromptFileError, id_problem
from models.flux.recall import RecallRefused, recall_params, with_schnell_values
from models.flux.settings import load_settings

state = st.session_state
try:
    settings = load_settings()
except FluxError as exc:
    st.error(str(exc), icon=":material/error:")
    st.stop()
# ---------------------------------------------------------------- which prompt file (one per lecture or student)
heading = st.container()  # the title stays on top; the file picker below it decides what it says
path = gf.pick_prompt_file(settings, can_create=can_edit())

# ---------------------------------------------------------------- the prompt file (kept across reruns)
pf = gw.load_prompt_file(path)
if pf is None:
    heading.title("FLUX gallery")
    gw.show_load_error(path, state.gallery_load_error)
    if st.button("Reload from disk", key="gallery_reload_broken", icon=":material/refresh:"):
        st.rerun()
    st.stop()

edits = state.gallery_edits
editable = can_edit()
heading.title(pf.title or "FLUX gallery")
heading.page_link("views/how_flux_samples.py", label="How FLUX samples: these images come from a flow; see it in 2-D",
             icon=":material/air:")
if editable:  # the server's folders are the instructor's business, not the class network's
    st.caption(f"Prompt file: `{path}` · images: `{settings.output_dir}`")
if not editable:
    st.caption(":material/lock: Read-only: the instructor edits this lesson. You can look at everything "
               "and generate images.")
if state.get("gallery_disk_error") is not None:
    st.warning(f"The file on disk cannot be read now ({gw.md_escape(str(state.gallery_disk_error))}); "
               "this page shows it as it was last read.", icon=":material/warning:")

# ---------------------------------------------------------------- model status (nothing heavy is loaded here)
spec = gw.model_spec(settings, pf)
backend = gw.backend_status(spec, settings)
gw.show_backend(backend)
generator = gw.shared_generator(settings, backend.source)
store = generator.store
can_generate = backend.model_id is not None

# ---------------------------------------------------------------- the background job of this session
job = state.get("gallery_job")
if job is not None and job.is_finished:  # collect it once: the summary stays until the next job
    state.gallery_last = {"state": job.state, "error": job.error, **(job.result or {})}
    state.gallery_job = job = None
last = state.get("gallery_last")
if last:
    made, errors = last.get("made", []), last.get("errors", [])
    fresh = sum(1 for m in made if not m[3])
    if made:
        st.success(f"{len(made)} image(s) ready ({fresh} new, {len(made) - fresh} already there) "
                   f"in {last.get('seconds', 0):.1f} s.", icon=":material/check:")
    if last.get("state") == "cancelled":
        st.info("Generation cancelled; the images finished before that are kept.", icon=":material/cancel:")
    for prompt_id, message in errors:
        st.error(f"**{gw.md_escape(prompt_id)}:** {gw.md_escape(message)}", icon=":material/error:")
    if last.get("error"):
        st.error(f"The generation job failed: {gw.md_escape(last['error'])}", icon=":material/error:")
    if last.get("next_plan") is not None:
        plan = last["next_plan"]
        if st.button(f"Try again with a lighter memory plan: {plan.summary}", key="gallery_next_plan"):
            generator.use_plan(plan)
            state.gallery_last = None
            st.rerun()
if job is None and generator.busy:
    st.info("The generator is busy with another session's image: yours will wait for it.",
            icon=":material/hourglass_top:")


def start_job(items: list, name: str) -> None:
    """Queue generation of [(prompt_id, GenerationParams)] in the shared pool."""
    if not items:
        st.toast("Nothing to generate: every image is already there.")
        return
    new_job = generation_pool().submit(gw.generation_job(generator, items), name=name, owner=session_id())
    state.gallery_job = new_job
    state.gallery_last = None


@st.fragment(run_every=1.0)
def progress_panel() -> None:
    running = state.get("gallery_job")
    if running is None:
        return
    if running.is_finished:
        st.rerun(scope="app")  # the whole page redraws with the new images
    gw.job_progress(running)


busy = state.get("gallery_job") is not None

# ---------------------------------------------------------------- saving, with conflict detection


def save(force: bool = False) -> None:
    """Apply this session's edits to the file as it is on disk now (under its lock) and write it."""
    if not can_edit():
        return
    try:
        saved = save_edits(path, edits, force=force)
    except SaveConflict as conflict:
        state.gallery_conflict = conflict
    except (FluxError, PromptFileError, OSError) as exc:
        st.error(f"Could not save {path}: {gw.md_escape(str(exc))}", icon=":material/error:")
    else:
        edits.clear()
        state.gallery_base, state.gallery_conflict = saved, None
        gw.next_revision()
        st.toast(f"Saved {path.name}", icon=":material/save:")


def reload_from_disk() -> None:
    """Drop every edit of this session; the widgets get fresh keys, so nothing stale comes back."""
    edits.clear()
    state.gallery_base = state.gallery_conflict = state.gallery_confirm = None
    state.pop("gallery_seed_error", None)
    gw.next_revision()


conflict = state.get("gallery_conflict")
if conflict is not None:
    st.error(f"**Not saved:** {gw.md_escape(str(conflict))}", icon=":material/sync_problem:")
    diff = "\n".join(difflib.unified_diff((conflict.disk_text or "").splitlines(), conflict.mine_text.splitlines(),
                                          "on disk", "yours", lineterm=""))
    with st.expander("What differs (on disk → yours)"):
        st.code(diff or "(no difference)", language="diff")
    choice = st.container(horizontal=True)
    choice.button("Reload from disk (drop my edits)", key="gallery_reload", icon=":material/refresh:",
                  on_click=reload_from_disk)
    if choice.button("Keep mine (overwrite)", key="gallery_overwrite", icon=":material/save_as:", type="primary",
                     disabled=not editable or not hasattr(conflict, "conflicts")):
        save(force=True)
        st.rerun()
elif gw.view_conflicts():
    st.warning("Changed on disk since you started editing: "
               + "; ".join(gw.md_escape(str(c)) for c in gw.view_conflicts()) + ". Save will ask what to do.",
               icon=":material/sync:")

# ---------------------------------------------------------------- toolbar
gw.show_problems(gw.view_problems(), path)
bar = st.container(horizontal=True, vertical_alignment="center")
editing = editable and bar.toggle("Edit", key="gallery_edit",
                                  help="Edit prompts, seeds and commentary; Save writes the file")
if editable and bar.button("Save", key="gallery_save", icon=":material/save:",
                           type="primary" if edits else "secondary", disabled=not edits,
                           help="Write your edits into the file as it is on disk now (comments are kept)"):
    save()
    st.rerun()
if bar.button("Generate missing", key="gallery_generate_missing", icon=":material/auto_awesome:",
              disabled=busy or not can_generate, help="Every prompt whose image is not in the store yet"):
    todo, skipped = [], []
    for pid in pf.prompt_ids():
        gw.ensure_seed(pf, pid)
        params = gw.prompt_generation_params(pf, pid, backend)
        if params.problems():
            skipped.append(pid)
        elif store.get(params) is None:
            todo.append((pid, params))
    if skipped:
        st.toast(f"Skipped {len(skipped)} prompt(s) with errors in the file: {', '.join(skipped)}")
    start_job(todo, "generate missing")
    st.rerun()
if editable:  # the zip holds the file itself, comments and all: the instructor's, not the class's
    bar.download_button("Zip", data=lambda: export_zip_bytes(pf, store, model_id=backend.model_id),
                        file_name=f"{path.stem}.zip", mime="application/zip", key="gallery_zip",
                        icon=":material/folder_zip:", on_click="ignore",
                        help="The prompt file and the starred (else first) image of each prompt")
bar.download_button("HTML handout", data=lambda: export_html(pf, store, model_id=backend.model_id),
                    file_name=f"{path.stem}.html", mime="text/html", key="gallery_html",
                    icon=":material/description:", on_click="ignore",
                    help="One standalone page: sections, commentary, images and their settings")
if edits and editable:
    st.caption(":material/edit_note: Unsaved changes: press **Save** to write them to the file.")

if state.get("gallery_job") is not None:
    progress_panel()

# ---------------------------------------------------------------- scratch prompt (like the FLUX.1-schnell Space)


def add_scratch_prompt(params, section_id: str) -> str | None:
    if not can_edit():
        return None
    new_id = edits.add_prompt(pf, section_id, params.prompt, seed=params.seed,
                              commentary="Added from the scratch prompt.", **gs.overrides_of(params, pf.defaults))
    gw.next_revision()
    return new_id


with st.expander("Scratch prompt: try any prompt", icon=":material/edit_square:",
                 expanded=state.get("scratch_params") is not None):
    gs.scratch_panel(store=store, backend=backend, start_job=start_job, busy=busy, can_generate=can_generate,
                     add_prompt=add_scratch_prompt if editable else None,
                     section_ids=[sec["id"] for sec in pf.sections() if isinstance(sec.get("id"), str)])

# ---------------------------------------------------------------- edit callbacks (they run before the script)


def structural(action, *args) -> None:
    """Record an edit that changes what widgets show (move, add, delete): widgets get fresh keys."""
    if not can_edit():
        return
    action(*args)
    state.gallery_confirm = None
    gw.next_revision()


def random_seed_for(prompt_id: str) -> None:
    structural(edits.set_field, pf, "prompt", prompt_id, "seed", random_seed())


def star(prompt_id: str, image, siblings) -> None:
    if can_edit():
        edits.set_field(pf, "prompt", prompt_id, "chosen", gw.chosen_value(image, siblings))


def confirm_delete(kind: str, ident: str) -> None:
    state.gallery_confirm = (kind, ident)


def confirm_box(kind: str, ident: str, action) -> None:
    """The second step of a delete: nothing is removed until this is confirmed."""
    if state.get("gallery_confirm") != (kind, ident):
        return
    st.warning(f"Delete this {kind} (`{ident}`) from the file? Save afterwards to make it permanent.",
               icon=":material/delete_forever:")
    row = st.container(horizontal=True)
    row.button(f"Delete {kind}", key=f"gallery_confirm_yes_{kind}_{ident}", type="primary",
               on_click=structural, args=(action, pf, ident))
    row.button("Keep it", key=f"gallery_confirm_no_{kind}_{ident}", on_click=lambda: state.update(gallery_confirm=None))


def edit_widget(widget, label: str, kind: str, ident: str, value, **options) -> None:
    """A text widget bound to one field: keyed with the revision, recorded into the patch on change."""
    widget(label, value=value, key=gw.edit_key(kind, ident), on_change=gw.record_edit,
           args=(state.gallery_rev, kind, ident), **options)


def card_errors(prompt_id: str, params) -> list[str]:
    """FILE:LINE: messages of this prompt's errors (a prompt that inherits a bad [defaults] value says so)."""
    own = [p.format(path.name) for p in gw.view_problems() if p.prompt_id == prompt_id and p.is_error]
    return own or [f"{problem} (from [defaults], listed at the top)" for problem in params.problems()]


# ---------------------------------------------------------------- two texts, same seed (compare)
choices = {c.key: c for c in gi.compare_choices(pf)}


def pair_params(choice_key: str, seed: int):
    """GenerationParams of a compare choice with `seed` (None when the choice is gone or its prompt is broken)."""
    choice = choices.get(choice_key)
    if choice is None or pf.params(choice.prompt_id).problems():
        return None
    return choice, gi.choice_params(gw.prompt_generation_params(pf, choice.prompt_id, backend), choice, seed)


def compare_pair(card: str, left: str, right: str | None = None, seed: int | None = None) -> None:
    """Show `left` and `right` (default: the card's prompt and `left`) with one seed; generate what is missing."""
    if right is None:
        left, right = card, left
    state.gallery_compare = (card, left, right, seed)
    # An alternative text's image is recorded under "<id>.translation": it is not one of the card's images.
    todo = [(key, p[1]) for key in (left, right)
            if (p := pair_params(key, seed)) is not None and store.get(p[1]) is None]
    if todo:
        start_job(todo, "compare, same seed")


def show_pair(pair) -> None:
    _, left, right, seed = pair
    sides = [pair_params(left, seed), pair_params(right, seed)]
    if None in sides:
        st.caption("One of these prompts is gone from the file or has an error.")
        return
    gi.compare_view(store, sides[0], sides[1], key=f"gallery_pair_{pair[0]}")


# ---------------------------------------------------------------- sections and prompts
sections = pf.sections()
seen_ids: set[str] = set()  # a duplicated id is shown once: its widgets would clash and edits be ambiguous
for s_index, section in enumerate(sections):
    sid = section["id"]
    st.divider()
    st.header(str(section.get("title") or sid), anchor=False)
    section_ok = isinstance(sid, str) and pf.has_section(sid) and ("s:" + sid) not in seen_ids
    seen_ids.add(f"s:{sid}")
    if editing and not section_ok:
        st.caption("This section needs a unique `id` in the file before it can be edited here.")
    if editing and section_ok:
        edit_widget(st.text_input, "Section title", "stitle", sid, section.get("title", ""))
        edit_widget(st.text_area, "Section commentary (Markdown)", "scomm", sid, section.get("commentary", ""),
                    height=180)
        with st.container(horizontal=True):
            st.button("Move up", key=f"gallery_sup_{sid}", icon=":material/arrow_upward:", disabled=s_index == 0,
                      on_click=structural, args=(edits.move_section, sid, -1))
            st.button("Move down", key=f"gallery_sdown_{sid}", icon=":material/arrow_downward:",
                      disabled=s_index == len(sections) - 1, on_click=structural, args=(edits.move_section, sid, 1))
            st.button("Add prompt", key=f"gallery_padd_{sid}", icon=":material/add:", on_click=structural,
                      args=(lambda s: edits.add_prompt(pf, s, "a new prompt", seed=random_seed()), sid))
            st.button("Delete section", key=f"gallery_sdel_{sid}", icon=":material/delete:",
                      on_click=confirm_delete, args=("section", sid))
        confirm_box("section", sid, edits.delete_section)
    elif section.get("commentary"):
        st.markdown(section["commentary"])

    for p_index, prompt in enumerate(section["prompts"]):
        pid = prompt.get("id")
        if not isinstance(pid, str) or id_problem(pid) or ("p:" + pid) in seen_ids or not isinstance(
                prompt.get("text"), str):
            st.warning("A prompt of this section is skipped: it needs a unique, valid `id` and a `text` "
                       "(see the problems listed above).", icon=":material/warning:")
            continue
        seen_ids.add(f"p:{pid}")
        tags = [t for t in prompt.get("tags", []) if isinstance(t, str)] if isinstance(prompt.get("tags"), list) else []
        images = gw.images_of(store, pf, prompt, backend) if can_generate else []
        params = pf.params(pid)
        with st.container(border=True):
            st.subheader(pid, anchor=False)
            if params.problems():  # a wrong value in the file: say where, here; the other prompts still work
                st.error("\n\n".join(gw.md_escape(line) for line in card_errors(pid, params)),
                         icon=":material/error:")
            if editing:
                edit_widget(st.text_area, "Prompt text (sent to the model exactly as written)", "text", pid,
                            prompt["text"])
            else:
                st.code(prompt["text"], language=None, wrap_lines=True)
            gt.token_panel(prompt["text"], output_dir=settings.output_dir, source=backend.source,
                           max_sequence_length=gw.sequence_length(params))
            translation = prompt.get("translation")
            notes = [params_line({**params.to_dict(), "model_id": None}) if params.seed is not None
                     else "seed: drawn at random on the first Generate, then recorded"]
            if translation:
                notes.append(f"translation: “{gw.md_escape(str(translation))}”")
            if tags:
                notes.append(" ".join(f"`{t.replace('`', '')}`" for t in tags))
            st.caption(" · ".join(notes))

            if editing:
                with st.container(horizontal=True, vertical_alignment="bottom"):
                    edit_widget(st.text_input, "Seed", "seed", pid,
                                "" if prompt.get("seed") is None else str(prompt["seed"]), width=220)
                    st.button("Random seed", key=f"gallery_rand_{pid}", icon=":material/casino:",
                              help="Draw a new seed and record it in the file",
                              on_click=random_seed_for, args=(pid,))
                seed_error = state.get("gallery_seed_error")
                if seed_error and seed_error[0] == pid:
                    st.error(seed_error[1])
                with st.container(horizontal=True, vertical_alignment="bottom"):
                    for kind, label, step in (("steps", "Steps", 1), ("width", "Width", 16), ("height", "Height", 16)):
                        own = prompt.get(kind)
                        edit_widget(st.number_input, label, kind, pid,
                                    own if isinstance(own, int) and not isinstance(own, bool) else None,
                                    min_value=1, max_value=4096, step=step, width=160,
                                    placeholder=f"{pf.defaults.get(kind)} ([defaults])",
                                    help="Empty: the file's [defaults]")
                text_col, preview_col = st.columns(2)
                with text_col:
                    edit_widget(st.text_area, "Commentary (Markdown)", "comm", pid, prompt.get("commentary", ""),
                                height=220)
                with preview_col:  # what the class will see
                    st.caption("Preview")
                    st.markdown(prompt.get("commentary") or "*(no commentary)*")
                tags_col, translation_col, rephrased_col = st.columns(3)
                with tags_col:
                    edit_widget(st.text_input, "Tags (comma separated)", "tags", pid, ", ".join(tags))
                with translation_col:
                    edit_widget(st.text_input, "Translation", "tr", pid, str(translation or ""))
                with rephrased_col:
                    edit_widget(st.text_input, "Rephrased", "reph", pid, str(prompt.get("rephrased") or ""),
                                help="Compared with the prompt, same seed (the homonyms: say it unambiguously)")
                with st.container(horizontal=True):
                    st.button("Up", key=f"gallery_pup_{pid}", icon=":material/arrow_upward:", disabled=p_index == 0,
                              on_click=structural, args=(edits.move_prompt, pid, -1))
                    st.button("Down", key=f"gallery_pdown_{pid}", icon=":material/arrow_downward:",
                              disabled=p_index == len(section["prompts"]) - 1,
                              on_click=structural, args=(edits.move_prompt, pid, 1))
                    st.button("Delete prompt", key=f"gallery_pdel_{pid}", icon=":material/delete:",
                              on_click=confirm_delete, args=("prompt", pid))
                confirm_box("prompt", pid, edits.delete_prompt)
                grid_area = st.container()
            else:  # images first (320-px tiles: big enough to project), then the commentary under them
                grid_area = st.container()
                if prompt.get("commentary"):
                    st.markdown(prompt["commentary"])

            with grid_area:
                if images:
                    gi.image_tiles(images, prompt.get("chosen"), lambda im, p=pid, sib=images: star(p, im, sib),
                                   key=f"gallery_grid_{pid}", store=store, can_star=editable)
                elif can_generate:
                    st.caption("No image yet: press Generate.")

            with st.container(horizontal=True, vertical_alignment="bottom"):
                if st.button("Generate", key=f"gallery_gen_{pid}", icon=":material/play_arrow:", type="primary",
                             disabled=busy or not can_generate,
                             help="Make the image for this seed (instant when it is already there)"):
                    gw.ensure_seed(pf, pid)
                    start_job([(pid, gw.prompt_generation_params(pf, pid, backend))], f"generate {pid}")
                    st.rerun()
                if editable and st.button("Regenerate", key=f"gallery_regen_{pid}", icon=":material/replay:",
                                          disabled=busy or not can_generate,
                                          help="Delete this seed's image and compute it again: same seed, "
                                               "same picture"):
                    gw.ensure_seed(pf, pid)
                    params = gw.prompt_generation_params(pf, pid, backend)
                    existing = gw.stored_image(store, params)
                    if existing is not None:
                        store.delete(existing)
                    start_job([(pid, params)], f"regenerate {pid}")
                    st.rerun()
                count = st.number_input("Variations", min_value=1, max_value=MAX_VARIATIONS, value=2, key=f"gallery_nvar_{pid}",
                                        width=120)
                if st.button("New seeds", key=f"gallery_var_{pid}", icon=":material/shuffle:",
                             disabled=busy or not can_generate,
                             help="Variations: new random seeds, each recorded in its image"):
                    items = [(pid, gw.prompt_generation_params(pf, pid, backend, seed=random_seed()))
                             for _ in range(int(count))]
                    start_job(items, f"variations of {pid}")
                    st.rerun()
                for field, words in ALTERNATIVE_KEYS.items():
                    if isinstance(prompt.get(field), str) and prompt[field].strip() and st.button(
                            f"Same seed, {words}", key=f"gallery_alt_{field}_{pid}", icon=":material/compare:",
                            disabled=busy or not can_generate or params.problems() != [],
                            help=f"Draw the {words} with this prompt's seed and compare the two step by step"):
                        gw.ensure_seed(pf, pid)
                        compare_pair(pid, f"{pid}.{field}", seed=pf.params(pid).seed)
                        st.rerun()
            pair = state.get("gallery_compare")
            if pair is not None and pair[0] == pid:
                with st.expander("Same seed, side by side", expanded=True, icon=":material/compare:"):
                    show_pair(pair)
            if len(images) >= 2:
                with st.expander("Compare two images side by side"):
                    gw.compare_two(images, key=f"gallery_cmp_{pid}")

if editing:
    st.divider()
    st.button("Add a section", key="gallery_sadd", icon=":material/add_box:", on_click=structural,
              args=(edits.add_section, pf, "New section"))

# ---------------------------------------------------------------- any two prompts, same seed
st.divider()
with st.expander("Compare two prompts with the same seed", icon=":material/compare:"):
    keys = list(choices)
    if len(keys) >= 2:
        pick = st.container(horizontal=True, vertical_alignment="bottom")
        left_key = pick.selectbox("Left", keys, format_func=lambda k: choices[k].label, key="gallery_pair_left")
        right_key = pick.selectbox("Right", keys, index=1, format_func=lambda k: choices[k].label,
                                   key="gallery_pair_right")
        own_seed = pf.params(choices[left_key].prompt_id).seed
        pair_seed = pick.number_input("Seed", min_value=0, max_value=gi.WIDGET_SEED_MAX, key="gallery_pair_seed",
                                      value=own_seed if isinstance(own_seed, int) and 0 <= own_seed <= gi.WIDGET_SEED_MAX
                                      else 0, width=200)
        if pick.button("Compare", key="gallery_pair_go", icon=":material/compare:", type="primary",
                       disabled=busy or not can_generate,
                       help="Draw both with this seed (what is already there is reused) and show them step by step"):
            compare_pair("*", left_key, right_key, seed=int(pair_seed))
            st.rerun()
        pair = state.get("gallery_compare")
        if pair is not None and pair[0] == "*":
            show_pair(pair)
    else:
        st.caption("The file needs two prompts to compare.")

# ---------------------------------------------------------------- recall the parameters of a PNG
st.divider()
with st.expander("Recall a PNG's parameters into a new prompt", icon=":material/upload_file:"):
    upload = st.file_uploader("A PNG made here or by AUTOMATIC1111 / Forge", type=["png"], key="gallery_upload")
    if upload is not None:
        try:  # every value is checked against the lesson's model before anything uses it
            recalled = recall_params(upload.getvalue(), pf.defaults["model"])
        except RecallRefused as exc:
            st.error(f"Cannot recall {gw.md_escape(upload.name)}: {gw.md_escape(str(exc))}.",
                     icon=":material/error:")
        else:
            st.code(recalled.params.prompt, language=None, wrap_lines=True)
            st.caption(params_line({**recalled.params.to_dict(), "model_id": recalled.made_with})
                       + f" · read from the {recalled.source} metadata")
            if recalled.notes:
                st.warning("**What does not carry over:**\n\n" + "\n".join(f"- {gw.md_escape(n)}"
                                                                            for n in recalled.notes),
                           icon=":material/swap_horiz:")
            if recalled.differs_from_schnell and st.checkbox(
                    "Use schnell's values (4 steps, guidance 0) instead", value=True, key="gallery_upload_schnell"):
                recalled = replace(recalled, params=with_schnell_values(recalled.params))
            if not editable:
                st.caption("Only the instructor adds prompts to the lesson.")
            elif sections:
                target = st.selectbox("Add to section", [s["id"] for s in sections], key="gallery_upload_section",
                                      format_func=lambda s: next(x.get("title") or s for x in sections if x["id"] == s))
                if st.button("Add as a new prompt", key="gallery_upload_add", icon=":material/add:"):
                    defaults = pf.defaults
                    overrides = {k: getattr(recalled.params, k) for k in OVERRIDE_KEYS
                                 if getattr(recalled.params, k) != defaults.get(k)}
                    new_id = edits.add_prompt(pf, target, recalled.params.prompt, seed=recalled.params.seed,
                                              commentary=f"Recalled from {upload.name}.", **overrides)
                    gw.next_revision()
                    st.toast(f"Added prompt {new_id}; press Save to keep it.")
                    st.rerun()
            else:
                st.info("Add a section first (Edit → Add a section).")
