"""Bad rubric files fail through the CLI with one line naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from palate.errors import InputError
from palate.rubric import load_rubric
from tests.helpers import run_cli

VALID = """\
name: tiny
purpose: A rubric small enough to break on purpose.
dimensions:
  - name: clarity
    definition: Easy to follow.
    weight: 1
    scale:
      - {value: 1, label: murky, anchor: Hard to follow.}
      - {value: 2, label: clear, anchor: Easy to follow.}
  - name: brevity
    definition: Short.
    weight: 0.5
    scale:
      - {value: 1, label: long, anchor: Rambles.}
      - {value: 2, label: short, anchor: To the point.}
error_taxonomy:
  - {name: rambling, description: Goes on.}
exemplars:
  - text: Yes.
    explanation: Short and clear.
    scores: {clarity: 2, brevity: 2}
"""


def _edit(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


CASES = [
    # (file text, line, field, words the message must contain)
    (
        _edit("    weight: 0.5\n", "    weight: 0.5\n    colour: red\n"),
        13,
        "dimensions[1].colour",
        "unknown field 'colour'",
    ),
    (
        _edit("    weight: 0.5\n", "    weight: heavy\n"),
        12,
        "dimensions[1].weight",
        "weights must be numbers, got 'heavy'",
    ),
    (
        _edit("    weight: 0.5\n", "    weight: true\n"),
        12,
        "dimensions[1].weight",
        "weights must be numbers, got True",
    ),
    (
        _edit("{value: 2, label: short, anchor: To the point.}", "{value: 2, label: short}"),
        15,
        "dimensions[1].scale[1].anchor",
        "missing required field 'anchor'",
    ),
    (
        _edit(
            "    scale:\n      - {value: 1, label: long, anchor: Rambles.}\n"
            "      - {value: 2, label: short, anchor: To the point.}\n",
            "    scale: [1, 2]\n",
        ),
        13,
        "dimensions[1].scale[0]",
        "needs an anchor",
    ),
    (
        _edit("  - name: brevity\n", "  - name: clarity\n"),
        10,
        "dimensions[1].name",
        "duplicate dimension 'clarity'",
    ),
    (
        _edit("scores: {clarity: 2, brevity: 2}", "scores: {clarity: 2, tone: 2}"),
        21,
        "exemplars[0].scores.tone",
        "unknown dimension 'tone'",
    ),
    (_edit("purpose: A rubric", "purpose: [A rubric"), 3, None, "invalid YAML"),
    ("# nothing here\n", 1, None, "empty"),
]


@pytest.mark.parametrize(("text", "line", "field", "words"), CASES)
def test_bad_rubric_names_file_line_field(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    text: str,
    line: int,
    field: str | None,
    words: str,
) -> None:
    path = tmp_path / "rubric.yaml"
    path.write_text(text)
    code, out, err = run_cli(
        capsys, "rubric", "add", str(path), "--db", f"sqlite:///{tmp_path}/p.db"
    )
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    message = " ".join(err.split())  # rich may wrap the line
    assert str(path) in message
    assert f"line {line}" in message
    if field is not None:
        assert f"field '{field}'" in message
    assert words in message
    assert not (tmp_path / "p.db").exists()  # nothing written for a bad file


def test_valid_file_loads_and_scale_values_checked(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(VALID)
    rubric = load_rubric(path)
    assert [d.name for d in rubric.dimensions] == ["clarity", "brevity"]
    assert rubric.dimension("brevity").weight == 0.5
    path.write_text(VALID.replace("scores: {clarity: 2, brevity: 2}", "scores: {clarity: 7}"))
    with pytest.raises(InputError, match="7 is not on the scale of 'clarity'") as info:
        load_rubric(path)
    assert info.value.line == 21
