"""An 8×8 digit text-to-image model trained on this computer: the lessons of FLUX on any laptop.

data (the digits in the scikit-learn wheel) → captions (templates + measured attributes) →
text_encoder (CLIP BPE ids → a small learned encoder) + model (an MLP velocity network) →
train (rectified flow, caption dropout) → sample (Euler, guidance, step timeline) → judge (measure it).
"""
