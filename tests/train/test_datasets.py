"""Training sets from the store: pooling, stated policies, TRL formats, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from palate.io import export_dataset, import_file
from palate.schema import Comparison, Message, Prompt, Response, Source, Unscored
from palate.store import Store
from palate.train.config import PairPolicy
from palate.train.datasets import preference_dataset, prompt_dataset, sft_dataset
from tests.helpers import run_cli


def cmp(
    prompt: str,
    a: str,
    b: str,
    *,
    judge: str = "r1",
    dimension: str | None = None,
    **outcome: object,
) -> Comparison:
    return Comparison(
        prompt=Prompt(text=prompt),
        responses=[Response(text=a), Response(text=b)],
        judge=Source(kind="human", name=judge),
        dimension=dimension,
        **outcome,  # type: ignore[arg-type]
    )


@pytest.fixture
def store(store_url: str) -> Store:
    s = Store(store_url)
    s.add_records(
        "d",
        [
            cmp("p1", "good", "bad", winner=0),
            cmp("p1", "bad", "good", winner=1, judge="r2"),  # same pair, other order: pooled
            cmp("p1", "good", "bad", winner=1, judge="r3"),  # one dissent: agreement 2/3
            cmp("p2", "x", "y", tie=True),
            cmp("p3", "u", "v", strength=1.9, winner=1),  # AlpacaEval: v strongly preferred
            cmp("p4", "s", "t", strength=1.45, winner=0),  # weak preference for s
            cmp("p5", "m", "n", winner=0, dimension="style"),
            cmp("p5", "m", "n", winner=1, dimension="accuracy", judge="r2"),
        ],
    )
    return s


def rows(data: object) -> list[dict[str, object]]:
    return data.to_list()  # type: ignore[attr-defined,no-any-return]


def test_pooling_ties_and_strengths(store: Store) -> None:
    data, report = preference_dataset(store, "d", PairPolicy(with_margin=True))
    got = {r["prompt"]: (r["chosen"], r["rejected"], round(r["margin"], 6)) for r in rows(data)}
    assert got["p1"] == ("good", "bad", round(2 * abs(2 / 3 - 0.5), 6))
    assert got["p3"] == ("v", "u", 0.8)
    assert got["p4"] == ("s", "t", 0.1)
    assert "p2" not in got and "p5" not in got  # tie; style and accuracy disagree -> tie
    assert report.judgements == 8 and report.dropped == {"tie": 2} and report.rows == 3


def test_stated_policies(store: Store) -> None:
    _, report = preference_dataset(store, "d", PairPolicy(min_margin=0.1))
    assert report.dropped["preference below min_margin"] == 1  # p4 (0.05 from indifference)
    data, report = preference_dataset(store, "d", PairPolicy(min_agreement=0.9))
    assert "p1" not in {r["prompt"] for r in rows(data)}
    assert report.dropped["agreement below min_agreement"] == 1
    data, _ = preference_dataset(store, "d", PairPolicy(dimension="accuracy"))
    assert [(r["prompt"], r["chosen"]) for r in rows(data)] == [("p5", "n")]
    data, _ = preference_dataset(
        store, "d", PairPolicy(dimension_weights={"style": 3, "accuracy": 1})
    )
    assert [(r["prompt"], r["chosen"]) for r in rows(data)] == [("p5", "m")]
    data, _ = preference_dataset(store, "d", PairPolicy(judged_by=["r3"]))
    assert [(r["prompt"], r["chosen"]) for r in rows(data)] == [("p1", "bad")]


def test_sft_prompts_and_conversational(store: Store) -> None:
    data, _ = sft_dataset(store, "d", PairPolicy())
    assert sorted((r["prompt"], r["completion"]) for r in rows(data)) == [
        ("p1", "good"),
        ("p3", "v"),
        ("p4", "s"),
    ]
    data, _ = prompt_dataset(store, "d", PairPolicy(format="conversational"))
    assert [r["prompt"] for r in rows(data)] == [
        [{"role": "user", "content": f"p{i}"}] for i in range(1, 6)
    ]
    data, _ = preference_dataset(store, "d", PairPolicy(format="conversational"))
    first = rows(data)[0]
    assert first["chosen"] == [{"role": "assistant", "content": "good"}]


def test_messages_need_conversational(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'm.db'}") as store:
        turn = [Message(role="user", content="hi")]
        record = Comparison(
            prompt=Prompt(messages=turn),
            responses=[
                Response(messages=[Message(role="assistant", content="a")]),
                Response(text="b"),
            ],
            winner=0,
            judge=Source(kind="human", name="r"),
        )
        store.add_records("m", [record])
        _, report = preference_dataset(store, "m", PairPolicy())
        assert report.dropped == {"messages only (use format: conversational)": 1}
        data, _ = preference_dataset(store, "m", PairPolicy(format="conversational"))
        assert rows(data) == [
            {
                "prompt": [{"role": "user", "content": "hi"}],
                "chosen": [{"role": "assistant", "content": "a"}],
                "rejected": [{"role": "assistant", "content": "b"}],
            }
        ]


def test_agrees_with_the_trl_exporter(shared_data: Path, tmp_path: Path) -> None:
    """On real AlpacaEval annotations (one judgement per pair) the builder and the
    independent TRL exporter give the same pairs."""
    with Store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        source = sorted((shared_data / "alpacaeval" / "annotations").glob("*.json.gz"))[0]
        import_file(store, source, fmt="alpacaeval", dataset="a", judged_by=None)
        export_dataset(store, "a", "trl", tmp_path / "a.jsonl")
        exported = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
        data, _report = preference_dataset(store, "a", PairPolicy())
    ours = {(r["prompt"], r["chosen"], r["rejected"]) for r in rows(data)}
    theirs = {(r["prompt"], r["chosen"], r["rejected"]) for r in exported}
    assert ours == theirs and len(ours) > 700


def test_one_reading_of_every_outcome_kind(tmp_path: Path) -> None:
    """Winners, strengths both ways, a ranking of three, a tie and an unscored judgement, one
    each per pair: the TRL export and the training set read them the same way
    (``palate.schema.outcome.chosen_rejected``) and drop the same ones for the same reasons."""
    three = Comparison(
        prompt=Prompt(text="p5"),
        responses=[Response(text=t) for t in ("mid", "best", "worst")],
        judge=Source(kind="human", name="r1"),
        ranking=[1, 0, 2],
    )
    with Store(f"sqlite:///{tmp_path / 'k.db'}") as store:
        store.add_records(
            "k",
            [
                cmp("p1", "a", "b", winner=0),
                cmp("p2", "a", "b", winner=1),
                cmp("p3", "a", "b", strength=1.2, winner=0),
                cmp("p4", "a", "b", strength=1.7, winner=1),
                three,
                cmp("p6", "a", "b", tie=True),
                cmp("p7", "a", "b", unscored=Unscored(reason="refusal")),
            ],
        )
        report = export_dataset(store, "k", "trl", tmp_path / "k.jsonl")
        data, built = preference_dataset(store, "k", PairPolicy())
    exported = [json.loads(line) for line in (tmp_path / "k.jsonl").read_text().splitlines()]
    pairs = {(r["prompt"], r["chosen"], r["rejected"]) for r in exported}
    assert pairs == {
        ("p1", "a", "b"), ("p2", "b", "a"), ("p3", "a", "b"), ("p4", "b", "a"),
        ("p5", "best", "worst"),
    }  # fmt: skip
    assert {(r["prompt"], r["chosen"], r["rejected"]) for r in rows(data)} == pairs
    assert report.dropped == built.dropped == {"tie": 1, "unscored": 1}


def test_pooled_trl_export_writes_the_training_pairs(store: Store, tmp_path: Path) -> None:
    """`export --format trl --pooled` and `palate train` build pairs through the same code."""
    policy = PairPolicy(min_agreement=0.9)  # drops p1 (2 of 3 agree)
    report = export_dataset(store, "d", "trl", tmp_path / "pooled.jsonl", pairs=policy)
    written = [json.loads(line) for line in (tmp_path / "pooled.jsonl").open(encoding="utf-8")]
    data, built = preference_dataset(store, "d", policy)
    assert written == rows(data) and [r["prompt"] for r in written] == ["p3", "p4"]
    assert report.written == built.rows == 2 and report.dropped == built.dropped
    assert report.dropped["agreement below min_agreement"] == 1
    # without pooling, the same format writes one row a judgement (all 8 but the tie)
    plain = export_dataset(store, "d", "trl", tmp_path / "plain.jsonl")
    assert plain.written == 7 and plain.dropped == {"tie": 1}


def test_pooled_export_settings_from_a_train_config(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "dpo.yaml"
    config.write_text("model: m\ndataset: d\npairs:\n  min_margin: 0.1\n", encoding="utf-8")
    out = tmp_path / "pairs.jsonl"
    args = ["export", str(out), "--dataset", "d", "--format", "trl", "--db", store.url]
    code, _, err = run_cli(capsys, *args, "--pairs", str(config))
    assert code == 0, err
    expected, _ = preference_dataset(store, "d", PairPolicy(min_margin=0.1))
    assert [json.loads(line) for line in out.open(encoding="utf-8")] == rows(expected)
    assert len(rows(expected)) == 2  # p4's weak preference is below the margin
    config.write_text("pairs:\n  min_margin: -1\n", encoding="utf-8")
    code, _, err = run_cli(capsys, *args, "--pairs", str(config))
    assert code != 0 and "line 2" in err and "pairs.min_margin" in err
    code, _, err = run_cli(capsys, "export", str(tmp_path / "x.jsonl"), "--dataset", "d",
                           "--format", "jsonl", "--pooled", "--db", store.url)  # fmt: skip
    assert code != 0 and "--format trl" in err and not (tmp_path / "x.jsonl").exists()
