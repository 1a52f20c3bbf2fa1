"""Palate: taste-driven post-training.

Subjective judgement in, calibrated scores, reward signals and release decisions out.
See ``shared/DESIGN.md`` for the architecture; each subpackage owns one step of the flow.
"""

__version__ = "0.1.0"
