"""Entry point: builds the navigation and nothing else (`streamlit run app/main.py`)."""

import streamlit as st

from app.access import instructor_sign_in_ui

st.set_page_config(page_title="Diffusion Classroom", page_icon=":material/blur_on:", layout="wide")

pages = {
    "Diffusion Classroom": [
        st.Page("views/home.py", title="Home", icon=":material/school:", default=True),
    ],
    "Part 1 · Text to image": [
        st.Page("views/gallery.py", title="FLUX gallery", icon=":material/photo_library:"),
    ],
    "Part 2 · Score models": [
        st.Page("views/score_lab.py", title="Score lab", icon=":material/scatter_plot:"),
        st.Page("views/langevin.py", title="Langevin vs annealed", icon=":material/timeline:"),
        st.Page("views/forward_noising.py", title="Forward noising", icon=":material/grain:"),
        st.Page("views/memorization.py", title="Memorization", icon=":material/content_copy:"),
    ],
}

page = st.navigation(pages)
instructor_sign_in_ui()
page.run()
