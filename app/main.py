"""Entry point: builds the navigation and nothing else (`streamlit run app/main.py`)."""

import streamlit as st

from app.ui import presentation
from app.ui.access import instructor_sign_in_ui
from app.ui.uploads import upload_sweeper

presentation.page_config()  # title, a local icon (offline), wide layout; sidebar collapsed when presenting

pages = {
    "Diffusion Classroom": [
        st.Page("views/home.py", title="Home", icon=":material/school:", default=True),
    ],
    "Part 1 · Text to image": [
        st.Page("views/gallery.py", title="FLUX gallery", icon=":material/photo_library:"),
        # Part 1's lessons without a GPU or FLUX weights (Home lists it here too)
        st.Page("views/text_to_image.py", title="Text to image, trained here", icon=":material/draw:"),
    ],
    "Bridge · Part 1 ↔ Part 2": [
        st.Page("views/how_flux_samples.py", title="How FLUX samples", icon=":material/air:"),
    ],
    "Part 2 · Score models": [
        st.Page("views/score_lab.py", title="Score lab", icon=":material/scatter_plot:"),
        st.Page("views/langevin.py", title="Langevin vs annealed", icon=":material/timeline:"),
        st.Page("views/forward_noising.py", title="Forward noising", icon=":material/grain:"),
        st.Page("views/memorization.py", title="Memorization", icon=":material/content_copy:"),
        st.Page("views/samplers.py", title="One score, many samplers", icon=":material/call_split:"),
    ],
}

upload_sweeper()  # closed tabs' uploads leave the disk whether or not anyone trains
page = st.navigation(pages)
presentation.apply()  # the Presentation mode switch (or ?present=1) and the layout CSS
instructor_sign_in_ui()
page.run()
