"""FLUX gallery: the prompt file of Part 1 with its images and commentary.

Generate (through the shared job pool), star the image for the handout, edit prompts and commentary,
save back to the TOML file (keeping its comments), recall a PNG's parameters, export a zip or handout.
User text is shown with st.markdown / st.code only: never through unsafe_allow_html.

Edits are this session's patch, applied to the file as it is on disk when saving (models/flux/
prompt_edits.py): another session's saved edit of a different field is never reverted. Served to a class
network, only the instructor edits (app/ui/access.py); students look, and generate.
The pieces live in app/gallery/; this script is the page's outline.
"""

import streamlit as st

from app.gallery import compare, editing, files, images, jobs, recall, scratch, sections, session, toolbar
from app.gallery.backend import backend_status, model_spec, shared_generator, show_backend
from app.gallery.lesson import Lesson, broken_file_ui, heading_ui, settings_or_stop
from app.ui.access import can_edit

state = st.session_state

# 1. Which prompt file (one per lecture or student), as this session sees it
settings = settings_or_stop()
editable = can_edit()
heading = st.container()  # the title stays on top; the file picker below it decides what it says
path = files.pick_prompt_file(settings, can_create=editable)
pf = session.load_prompt_file(path)  # re-read on every run, this session's edits applied
if pf is None:
    broken_file_ui(heading, path)  # stops the page
heading_ui(heading, pf, path, settings, editable=editable)

# 2. The model (nothing heavy is loaded here)
backend = backend_status(model_spec(settings, pf), settings)
show_backend(backend)
generator = shared_generator(settings, backend.source)

# 3. This session's background job: what the last one did, whether we wait for the generator
jobs.collect_finished_job()
jobs.last_job_ui(generator)
lesson = Lesson(path=path, settings=settings, pf=pf, edits=state.gallery_edits, editable=editable,
                backend=backend, generator=generator, busy=state.get("gallery_job") is not None)

# 4. A save that found the file changed on disk
editing.conflict_ui(lesson)

# 5. Toolbar: Edit, Save, Generate missing, exports; then the running job's progress
editing_on = toolbar.toolbar_ui(lesson)
jobs.progress_ui()

# 6. Every prompt's image at a glance, then the scratch prompt (like the FLUX.1-schnell Space)
images.contact_sheet(lesson)
with st.expander("Scratch prompt: try any prompt", icon=":material/edit_square:",
                 expanded=state.get("scratch_params") is not None):
    scratch.scratch_ui(lesson)

# 7. Sections and their prompt cards
sections.sections_ui(lesson, editing_on=editing_on)

# 8. Any two prompts, same seed
st.divider()
with st.expander("Compare two prompts with the same seed", icon=":material/compare:"):
    compare.any_two_ui(lesson)

# 9. Recall the parameters of a PNG
st.divider()
with st.expander("Recall a PNG's parameters into a new prompt", icon=":material/upload_file:"):
    recall.recall_ui(lesson)
