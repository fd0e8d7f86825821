"""The Gallery page under Streamlit's AppTest, with the tiny demo pipeline (built once per session)."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path
from unittest import mock

import pytest
from PIL import Image, PngImagePlugin
from streamlit.testing.v1 import AppTest

from models.flux.store import DEMO_LABEL, ImageStore
from app.gallery.sections import PROMPTS_PER_PAGE, SHOWN_KEY
from tests import helpers

REPO = Path(__file__).resolve().parents[2]
PART1 = REPO / "prompts" / "part1.toml"
GALLERY = "views/gallery.py"


def open_page(page: str, **kwargs):
    """The page with every prompt card drawn (the first page of cards: test_cards_come_a_page_at_a_time)."""
    return helpers.open_page(page, **{SHOWN_KEY: 1000, **kwargs})
WITCH = "witch-black-hole"


@pytest.fixture
def gallery(tiny_dir, tmp_path, monkeypatch):
    """Environment of one gallery session: a copy of part1.toml (at 256x256 to keep the demo fast)."""
    prompts = tmp_path / "part1.toml"
    text = PART1.read_text(encoding="utf-8")
    prompts.write_text(text.replace("width = 1024", "width = 256").replace("height = 1024", "height = 256"),
                       encoding="utf-8")
    env = {"DC_FLUX_MODEL": "tiny", "DC_PROMPTS_FILE": str(prompts), "DC_OUTPUT_DIR": str(tmp_path / "outputs"),
           "DC_TINY_DIR": str(tiny_dir), "DC_HF_CACHE": str(tmp_path / "hf-cache"), "HF_HUB_OFFLINE": "1"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return prompts


def wait_for_job(at: AppTest) -> None:
    job = at.session_state["gallery_job"]
    if job is not None:  # None: it finished (e.g. from the store) before the page's rerun collected it
        assert job.wait(240), "generation did not finish"
        at.run()
    assert at.session_state["gallery_job"] is None and at.session_state["gallery_last"]
    assert not at.exception, [e.value for e in at.exception]


def edit_key(at: AppTest, kind: str, ident: str) -> str:
    """An edit widget's key: it carries the revision of the file the page shows (ge_<kind>_<id>_r<rev>)."""
    return f"ge_{kind}_{ident}_r{at.session_state['gallery_rev']}"


def card_images(at: AppTest) -> int:
    """How many images the cards show (the contact sheet above them shows each prompt's image once more)."""
    sheet = [e for e in at.expander if e.label.startswith("Contact sheet")]
    return len(at.image) - sum(len(e.get("image")) for e in sheet)


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def test_renders_the_file_with_the_demo_banner(gallery):
    at = open_page(GALLERY)
    assert at.title[0].value.startswith("Part 1")
    assert any(DEMO_LABEL in w for w in texts(at.warning))  # the banner says what the images are
    assert "text_to_image" in {el.proto.page for el in at.get("page_link")}  # and offers a model trained here
    shown = texts(at.code)
    data = tomllib.loads(gallery.read_text(encoding="utf-8"))
    prompts = [p["text"] for s in data["sections"] for p in s.get("prompts", [])]
    assert prompts and all(p in shown for p in prompts)
    headers = texts(at.header)
    assert [s["title"] for s in data["sections"]] == headers  # sections in file order
    assert any("Lear" in m for m in texts(at.markdown))  # commentary rendered
    assert not at.error


@pytest.mark.slow
def test_generate_one_image_star_it_and_save(gallery, tmp_path):
    at = open_page(GALLERY)
    assert "No image yet: press Generate." in texts(at.caption)
    at.button(key=f"gallery_gen_{WITCH}").click().run()
    wait_for_job(at)
    assert any("1 image(s) ready (1 new" in s for s in texts(at.success))
    images = ImageStore(tmp_path / "outputs").find(prompt_id=WITCH)
    assert len(images) == 1 and images[0].metadata["seed"] == 7 and images[0].is_demo
    assert card_images(at) == 1
    # Star it: recorded in the document, written on Save.
    at.button(key=f"gallery_grid_{WITCH}_star_{images[0].path.stem}").click().run()
    assert at.session_state["gallery_pf"].prompt(WITCH)["chosen"] == 7
    assert at.button(key="gallery_save").disabled is False
    at.button(key="gallery_save").click().run()
    data = tomllib.loads(gallery.read_text(encoding="utf-8"))
    witch = [p for s in data["sections"] for p in s.get("prompts", []) if p["id"] == WITCH][0]
    assert witch["chosen"] == 7
    # Generating again is served from the store.
    at.button(key=f"gallery_gen_{WITCH}").click().run()
    wait_for_job(at)
    assert any("(0 new, 1 already there)" in s for s in texts(at.success))


def test_new_seed_variations_are_recorded_in_their_images(gallery, tmp_path):
    at = open_page(GALLERY)
    at.number_input(key=f"gallery_nvar_{WITCH}").set_value(2).run()
    at.button(key=f"gallery_var_{WITCH}").click().run()
    wait_for_job(at)
    images = ImageStore(tmp_path / "outputs").find(prompt_id=WITCH)
    seeds = {im.metadata["seed"] for im in images}
    assert len(images) == 2 and len(seeds) == 2
    stars = [b for b in at.button if b.key.startswith(f"gallery_grid_{WITCH}_star_")]
    assert {b.key.rsplit("_", 1)[1] for b in stars} == {im.path.stem for im in images}  # both in the grid
    assert card_images(at) == 2  # two thumbnails; the side-by-side comparison only when asked for
    at.toggle(key=f"gallery_cmp_on_{WITCH}").set_value(True).run()
    assert len(at.multiselect(key=f"gallery_cmp_{WITCH}").value) == 2  # compare side by side offered
    assert card_images(at) == 4  # two thumbnails + the same two side by side


def test_edit_commentary_and_save_keeps_comments(gallery):
    at = open_page(GALLERY)
    at.toggle(key="gallery_edit").set_value(True).run()
    at.text_area(key=edit_key(at, "comm", WITCH)).input("Edited in class: **the orb** again.").run()
    at.text_area(key=edit_key(at, "scomm", "task-0-3-discussion")).input("Discuss in pairs.").run()
    assert not at.exception
    at.button(key="gallery_save").click().run()
    text = gallery.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    witch = [p for s in data["sections"] for p in s.get("prompts", []) if p["id"] == WITCH][0]
    assert witch["commentary"] == "Edited in class: **the orb** again.\n"
    assert data["sections"][2]["commentary"] == "Discuss in pairs.\n"
    assert "# How to edit this file" in text and "# King Lear, Act 5 Scene 3" in text
    assert witch["text"] == "a witch holding up a black hole, illustration"
    assert at.button(key="gallery_save").disabled  # nothing left to save


def test_randomize_seed_records_it(gallery):
    at = open_page(GALLERY)
    at.toggle(key="gallery_edit").set_value(True).run()
    at.button(key=f"gallery_rand_{WITCH}").click().run()
    seed = at.session_state["gallery_pf"].prompt(WITCH)["seed"]
    assert seed != 7 and at.text_input(key=edit_key(at, "seed", WITCH)).value == str(seed)
    at.text_input(key=edit_key(at, "seed", WITCH)).input("not a number").run()
    assert any("not a seed" in e for e in texts(at.error))
    assert at.session_state["gallery_pf"].prompt(WITCH)["seed"] == seed


def test_delete_needs_confirmation(gallery):
    at = open_page(GALLERY)
    at.toggle(key="gallery_edit").set_value(True).run()
    at.button(key=f"gallery_pdel_{WITCH}").click().run()
    assert WITCH in at.session_state["gallery_pf"].prompt_ids()  # not yet
    at.button(key=f"gallery_confirm_yes_prompt_{WITCH}").click().run()
    assert WITCH not in at.session_state["gallery_pf"].prompt_ids()
    assert WITCH in gallery.read_text(encoding="utf-8")  # on disk only after Save
    at.button(key="gallery_save").click().run()
    assert WITCH not in gallery.read_text(encoding="utf-8")


def test_save_merges_other_fields_and_refuses_only_the_same_field(gallery):
    at = open_page(GALLERY)
    at.toggle(key="gallery_edit").set_value(True).run()
    at.text_area(key=edit_key(at, "comm", WITCH)).input("mine").run()
    # Someone else saves a different field: Save keeps both.
    theirs = gallery.read_text(encoding="utf-8").replace('title = "Part 1', 'title = "Changed elsewhere: Part 1')
    gallery.write_text(theirs, encoding="utf-8")
    at.button(key="gallery_save").click().run()
    assert not any("Not saved" in e for e in texts(at.error))
    text = gallery.read_text(encoding="utf-8")
    assert 'commentary = """\nmine\n"""' in text and 'title = "Changed elsewhere: Part 1' in text

    # The same field changed on disk: a real conflict. Nothing is written until I choose.
    at.text_area(key=edit_key(at, "comm", WITCH)).input("mine again").run()
    theirs = text.replace('commentary = """\nmine\n"""', 'commentary = """\ntheirs\n"""')
    gallery.write_text(theirs, encoding="utf-8")
    at.button(key="gallery_save").click().run()
    assert any("Not saved" in e and f"{WITCH}' · commentary" in e for e in texts(at.error)), texts(at.error)
    assert gallery.read_text(encoding="utf-8") == theirs
    at.button(key="gallery_overwrite").click().run()
    assert 'commentary = """\nmine again\n"""' in gallery.read_text(encoding="utf-8")
    assert not any("Not saved" in e for e in texts(at.error))

    # Third round: this time drop my edit and take the disk version.
    at.text_area(key=edit_key(at, "comm", WITCH)).input("mine a third time").run()
    gallery.write_text(theirs, encoding="utf-8")
    at.button(key="gallery_save").click().run()
    at.button(key="gallery_reload").click().run()
    assert at.session_state["gallery_pf"].prompt(WITCH)["commentary"] == "theirs\n"
    assert at.text_area(key=edit_key(at, "comm", WITCH)).value == "theirs\n"
    assert at.button(key="gallery_save").disabled and not at.session_state["gallery_edits"]
    assert gallery.read_text(encoding="utf-8") == theirs


def test_a_stale_widget_value_is_never_written(gallery):
    """A widget of an older revision of the file, still in the browser, must not write its value into
    the file as reloaded (tests/browser/test_gallery_sessions_browser.py does it end to end)."""
    from app.gallery.session import record_edit

    at = open_page(GALLERY)
    at.toggle(key="gallery_edit").set_value(True).run()
    old_rev = at.session_state["gallery_rev"]
    text = gallery.read_text(encoding="utf-8")
    gallery.write_text(text.replace("- *holding up* can also", "- *holding up* (B) can also"), encoding="utf-8")
    at.run()  # the page reads the file again: a new revision, fresh widgets
    assert at.session_state["gallery_rev"] > old_rev
    assert "(B)" in at.text_area(key=edit_key(at, "comm", WITCH)).value
    # What the browser would send back for the old widget: its old value, with its old revision.
    at.session_state[f"ge_comm_{WITCH}_r{old_rev}"] = "the old text"
    edits = at.session_state["gallery_edits"]
    with mock.patch("app.gallery.session.st.session_state", at.session_state):
        record_edit(old_rev, "comm", WITCH)
    assert not edits


def test_problems_are_listed_with_their_lines(gallery):
    text = gallery.read_text(encoding="utf-8").replace("seed = 7\n", "seed = 7\nwidht = 1000\nwidth = 1000\n")
    gallery.write_text(text, encoding="utf-8")
    line = text.splitlines().index("width = 1000") + 1
    at = open_page(GALLERY)
    errors = texts(at.error)
    assert any(f"line {line}: width 1000 is not a multiple of 16" in e for e in errors), errors
    assert len(at.code) >= 6  # the page still shows the prompts


def test_malformed_file_shows_the_line(gallery):
    gallery.write_text('title = "x"\n\n[defaults]\nsteps = = 4\n', encoding="utf-8")
    at = open_page(GALLERY)
    assert any(":4:**" in e and "not valid TOML" in e for e in texts(at.error)), texts(at.error)
    assert any("> " in c and "steps = = 4" in c for c in texts(at.code))


def test_recall_a1111_png_into_a_new_prompt(gallery):
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a lighthouse in fog, oil painting\nSteps: 6, Sampler: Euler, CFG scale: 0, "
                                "Seed: 1234, Size: 512x512, Model: flux1-schnell")
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG", pnginfo=info)
    at = open_page(GALLERY)
    at.file_uploader(key="gallery_upload").upload("fog.png", buffer.getvalue(), "image/png").run()
    assert "a lighthouse in fog, oil painting" in texts(at.code)
    # It says what does not carry over, and offers schnell's values (on by default): 4 steps, guidance_scale 0.
    assert any("Copied 6 steps; schnell is distilled for 1 to 4 steps" in w for w in texts(at.warning))
    assert at.checkbox(key="gallery_upload_schnell").value is True
    at.checkbox(key="gallery_upload_schnell").uncheck().run()  # keep the PNG's 6 steps
    at.selectbox(key="gallery_upload_section").set_value("task-0-3-discussion").run()
    at.button(key="gallery_upload_add").click().run()
    pf = at.session_state["gallery_pf"]
    new = pf.section("task-0-3-discussion")["prompts"][-1]
    assert new["text"] == "a lighthouse in fog, oil painting" and new["seed"] == 1234
    assert new["steps"] == 6 and new["width"] == 512 and new["height"] == 512
    assert "guidance_scale" not in new  # same as the defaults: not repeated
    assert pf.problems() == []


def test_cancel_stops_a_running_job(gallery, tmp_path):
    at = open_page(GALLERY)
    at.number_input(key=f"gallery_nvar_{WITCH}").set_value(8).run()
    at.button(key=f"gallery_var_{WITCH}").click().run()
    job = at.session_state["gallery_job"]
    assert job is not None and not at.button(key="gallery_cancel").disabled  # the progress panel is up
    at.button(key="gallery_cancel").click().run()
    assert job.wait(240)
    at.run()
    assert job.state == "cancelled"
    assert any("cancelled" in i for i in texts(at.info))
    assert len(ImageStore(tmp_path / "outputs").find(prompt_id=WITCH)) < 8  # stopped early; finished ones kept


def test_export_buttons_are_offered(gallery):
    at = open_page(GALLERY)
    keys = {b.key for b in at.get("download_button")}
    assert {"gallery_zip", "gallery_html"} <= keys


def test_second_session_waits_for_the_generator(tiny_settings):
    """Two sessions share one Generator: while one generates, the other's job says it is waiting."""
    import threading
    import time

    from models.flux.worker import generation_job
    from models.flux.generate import Generator
    from models.core.jobs import JobPool

    generator = Generator("tiny", settings=tiny_settings, store=ImageStore(tiny_settings.output_dir))
    inside, release = threading.Event(), threading.Event()

    def hold(step, total, preview):  # session A pauses inside its generation, holding the generator
        inside.set()
        release.wait(120)

    first = threading.Thread(target=generator.generate, args=(generator.params("a", 1, width=64, height=64),),
                             kwargs={"on_step": hold})
    first.start()
    try:
        assert inside.wait(240)
        job = JobPool(1).submit(generation_job(generator, [("b", generator.params("b", 2, width=64, height=64))]),
                                name="session B")
        deadline = time.monotonic() + 30
        while job.snapshot() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job.snapshot().status.startswith("waiting for the generator")
        assert not job.is_finished
    finally:
        release.set()
        first.join(240)
    assert job.wait(240) and job.state == "done"
    assert [m[0] for m in job.result.made] == ["b"] and job.result.errors == []


def test_duplicate_and_missing_ids_do_not_break_the_page(gallery):
    text = gallery.read_text(encoding="utf-8")
    text = text.replace('id = "gouache-cat-wizard"', 'id = "flowers-into-black-hole"')  # a duplicate
    text = text.replace('id = "suit-of-trump-cards"\n', "")  # a prompt without id
    text = text.replace('tags = ["homonym", "bias"]', 'tags = "not a list"')
    gallery.write_text(text, encoding="utf-8")
    at = open_page(GALLERY)
    errors = " ".join(texts(at.error))
    assert "duplicate prompt id 'flowers-into-black-hole'" in errors and "prompt has no id" in errors
    assert sum("is skipped" in w for w in texts(at.warning)) == 2
    at.toggle(key="gallery_edit").set_value(True).run()
    assert not at.exception
    assert at.text_input(key=edit_key(at, "tags", WITCH)).value == ""


def test_a_float_seed_is_an_error_not_a_made_up_seed(gallery, tmp_path):
    """`seed = 5.0` is listed as a problem and refused on Generate (it once got a crc32 seed silently)."""
    text = gallery.read_text(encoding="utf-8").replace("seed = 7\n", "seed = 5.0\n")
    gallery.write_text(text, encoding="utf-8")
    line = text.splitlines().index("seed = 5.0") + 1
    at = open_page(GALLERY)
    assert any(f"line {line}: seed must be a whole number" in e for e in texts(at.error)), texts(at.error)
    at.button(key=f"gallery_gen_{WITCH}").click().run()
    wait_for_job(at)
    assert [e[0] for e in at.session_state["gallery_last"].errors] == [WITCH]
    assert "seed must be a whole number" in at.session_state["gallery_last"].errors[0][1]
    assert ImageStore(tmp_path / "outputs").find() == []  # no image under any other seed


def test_wrong_value_types_show_in_their_own_card_and_the_rest_works(gallery):
    """`steps = "four"`, `width = "1024px"`, `guidance_scale = "x"` once crashed the page
    (a ValueError from the image cache key) and hid every later prompt."""
    text = gallery.read_text(encoding="utf-8")
    text = text.replace('id = "witch-black-hole"\n', 'id = "witch-black-hole"\nsteps = "four"\n')
    text = text.replace('id = "gouache-cat-wizard"\n', 'id = "gouache-cat-wizard"\nwidth = "1024px"\n')
    text = text.replace('id = "suit-of-trump-cards"\n', 'id = "suit-of-trump-cards"\nguidance_scale = "x"\n')
    gallery.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    at = open_page(GALLERY)
    assert not at.exception, [e.value for e in at.exception]
    # The cards' errors (not the file's list of problems at the top), Markdown escapes removed.
    cards = [e.replace("\\", "") for e in texts(at.error) if not e.startswith("**")]
    for key in ('steps = "four"', 'width = "1024px"', 'guidance_scale = "x"'):
        line = lines.index(key) + 1
        assert any(f"{gallery.name}:{line}: {key.split()[0]}" in e for e in cards), (key, cards)
    assert len(cards) == 3
    data = tomllib.loads(text)
    shown = texts(at.code)
    assert all(p["text"] in shown for s in data["sections"] for p in s.get("prompts", []))  # every prompt
    # The rest of the page works: a good prompt generates, and "Generate missing" skips the bad ones.
    at.button(key="gallery_gen_pastoral-holiday-mixed-script").click().run()
    wait_for_job(at)
    assert at.session_state["gallery_last"].errors == []
    at.toggle(key="gallery_edit").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]


def test_recall_refuses_a_png_it_cannot_trust(gallery):
    """A 30000x30000 PNG (DecompressionBombError), `"params": 5`, a list as the prompt and
    `"guidance_scale": "x"` once raised unhandled errors; now each is refused in one line, with no Add."""
    from tests.flux_fixtures import GOOD, huge_png, ours

    at = open_page(GALLERY)
    uploads = {"huge.png": huge_png(30000, 30000), "five.png": ours({"params": 5}),
               "list.png": ours({"params": {**GOOD, "prompt": ["a", "b"]}}),
               "guidance.png": ours({"params": {**GOOD, "guidance_scale": "x"}})}
    for name, data in uploads.items():
        at.file_uploader(key="gallery_upload").upload(name, data, "image/png").run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert any(e.startswith(f"Cannot recall {name}") for e in texts(at.error)), texts(at.error)
        assert not [b for b in at.button if b.key == "gallery_upload_add"]
    assert not at.session_state["gallery_edits"]


def test_students_on_the_class_network_look_and_generate_but_do_not_edit(gallery, served_to_the_class, tmp_path):
    """Read-only for everyone but the instructor when served to the network."""
    at = open_page(GALLERY)
    keys = {e.key for e in at.get("toggle") + at.get("button") + at.get("download_button")}
    # Exports are the instructor's, as docs/classroom.md says: the zip and the HTML handout (it embeds every
    # image: a student's click costs the server seconds).
    assert not {"gallery_edit", "gallery_save", "gallery_zip", "gallery_html"} & keys
    assert f"gallery_regen_{WITCH}" not in keys  # Regenerate deletes the stored image first
    assert f"gallery_gen_{WITCH}" in keys  # Generate stays
    assert any("Read-only: the instructor edits this lesson" in c for c in texts(at.caption))
    assert not any(str(gallery.parent) in c for c in texts(at.caption))  # no server folders for the class
    # Generate works; the new image cannot be starred.
    at.button(key=f"gallery_gen_{WITCH}").click().run()
    wait_for_job(at)
    stars = [b for b in at.button if b.key.startswith(f"gallery_grid_{WITCH}_star_")]
    assert stars and all(b.disabled for b in stars)
    # A recalled PNG can be looked at, not added to the lesson.
    from tests.flux_fixtures import GOOD, ours

    at.file_uploader(key="gallery_upload").upload("ok.png", ours({"params": {**GOOD, "width": 256,
                                                                               "height": 256}}), "image/png").run()
    assert "a lighthouse in fog" in texts(at.code)
    assert not [b for b in at.button if b.key == "gallery_upload_add"]
    before = gallery.read_bytes()

    at.session_state["instructor_signed_in"] = True
    at.run()
    keys = {e.key for e in at.get("toggle") + at.get("button") + at.get("download_button")}
    assert {"gallery_edit", "gallery_save", "gallery_zip", "gallery_html", f"gallery_regen_{WITCH}",
            "gallery_upload_add"} <= keys
    assert not any("Read-only" in c for c in texts(at.caption))
    assert any(str(gallery) in c for c in texts(at.caption))
    assert not all(b.disabled for b in at.button if b.key.startswith(f"gallery_grid_{WITCH}_star_"))
    assert gallery.read_bytes() == before  # nothing a student did reached the file


def test_each_card_shows_its_clip_tokens_and_says_t5_needs_real_weights(gallery):
    from models.flux.tokens import T5_NEEDS_WEIGHTS

    at = open_page(GALLERY)
    labels = [e.label for e in at.expander]
    assert "Tokens · CLIP 18/77" in labels  # the mixed-script prompt: 18 ids, start and end included
    assert "Tokens · CLIP 8/77" in labels  # a suit of Trump playing cards
    shown = texts(at.code)
    assert any(c.startswith("<|startoftext|> · п · а · с · т · о · р · а<d0> · <bb>") for c in shown)
    assert any(" · trump␣ · " in c for c in shown)  # CLIP lowercases
    assert T5_NEEDS_WEIGHTS in texts(at.info)
    assert not at.error


def test_open_shows_the_full_file_its_png_info_timeline_and_a_readable_download(gallery, tmp_path):
    at = open_page(GALLERY)
    at.button(key=f"gallery_gen_{WITCH}").click().run()
    wait_for_job(at)
    image = ImageStore(tmp_path / "outputs").find(prompt_id=WITCH)[0]
    at.button(key=f"gallery_grid_{WITCH}_open_{image.path.stem}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    info = [c for c in texts(at.code) if c.startswith("a witch holding up a black hole, illustration\nSteps: 4,")]
    assert info and "Seed: 7, Size: 256x256" in info[0]  # the A1111 parameters text of the file
    captions = [c for im in at.image for c in im.captions]
    assert [c for c in captions if c.startswith("step ")] == [
        "step 1 · t = 1.00", "step 2 · t = 0.75", "step 3 · t = 0.50", "step 4 · t = 0.25"]
    download = at.get("download_button")
    names = [d.proto.label for d in download]
    assert "Download PNG" in names


def test_same_seed_translation_draws_both_and_compares_them_step_by_step(gallery, tmp_path):
    mixed = "pastoral-holiday-mixed-script"
    at = open_page(GALLERY)
    at.button(key=f"gallery_alt_translation_{mixed}").click().run()
    wait_for_job(at)
    store = ImageStore(tmp_path / "outputs")
    own = store.find(prompt_id=mixed)
    translated = store.find(prompt_id=f"{mixed}.translation")
    assert len(own) == 1 and len(translated) == 1
    assert translated[0].prompt == "pastoral holiday" and translated[0].metadata["seed"] == own[0].metadata["seed"] == 1860
    assert at.select_slider(key=f"gallery_pair_{mixed}_step").value == 1
    assert "pastoral holiday" in texts(at.code)
    # The translated image is not one of the card's own images.
    assert [b.key for b in at.button if b.key.startswith(f"gallery_grid_{mixed}_star_")] == [
        f"gallery_grid_{mixed}_star_{own[0].path.stem}"]
    assert "gallery_alt_rephrased_suit-of-trump-cards" in [b.key for b in at.button]


def test_scratch_prompt_draws_large_and_only_the_instructor_adds_it(gallery, tmp_path):
    at = open_page(GALLERY)
    at.text_area(key="scratch_text").input("a lighthouse in fog").run()
    at.text_input(key="scratch_seed").input("99").run()
    at.slider(key="scratch_steps").set_value(2).run()
    at.button(key="scratch_go").click().run()
    wait_for_job(at)
    made = ImageStore(tmp_path / "outputs").find(prompt_id="scratch")
    assert len(made) == 1 and made[0].metadata["seed"] == 99 and made[0].metadata["steps"] == 2
    captions = [c for im in at.image for c in im.captions]
    assert "seed 99 · 2 steps · 1024×1024" in captions
    assert [c for c in captions if c.startswith("step ")] == ["step 1 · t = 1.00", "step 2 · t = 0.50"]
    at.button(key="scratch_random").click().run()
    assert at.text_input(key="scratch_seed").value != "99"
    at.button(key="scratch_add").click().run()
    new = [p for p in at.session_state["gallery_pf"].prompt_ids() if p not in ("witch-black-hole",)]
    prompt = next(at.session_state["gallery_pf"].prompt(p) for p in new
                  if at.session_state["gallery_pf"].prompt(p)["text"] == "a lighthouse in fog")
    # Only what differs from the file's [defaults] (256x256, 4 steps in this copy) is written.
    assert prompt["seed"] == 99 and prompt["steps"] == 2 and prompt["width"] == 1024 and "guidance_scale" not in prompt
    assert at.button(key="gallery_save").disabled is False


def test_scratch_prompt_cannot_be_added_by_a_read_only_session(gallery, monkeypatch):
    monkeypatch.setenv("DC_CLASSROOM_MODE", "1")
    at = open_page(GALLERY)
    at.text_area(key="scratch_text").input("a lighthouse in fog").run()
    at.button(key="scratch_go").click().run()
    wait_for_job(at)
    assert "scratch_add" not in [b.key for b in at.button]


def test_edit_mode_previews_commentary_and_sets_steps_and_size(gallery):
    at = open_page(GALLERY)
    at.toggle(key="gallery_edit").set_value(True).run()
    at.text_area(key=edit_key(at, "comm", WITCH)).input("Look at **the orb**.").run()
    assert "Look at **the orb**." in texts(at.markdown)  # the preview beside the box
    at.number_input(key=edit_key(at, "steps", WITCH)).set_value(2).run()
    at.number_input(key=edit_key(at, "width", WITCH)).set_value(512).run()
    at.number_input(key=edit_key(at, "height", WITCH)).set_value(256).run()  # = [defaults] here: inherited
    view = at.session_state["gallery_pf"]
    assert view.prompt(WITCH)["steps"] == 2 and view.prompt(WITCH)["width"] == 512 and "height" not in view.prompt(WITCH)
    at.button(key="gallery_save").click().run()
    data = tomllib.loads(gallery.read_text(encoding="utf-8"))
    witch = [p for s in data["sections"] for p in s.get("prompts", []) if p["id"] == WITCH][0]
    assert (witch["steps"], witch["width"], "height" in witch) == (2, 512, False)
    assert witch["commentary"].strip() == "Look at **the orb**."


def test_prompt_file_picker_and_new_file_from_template(gallery, tmp_path, monkeypatch):
    folder = tmp_path / "lectures"
    folder.mkdir()
    (folder / "lecture-2.toml").write_text('title = "Lecture 2 · Homonyms"\n', encoding="utf-8")
    monkeypatch.setenv("DC_PROMPTS_DIR", str(folder))
    at = open_page(GALLERY)
    picker = at.selectbox(key="gallery_file")
    assert picker.value == str(gallery)  # DC_PROMPTS_FILE first
    options = picker.options
    assert options[0] == f"{gallery.parent.name}/part1.toml" and options[-1] == "lectures/lecture-2.toml"
    assert "part1.toml" in options  # prompts/part1.toml: two files of one name are told apart
    picker.set_value(str(folder / "lecture-2.toml")).run()
    assert at.title[0].value == "Lecture 2 · Homonyms" and not at.exception
    at.text_input(key="gallery_new_title").input("Lecture 3").run()
    at.button(key="gallery_new_create").click().run()
    assert (folder / "lecture-3.toml").is_file()  # written into DC_PROMPTS_DIR
    assert at.selectbox(key="gallery_file").value == str(folder / "lecture-3.toml")
    assert at.title[0].value == "Lecture 3" and "first-prompt" in [h.value for h in at.subheader]


def test_read_only_session_picks_files_but_cannot_create_one(gallery, monkeypatch):
    monkeypatch.setenv("DC_CLASSROOM_MODE", "1")
    at = open_page(GALLERY)
    assert at.selectbox(key="gallery_file").value == str(gallery)
    assert "gallery_new_create" not in [b.key for b in at.button]


def test_a_student_never_sees_a_linked_secret_nor_a_server_path(gallery, served_to_the_class, tmp_path, monkeypatch):
    """A submission folder restored from an archive, with links out of it and a file that is no TOML."""
    monkeypatch.setenv("DC_INSTRUCTOR_TOKEN", "owl-42")
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "environ.toml").symlink_to("/proc/self/environ")
    (folder / "passwd.toml").symlink_to("/etc/passwd")
    (folder / "broken.toml").write_text('title = "x"\nsecret_owl = = 42\n', encoding="utf-8")
    monkeypatch.setenv("DC_PROMPTS_DIR", str(folder))
    at = open_page(GALLERY)
    picker = at.selectbox(key="gallery_file")
    assert not [o for o in picker.options if "environ" in o or "passwd" in o], picker.options
    picker.set_value(str(folder / "broken.toml")).run()
    shown = " ".join(texts(at.error) + texts(at.code) + texts(at.caption) + texts(at.warning) + texts(at.markdown))
    assert "submissions/broken.toml:2:" in shown.replace("\\", "") and "not valid TOML" in shown
    assert str(tmp_path) not in shown and "owl" not in shown  # no server path, no line of the file
    at.session_state["instructor_signed_in"] = True  # the instructor fixing the file sees the lines
    at.run()
    assert any("secret_owl = = 42" in c for c in texts(at.code))


def test_the_page_never_shows_the_server_hf_cache_path(gallery, served_to_the_class, tmp_path, monkeypatch):
    """'auto' without FLUX.1-schnell in the cache says so, without the cache's folder on the server."""
    cache = tmp_path / "secret-folder" / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setenv("DC_FLUX_MODEL", "auto")
    monkeypatch.setenv("DC_HF_CACHE", str(cache))
    at = open_page(GALLERY)
    shown = " ".join(texts(at.error) + texts(at.warning) + texts(at.caption) + texts(at.markdown)
                     + texts(at.info) + texts(at.success))
    assert "not in the Hugging Face cache" in shown
    assert "secret-folder" not in shown and str(tmp_path) not in shown and "…/hub" in shown


def test_a_damaged_step_timeline_never_breaks_the_image_dialog(gallery, tmp_path):
    """A corrupt frame, a frame linked to /etc/passwd and a 100,000-entry timeline.json: the dialog opens."""
    import json

    at = open_page(GALLERY)
    at.button(key=f"gallery_gen_{WITCH}").click().run()
    wait_for_job(at)
    store = ImageStore(tmp_path / "outputs")
    image = store.find(prompt_id=WITCH)[0]
    folder = store.timeline_folder(image.path)
    (folder / "step02.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "step03.png").unlink()
    (folder / "step03.png").symlink_to("/etc/passwd")
    at.button(key=f"gallery_grid_{WITCH}_open_{image.path.stem}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c for im in at.image for c in im.captions if c.startswith("step ")]
    assert captions == ["step 1 · t = 1.00", "step 4 · t = 0.25"]
    assert "step 2 · t = 0.75: cannot be read" in texts(at.caption)
    (folder / "timeline.json").write_text(json.dumps({"frames": [{"step": 1, "t": 1, "file": "step01.png"}] * 100_000}))
    at.button(key=f"gallery_grid_{WITCH}_open_{image.path.stem}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("timeline cannot be read" in c for c in texts(at.caption))


def test_a_scratch_seed_out_of_range_is_said_and_never_silently_replaced(gallery, tmp_path):
    """A number box kept an out-of-range seed on screen while the image used the old one: what the box
    shows is now what is used, or the page says it cannot be."""
    at = open_page(GALLERY)
    at.text_area(key="scratch_text").input("a lighthouse in fog").run()
    at.text_input(key="scratch_seed").input("7").run()
    at.button(key="scratch_go").click().run()
    wait_for_job(at)
    for bad in ("99999999999999999999999", "-1", "4.5", "seven"):
        at.text_input(key="scratch_seed").input(bad).run()
        assert any("whole number from 0 to" in e for e in texts(at.error)), (bad, texts(at.error))
        assert at.button(key="scratch_go").disabled
        assert at.session_state["scratch_params"].seed == 7
    at.text_input(key="scratch_seed").input(str(2**63 - 1)).run()  # the largest seed: exact, not rounded
    at.button(key="scratch_go").click().run()
    assert at.session_state["scratch_params"].seed == 2**63 - 1


def test_cards_come_a_page_at_a_time(gallery):
    """A lesson of many images sends the first cards only; "Show more" adds the next ones, in file order."""
    at = helpers.open_page(GALLERY)
    data = tomllib.loads(gallery.read_text(encoding="utf-8"))
    prompts = [p["text"] for s in data["sections"] for p in s.get("prompts", [])]
    assert len(prompts) > PROMPTS_PER_PAGE
    shown = texts(at.code)
    assert [p for p in prompts if p in shown] == prompts[:PROMPTS_PER_PAGE]
    more = at.button(key="gallery_more")
    assert f"({len(prompts) - PROMPTS_PER_PAGE} not shown yet)" in more.label
    more.click().run()
    assert all(p in texts(at.code) for p in prompts[:2 * PROMPTS_PER_PAGE])


def _store_demo_images(gallery: Path, tmp_path: Path, count: int) -> list[str]:
    """A stored 256-px demo image for each of the file's first `count` prompts (no generation)."""
    from models.flux.params import GenerationParams
    from models.flux.tiny import TINY_MODEL_ID, TINY_REVISION

    data = tomllib.loads(gallery.read_text(encoding="utf-8"))
    prompts = [p for s in data["sections"] for p in s.get("prompts", [])][:count]
    store = ImageStore(tmp_path / "outputs")
    for prompt in prompts:
        params = GenerationParams(prompt=prompt["text"], seed=prompt["seed"], width=256, height=256,
                                  model_id=TINY_MODEL_ID, revision=TINY_REVISION)
        store.save(Image.new("RGB", (256, 256), (90, 120, 200)), params,
                   extra={"prompt_id": prompt["id"], "is_demo": True})
    return [p["id"] for p in prompts]


def test_a_contact_sheet_shows_every_prompts_image_small_and_a_students_star_says_no_save(
        gallery, served_to_the_class, tmp_path):
    ids = _store_demo_images(gallery, tmp_path, 4)
    at = open_page(GALLERY)
    assert not at.exception, [e.value for e in at.exception]
    sheet = [e for e in at.expander if e.label.startswith("Contact sheet")]
    assert sheet and sheet[0].label == "Contact sheet: 4 prompts at a glance"
    assert [i.proto.imgs[0].caption for i in sheet[0].get("image")] == ids  # one per prompt, in file order
    # a student cannot star, and has no Save: the tooltip says what the star is, not how to keep it
    stars = [b for b in at.button if b.key.startswith(f"gallery_grid_{ids[0]}_star_")]
    assert stars and all(b.disabled and "Save" not in (b.help or "") for b in stars)
    at.session_state["instructor_signed_in"] = True
    at.run()
    stars = [b for b in at.button if b.key.startswith(f"gallery_grid_{ids[0]}_star_")]
    assert stars and all("Save" in b.help for b in stars if not b.disabled)
