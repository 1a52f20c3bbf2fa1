"""Diffs name what a rubric author changed, matched by identity rather than position."""

from __future__ import annotations

from palate.rubric import diff_rubrics, example_rubric_path, load_rubric
from palate.schema.rubric import Dimension, ErrorTag, Exemplar, Level


def test_diff_reports_each_kind_of_change() -> None:
    old = load_rubric(example_rubric_path("moon-poems"))
    dims = list(old.dimensions)
    sound = dims[2]
    new_scale = [*sound.scale[:-1], sound.scale[-1].model_copy(update={"anchor": "Sings."})]
    dims[2] = sound.model_copy(update={"weight": 2.0, "scale": new_scale})
    humour = Dimension(
        name="humour",
        definition="Wit.",
        scale=[
            Level(value=1, label="dour", anchor="No wit."),
            Level(value=2, label="wry", anchor="Some wit."),
        ],
    )
    new = old.model_copy(
        update={
            "dimensions": [humour, *dims[:-1]],  # concision removed, humour added first
            "exemplars": [*old.exemplars, Exemplar(text="Moon.", explanation="Tiny.")],
            "error_taxonomy": [
                *old.error_taxonomy,
                ErrorTag(name="mixed_metaphor", description="Clash."),
            ],
        }
    )
    diff = diff_rubrics(old, new)
    found = {(c.kind, c.path) for c in diff.changes}
    assert found == {
        ("removed", "dimensions[concision]"),
        ("added", "dimensions[humour]"),
        ("changed", "dimensions[sound].weight"),
        ("changed", "dimensions[sound].scale[5].anchor"),
        ("added", "exemplars[Moon.]"),
        ("added", "error_taxonomy[mixed_metaphor]"),
    }
    weight = next(c for c in diff.changes if c.path.endswith("weight"))
    assert (weight.before, weight.after) == (1.0, 2.0)
    assert any(ln.startswith("+") and "anchor: Sings." in ln for ln in diff.text.splitlines())
    assert not diff.same and diff_rubrics(old, old).changes == []
    assert diff_rubrics(old, old).same and diff_rubrics(old, old).text == ""


def test_reordering_is_one_change() -> None:
    old = load_rubric(example_rubric_path("helpful-answers"))
    new = old.model_copy(update={"dimensions": list(reversed(old.dimensions))})
    changes = diff_rubrics(old, new).changes
    assert [(c.kind, c.path) for c in changes] == [("reordered", "dimensions")]
    assert changes[0].after == [d.name for d in reversed(old.dimensions)]
