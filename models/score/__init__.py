"""Toy 2-D score models: datasets, networks, objectives, reference scores, samplers, training.

Everything here is plain PyTorch and never imports streamlit, so it runs headless
(tests, the `python -m models.score` CLI, benchmarks) as well as behind the app.
"""
