"""Judge prompts carry the whole rubric and ask for exactly the output contract of API.md."""

from __future__ import annotations

import html
import re

import pytest

from palate.errors import PalateError
from palate.rubric import (
    example_rubric_path,
    load_rubric,
    render_pairwise,
    render_pointwise,
    render_rater_instructions,
)
from palate.schema.rubric import Rubric

EXAMPLES = ["moon-poems", "helpful-answers"]
PROMPT, FIRST, SECOND = "Write about the moon <b>&</b>", "first {{ x }} poem", "second poem"


def _example(name: str) -> Rubric:
    return load_rubric(example_rubric_path(name))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", EXAMPLES)
def test_pairwise_json_prompt(name: str) -> None:
    rubric = _example(name)
    messages = render_pairwise(rubric, PROMPT, FIRST, SECOND)
    assert [m["role"] for m in messages] == ["system", "user"]
    system, user = messages[0]["content"], messages[1]["content"]
    for dim in rubric.dimensions:
        assert dim.definition.strip() in system
        for level in dim.scale:
            assert f"- {level.value} ({level.label}): {level.anchor}" in system
    for tag in rubric.error_taxonomy:
        assert tag.name in system
    contract = '{"rationale": "<a brief comparison that cites the rubric>", '
    assert contract + '"verdict": "A" | "B" | "tie"}' in system
    # responses appear verbatim (no escaping, no template evaluation), A before B
    assert PROMPT in user and FIRST in user and SECOND in user
    assert user.index(FIRST) < user.index(SECOND)


@pytest.mark.parametrize("name", EXAMPLES)
def test_pairwise_letter_prompt_asks_for_one_letter(name: str) -> None:
    rubric = _example(name)
    system = render_pairwise(rubric, PROMPT, FIRST, SECOND, style="letter")[0]["content"]
    output = system[system.index("# Output") :]
    assert "single letter" in output and "Ties are not allowed" in output
    assert "verdict" not in output and "JSON" not in output


def test_single_dimension_prompt_shows_only_that_dimension() -> None:
    rubric = _example("moon-poems")
    system = render_pairwise(rubric, PROMPT, FIRST, SECOND, dimension="sound")[0]["content"]
    assert all(level.anchor in system for level in rubric.dimension("sound").scale)
    assert not any(level.anchor in system for level in rubric.dimension("imagery").scale)
    assert 'on the dimension "sound" only' in system
    with pytest.raises(PalateError, match="no dimension 'rhyme'"):
        render_pairwise(rubric, PROMPT, FIRST, SECOND, dimension="rhyme")


@pytest.mark.parametrize("name", EXAMPLES)
def test_pointwise_prompt_contract(name: str) -> None:
    rubric = _example(name)
    chosen = [d.name for d in rubric.dimensions[:2]]
    system = render_pointwise(rubric, PROMPT, FIRST, dimensions=chosen)[0]["content"]
    contract = re.search(
        r'^\{"scores": \{(.*)\}, "rationale": "[^"]*", "error_tags": \[(.*)\]\}$',
        system,
        re.MULTILINE,
    )
    assert contract is not None
    asked = re.findall(r'"([^"]+)": <one of ([\d, ]+)>', contract.group(1))
    assert asked == [(d, ", ".join(str(v) for v in rubric.dimension(d).values)) for d in chosen]
    assert re.findall(r'"([^"]+)"', contract.group(2)) == [t.name for t in rubric.error_taxonomy]
    full = render_pointwise(rubric, PROMPT, FIRST)[0]["content"]
    for dim in rubric.dimensions:
        assert f'"{dim.name}": <one of' in full
        assert all(level.anchor in full for level in dim.scale)


def test_without_rubric_prompts_keep_the_contract() -> None:
    system = render_pairwise(None, PROMPT, FIRST, SECOND)[0]["content"]
    assert '"verdict": "A" | "B" | "tie"' in system
    point = render_pointwise(None, PROMPT, FIRST)[0]["content"]
    assert '{"scores": {"overall": <one of 1, 2, 3, 4, 5>}' in point
    assert '"error_tags": []' in point


def test_rater_instructions_escape_user_text() -> None:
    rubric = _example("moon-poems")
    hostile = rubric.model_copy(update={"purpose": "<script>alert(1)</script> & more"})
    fragment = render_rater_instructions(hostile)
    assert "<script>" not in fragment
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in fragment
    text = html.unescape(fragment)
    for dim in rubric.dimensions:
        for level in dim.scale:
            assert level.anchor in text
    for example in rubric.anti_exemplars:
        assert example.text in text
