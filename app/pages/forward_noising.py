"""Placeholder until this page is built."""

import streamlit as st

st.title("forward_noising")
st.info("This page is being built.")
