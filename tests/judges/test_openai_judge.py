"""The OpenAI-compatible judge: verdicts by the contracts, failures kept unscored, config."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from palate.errors import InputError
from palate.judges.base import PairTask, PointTask
from palate.judges.config import config_hash, load_judge_config
from palate.judges.openai_judge import OpenAIJudge, letter_preference, parse_json_object
from palate.rubric import example_rubric_path, load_rubric
from palate.schema import Prompt, Response
from palate.testing.loopback import Fault, LoopbackServer, Script
from tests.judges.fixtures import openai_config

SHORT, LONG = Response(model="a", text="Red."), Response(model="b", text="Blue, like the sky.")
PROMPT = Prompt(id="q1", text="Name a colour.")


def _pair(faults: tuple[Fault, ...] = (), order: tuple[int, int] = (0, 1), **cfg: Any) -> Any:
    script = Script(verdict="longer", fault_rate=1.0 if faults else 0.0, faults=faults)

    async def main(url: str) -> Any:
        judge = OpenAIJudge(openai_config(url, max_retries=1, backoff_base_s=0.01, **cfg))
        try:
            return await judge.judge_pair(PairTask(PROMPT, (SHORT, LONG), order=order))
        finally:
            await judge.aclose()

    with LoopbackServer(script) as server:
        return asyncio.run(main(server.base_url))


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_json_verdict_is_mapped_back_to_data_order(order: tuple[int, int]) -> None:
    result = _pair(order=order)
    assert result.winner == 1 and result.presentation_order == list(order)
    assert result.rationale and "longer" in result.rationale
    assert result.call.raw_output and result.call.prompt_tokens and result.call.cache_key


def test_letter_preference_reads_first_token_logprobs() -> None:
    result = _pair(style="letter", order=(1, 0))  # shown first: the longer one, P = 0.9
    assert abs(result.call.preference - 0.1) < 1e-9 and abs(result.strength - 1.9) < 1e-9
    assert letter_preference([{" A": -0.1, "a": -3.0, "B": -2.0}]) == pytest.approx(
        (0.904837 + 0.049787) / (0.904837 + 0.049787 + 0.135335), rel=1e-5
    )
    assert letter_preference([{"C": -0.1}]) is None and letter_preference(None) is None


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("malformed", "unparsable"), ("truncated", "truncated"), ("500", "error: HTTP 500")],
)
def test_failures_become_unscored_with_reason_and_raw_output(fault: Fault, reason: str) -> None:
    result = _pair(faults=(fault,))
    assert result.unscored is not None and result.unscored.reason.startswith(reason)
    assert result.winner is None and not result.tie
    if fault != "500":
        assert result.unscored.raw_output


def test_pointwise_scores_each_rubric_dimension() -> None:
    rubric = load_rubric(example_rubric_path("helpful-answers"))

    async def main(url: str) -> Any:
        judge = OpenAIJudge(openai_config(url), rubric=rubric)
        try:
            return await judge.judge_point(PointTask(PROMPT, LONG))
        finally:
            await judge.aclose()

    with LoopbackServer() as server:
        ratings = asyncio.run(main(server.base_url))
    assert [r.dimension for r in ratings] == [d.name for d in rubric.dimensions]
    for rating, dim in zip(ratings, rubric.dimensions, strict=True):
        assert rating.score in {level.value for level in dim.scale}


def test_parse_json_object_tolerates_fences_and_prose() -> None:
    assert parse_json_object('```json\n{"verdict": "A"}\n```') == {"verdict": "A"}
    assert parse_json_object('Sure: {"verdict": "tie"} hope that helps') == {"verdict": "tie"}
    assert parse_json_object("A is better") is None and parse_json_object("[1]") is None


def test_config_hash_ignores_operational_settings_and_yaml_errors_locate(tmp_path: Path) -> None:
    base = openai_config("http://127.0.0.1:1/v1")
    same = base.model_copy(update={"concurrency": 3, "base_url": "http://x/v1", "api_key_env": "K"})
    assert config_hash(base) == config_hash(same)
    assert config_hash(base) != config_hash(base.model_copy(update={"temperature": 0.7}))
    path = tmp_path / "j.yaml"
    path.write_text("name: j\nkind: openai\nmodel: m\nstyle: letters\n")
    with pytest.raises(InputError) as err:
        load_judge_config(path)
    assert (err.value.line, err.value.field) == (4, "style")
