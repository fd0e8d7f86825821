"""Placeholder until this page is built."""

import streamlit as st

st.title("score_lab")
st.info("This page is being built.")
