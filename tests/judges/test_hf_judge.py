"""The local transformers judge on a tiny random GPT-2 built here (no hub downloads): both
presentation orders make its preference exactly antisymmetric, batching does not change a
preference, and pointwise output it cannot parse is unscored with the raw text kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tokenizers import Tokenizer, models, pre_tokenizers, trainers  # noqa: E402

from palate.judges.base import PairTask, PointTask  # noqa: E402
from palate.judges.config import HFJudgeConfig  # noqa: E402
from palate.judges.hf import TransformersJudge, _parse_scores  # noqa: E402
from palate.rubric import example_rubric_path, load_rubric  # noqa: E402
from palate.schema import Prompt, Response  # noqa: E402

SENTENCES = [
    "Which response is better ? Answer A or B .",
    "A moon poem about silver light over the quiet sea .",
    "B the moon is round and bright and far away .",
    "user : write a poem about the moon . assistant : A",
    "system : you are a careful judge of answers .",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer GPT-2 with random weights and a word-level tokenizer trained on a few lines."""
    out = tmp_path_factory.mktemp("tiny-lm")
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.train_from_iterator(
        SENTENCES, trainers.WordLevelTrainer(special_tokens=["[UNK]", "[PAD]", "[EOS]"])
    )
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        eos_token="[EOS]",
        model_max_length=512,
    )
    fast.save_pretrained(out)
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=len(fast),
        n_positions=512,
        n_embd=32,
        n_layer=2,
        n_head=2,
        pad_token_id=fast.pad_token_id,
        eos_token_id=fast.eos_token_id,
        bos_token_id=fast.eos_token_id,
    )
    transformers.GPT2LMHeadModel(config).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def judge(model_dir: Path) -> TransformersJudge:
    config = HFJudgeConfig(
        name="tiny", kind="hf", model_path=model_dir, batch_size=4, max_new_tokens=8
    )
    return TransformersJudge(config, rubric=load_rubric(example_rubric_path("moon-poems")))


def _task(first: str, second: str, order: tuple[int, int] = (0, 1)) -> PairTask:
    prompt = Prompt(id="moon", text="write a poem about the moon .")
    return PairTask(
        prompt=prompt, responses=(Response(text=first), Response(text=second)), order=order
    )


POEMS = [
    "A moon poem about silver light over the quiet sea .",
    "the moon is round and bright and far away .",
    "silver light , quiet sea , far away .",
    "round and bright the moon .",
]


def test_preference_is_antisymmetric_and_order_free(judge: TransformersJudge) -> None:
    ab = asyncio.run(judge.judge_pair(_task(POEMS[0], POEMS[1])))
    ba = asyncio.run(judge.judge_pair(_task(POEMS[1], POEMS[0])))
    swapped = asyncio.run(judge.judge_pair(_task(POEMS[0], POEMS[1], order=(1, 0))))
    assert ab.call is not None and ba.call is not None and swapped.call is not None
    p, q = ab.call.preference, ba.call.preference
    assert p is not None and q is not None and 0.0 < p < 1.0
    assert p == pytest.approx(1.0 - q, abs=1e-6)
    assert swapped.call.preference == pytest.approx(p, abs=1e-6)
    assert ab.winner == (0 if p > 0.5 else 1) and ba.winner == 1 - ab.winner
    by_order = ab.metadata["preference_by_order"]
    assert sum(by_order.values()) / 2 == pytest.approx(p)
    assert ab.presentation_order == [0, 1] and swapped.presentation_order == [1, 0]


def test_batched_preferences_equal_single_ones(judge: TransformersJudge) -> None:
    tasks = [_task(a, b) for a in POEMS for b in POEMS if a != b]  # 12 pairs, 24 prompts

    async def together() -> list[float | None]:
        results = await asyncio.gather(*(judge.judge_pair(t) for t in tasks))
        return [r.call.preference if r.call else None for r in results]

    batched = asyncio.run(together())
    single = [asyncio.run(judge.judge_pair(t)) for t in tasks[:3]]
    for one, many in zip(single, batched, strict=False):
        assert one.call is not None and many is not None
        assert many == pytest.approx(one.call.preference, abs=1e-5)  # left padding is masked


def test_id_only_pairs_are_unscored(judge: TransformersJudge) -> None:
    task = PairTask(prompt=Prompt(id="q1"), responses=(Response(id="a"), Response(id="b")))
    result = asyncio.run(judge.judge_pair(task))
    assert result.unscored is not None and "no text" in result.unscored.reason


def test_unparsable_pointwise_output_is_unscored_with_raw_text(judge: TransformersJudge) -> None:
    task = PointTask(
        prompt=Prompt(text="write a poem about the moon ."),
        response=Response(text=POEMS[0]),
        dimensions=("imagery", "sound"),
    )
    ratings = asyncio.run(judge.judge_point(task))
    assert [r.dimension for r in ratings] == ["imagery", "sound"]
    for rating in ratings:  # a random model writes no JSON
        assert rating.unscored is not None and rating.unscored.reason.startswith("parse failure")
        assert rating.unscored.raw_output is not None


def test_parse_scores_finds_the_json_object() -> None:
    raw = (
        'Sure. {"note": 1} then '
        '{"scores": {"imagery": 4}, "rationale": "vivid", "error_tags": ["x"]}'
    )
    assert _parse_scores(raw) == ({"imagery": 4}, "vivid", ["x"])
    assert _parse_scores("no json here {") is None
