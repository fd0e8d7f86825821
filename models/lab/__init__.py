"""The shared core of the 2-D lab, below the score and flow families: data (datasets, points CSV,
drawings, uploads, Gaussian mixtures), metrics, settings checks, the CLI plumbing, and flow matching
(written once for 2-D points and the text-to-image model's 8×8 images)."""
