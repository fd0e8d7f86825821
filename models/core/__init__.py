"""Utilities every package may use, with no model math: atomic writes, devices, the background-job
pool, the run registry, who may change shared things, the DC_* settings, `InputError`, CLIP's tokenizer."""
