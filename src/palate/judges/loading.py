"""One factory for every judge kind: ``palate.judges.load("judge.yaml")``.

The config file (or an already-parsed config, or a plain dict) says which kind; the judge
built is ready to run (``palate.judges.run``), closes with ``close``/``async with``, and counts
its calls and cache hits. Heavy libraries (torch for ``hf``) load only for the kinds that
need them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from palate.errors import InputError, PalateError
from palate.io.validation import input_error
from palate.judges.base import PairwiseJudge
from palate.judges.config import (
    HFJudgeConfig,
    JudgeConfig,
    OpenAIJudgeConfig,
    RewardModelJudgeConfig,
    VerifierJudgeConfig,
    load_judge_config,
    parse_judge_config,
)

if TYPE_CHECKING:
    from palate.judges.hf import TransformersJudge
    from palate.judges.openai_judge import OpenAIJudge
    from palate.judges.reward_model import RewardModelJudge
    from palate.judges.verifier import VerifierJudge

    Judge = OpenAIJudge | TransformersJudge | RewardModelJudge | VerifierJudge


def _config(source: str | Path | JudgeConfig | Mapping[str, Any]) -> JudgeConfig:
    if isinstance(source, str | Path):
        return load_judge_config(source)
    if isinstance(source, Mapping):
        try:
            return parse_judge_config(dict(source))
        except ValidationError as exc:
            raise input_error(exc, message=lambda e, _: f"judge config: {e['msg']}") from None
    return source


def load(
    source: str | Path | JudgeConfig | Mapping[str, Any],
    *,
    tests: Mapping[str, Sequence[str]] | None = None,
) -> Judge:
    """The judge a config describes: ``openai`` (an OpenAI-compatible endpoint), ``hf`` (a
    local transformers model), ``reward-model`` or ``verifier`` (which needs ``tests``: each
    item's test snippets, by prompt key)."""
    config = _config(source)
    if isinstance(config, OpenAIJudgeConfig):
        from palate.judges.openai_judge import OpenAIJudge

        return OpenAIJudge(config)
    if isinstance(config, HFJudgeConfig):
        from palate.judges.hf import TransformersJudge

        return TransformersJudge(config)
    if isinstance(config, RewardModelJudgeConfig):
        from palate.judges.reward_model import RewardModelJudge

        return RewardModelJudge(config)
    assert isinstance(config, VerifierJudgeConfig)
    if tests is None:
        raise InputError(
            f"judge '{config.name}' of kind verifier needs each item's tests (load(..., tests=))"
        )
    from palate.judges.verifier import VerifierJudge

    return VerifierJudge(config, tests)


def load_pairwise(path: str | Path, *, concurrency: int | None = None) -> PairwiseJudge:
    """The pairwise judge a config file describes; ``concurrency`` overrides an LLM judge's
    request limit. PalateError for a judge kind that cannot compare two responses."""
    config = load_judge_config(path)
    if concurrency is not None and isinstance(config, OpenAIJudgeConfig):
        config = config.model_copy(update={"concurrency": concurrency})
    judge = load(config)
    if not isinstance(judge, PairwiseJudge):
        raise PalateError(f"judge '{config.name}' of kind {config.kind} is not pairwise")
    return judge
