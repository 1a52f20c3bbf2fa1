"""Rubrics: files with line-numbered errors, content-hash versions, diffs, and rendering into
judge prompts and rater instructions."""

from palate.rubric.diff import RubricChange, RubricDiff, diff_rubrics
from palate.rubric.examples import example_rubric_path
from palate.rubric.loading import load_rubric
from palate.rubric.render import render_pairwise, render_pointwise, render_rater_instructions
from palate.schema.rubric import Rubric, rubric_canonical_bytes, rubric_version

__all__ = [
    "Rubric",
    "RubricChange",
    "RubricDiff",
    "diff_rubrics",
    "example_rubric_path",
    "load_rubric",
    "render_pairwise",
    "render_pointwise",
    "render_rater_instructions",
    "rubric_canonical_bytes",
    "rubric_version",
]
