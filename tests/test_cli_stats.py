"""`palate stats …` end to end: import the shared data, then check the JSON contract and the
figures against the published ones."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import random
from pathlib import Path

import pytest

from tests.helpers import run_cli, run_json

EXACT = ["win_rate", "standard_error", "discrete_win_rate", "n_wins", "n_wins_base", "n_draws",
         "n_total"]  # fmt: skip


@pytest.fixture(scope="module")
def alpacaeval_db(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('alpacaeval') / 'palate.db'}"
    from palate.io import import_file
    from palate.store import Store

    store = Store(url)
    for path in sorted((shared_data / "alpacaeval/annotations").glob("*.json.gz")):
        import_file(store, path, dataset="alpacaeval")
    return url


def test_winrate_json_reproduces_the_published_leaderboard(
    alpacaeval_db: str, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = run_json(
        capsys, "stats", "winrate", "--dataset", "alpacaeval", "--baseline", "gpt4_1106_preview",
        "--length-controlled", "--db", alpacaeval_db,
    )  # fmt: skip
    assert document["baseline"] == "gpt4_1106_preview"
    ours = {row["model"]: row for row in document["models"]}
    with (shared_data / "alpacaeval/leaderboard.csv").open() as f:
        published = {row["model"]: row for row in csv.DictReader(f)}
    # Each file names its generator; the leaderboard row is named after the file.
    for path in (shared_data / "alpacaeval/annotations").glob("*.json.gz"):
        with gzip.open(path, "rt") as f:
            generator = json.load(f)[0]["generator_2"]
        row, pub = ours[generator], published[path.name.removesuffix(".json.gz")]
        for key in EXACT:
            assert row[key] == pytest.approx(float(pub[key]), abs=1e-6), (generator, key)
    errors = [
        abs(ours[g]["length_controlled_winrate"] - float(published[m]["length_controlled_winrate"]))
        for m, g in _generators(shared_data).items()
    ]
    assert sum(errors) / len(errors) < 0.5


def _generators(shared_data: Path) -> dict[str, str]:
    out = {}
    for path in (shared_data / "alpacaeval/annotations").glob("*.json.gz"):
        with gzip.open(path, "rt") as f:
            out[path.name.removesuffix(".json.gz")] = json.load(f)[0]["generator_2"]
    return out


def test_winrate_with_a_pinned_difficulty_table_ignores_later_imports(
    tmp_path: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pin the table on two models, import a third: their LC figures stay where they were,
    where without the table they move."""
    from palate.io import import_file
    from palate.store import Store

    url = f"sqlite:///{tmp_path / 'palate.db'}"
    store = Store(url)
    for name in ("phi-2", "vicuna-7b"):
        import_file(store, shared_data / f"alpacaeval/annotations/{name}.json.gz", dataset="ae")
    table = tmp_path / "difficulty.json"
    winrate = ["stats", "winrate", "--dataset", "ae", "--baseline", "gpt4_1106_preview",
               "--length-controlled", "--db", url]  # fmt: skip

    def lc(*extra: str) -> dict[str, float]:
        doc = run_json(capsys, *winrate, *extra)
        return {row["model"]: row["length_controlled_winrate"] for row in doc["models"]}

    before = lc("--save-difficulty-table", str(table))
    assert table.is_file() and lc("--difficulty-table", str(table)) == pytest.approx(before)
    import_file(store, shared_data / "alpacaeval/annotations/alpaca-7b.json.gz", dataset="ae")
    pinned, refitted = lc("--difficulty-table", str(table)), lc()
    assert len(pinned) == 3
    for model, value in before.items():
        assert pinned[model] == pytest.approx(value, abs=1e-7)
    assert max(abs(refitted[m] - v) for m, v in before.items()) > 0.05
    code, _out, err = run_cli(capsys, *winrate, "--difficulty-table", str(tmp_path / "no.csv"))
    assert code == 1 and "no such difficulty table" in err and "Traceback" not in err


def test_winrate_with_unknown_baseline_is_a_clear_error(
    alpacaeval_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run_cli(
        capsys, "stats", "winrate", "--dataset", "alpacaeval", "--baseline", "nobody",
        "--db", alpacaeval_db,
    )  # fmt: skip
    assert code == 1 and "nobody" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def arena_db(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> str:
    tmp = tmp_path_factory.mktemp("arena")
    url = f"sqlite:///{tmp / 'palate.db'}"
    from palate.io import import_file
    from palate.store import Store

    store = Store(url)
    import_file(store, shared_data / "arena/human.jsonl.gz", dataset="human")
    import_file(store, shared_data / "arena/gpt-4-0125-preview.jsonl.gz", dataset="gpt4",
                judged_by="judge:gpt-4-0125-preview")  # fmt: skip
    with gzip.open(shared_data / "arena/human.jsonl.gz", "rt") as f:
        lines = f.readlines()
    few = random.Random(1).sample(lines, len(lines) // 10)
    (tmp / "few.jsonl").write_text("".join(few))
    import_file(store, tmp / "few.jsonl", dataset="few-humans")
    return url


def test_rank_json_shape_and_order(arena_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(capsys, "stats", "rank", "--dataset", "human", "--n-bootstrap", "200",
                        "--db", arena_db)  # fmt: skip
    assert document["method"] == "bt"
    models = document["models"]
    assert len(models) == 20
    scores = [m["score"] for m in models]
    assert scores == sorted(scores, reverse=True)
    assert all(m["ci_low"] <= m["score"] <= m["ci_high"] for m in models)
    assert models[0]["rank"] == 1
    assert set(models[0]) == {"model", "score", "ci_low", "ci_high", "rank"}
    # The aggregation is on the record: the rows it read and the hash of what it printed.
    from palate.ledger import Ledger
    from palate.schema.hashing import canonical_bytes
    from palate.store import Store

    ledger = Ledger(Store(arena_db))
    last = list(ledger.entries())[-1].record
    assert last["activity"] == "stats rank"
    assert last["used"][0]["id"].startswith("human#")
    assert last["generated"][0]["hash"] == hashlib.sha256(canonical_bytes(document)).hexdigest()


def test_ppi_narrower_than_humans_alone(arena_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    document = run_json(capsys, "stats", "ppi", "--human", "few-humans", "--judge", "gpt4",
                        "--db", arena_db)  # fmt: skip
    rows = document["models"]
    assert len(rows) >= 15
    narrower = [
        (r["ci_high"] - r["ci_low"]) < (r["classical"]["ci_high"] - r["classical"]["ci_low"])
        for r in rows
    ]
    assert sum(narrower) >= 0.8 * len(rows)
    assert all(r["n_labelled"] + r["n_unlabelled"] > r["n_labelled"] for r in rows)
    ranked = run_json(capsys, "stats", "ppi", "--human", "few-humans", "--judge", "gpt4",
                      "--target", "rank", "--db", arena_db)  # fmt: skip
    assert ranked["n_labelled"] == 2691 and len(ranked["models"]) == 20


def test_truth_and_agreement_on_crowd_labels(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'palate.db'}"
    run_json(capsys, "import", str(shared_data / "crowd/temp.csv"), "--db", db)
    mv = run_json(capsys, "stats", "truth", "--dataset", "temp", "--method", "mv", "--db", db)
    ds = run_json(capsys, "stats", "truth", "--dataset", "temp", "--db", db)
    assert ds["method"] == "ds" and len(ds["items"]) == 462
    assert {row["label"] for row in ds["items"]} == {"before", "after"}
    assert all(0.5 <= row["confidence"] <= 1 for row in ds["items"])
    same = sum(a["label"] == b["label"] for a, b in zip(mv["items"], ds["items"], strict=True))
    assert same >= 0.9 * 462  # the methods mostly agree on this easy task, but not blindly
    agreement = run_json(capsys, "stats", "agreement", "--dataset", "temp", "--db", db)
    assert agreement["between"] == "humans" and agreement["pairs"]
    assert all(0 <= p["agreement"] <= 1 for p in agreement["pairs"])


def test_mace_class_prior_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On imbalanced labels (5% rare) ``--class-prior estimated`` recovers what MACE's uniform
    prior loses; a prior with another method is a usage error."""
    from tests.stats.test_truth import imbalanced

    data, truth = imbalanced(0)
    csv_path = tmp_path / "rare.csv"
    with csv_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["question", "worker", "answer"])
        writer.writerows(
            (data.items[i], data.workers[w], data.classes[y])
            for i, w, y in zip(data.item, data.worker, data.label, strict=True)
        )
    db = f"sqlite:///{tmp_path / 'palate.db'}"
    run_json(capsys, "import", str(csv_path), "--dataset", "rare", "--db", db)
    gold = dict(zip(data.items, (data.classes[z] for z in truth), strict=True))

    def accuracy(*extra: str) -> float:
        doc = run_json(capsys, "stats", "truth", "--dataset", "rare", "--method", "mace",
                       *extra, "--db", db)  # fmt: skip
        return sum(row["label"] == gold[row["item"]] for row in doc["items"]) / len(gold)

    assert accuracy("--class-prior", "estimated") > accuracy() + 0.2
    code, _out, _err = run_cli(capsys, "stats", "truth", "--dataset", "rare", "--method", "ds",
                               "--class-prior", "estimated", "--db", db)  # fmt: skip
    assert code == 2


def test_judge_human_agreement_on_arena(
    arena_db: str, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from palate.io import import_file
    from palate.store import Store

    gpt4 = shared_data / "arena/gpt-4-0125-preview.jsonl.gz"
    import_file(Store(arena_db), gpt4,
                dataset="human", judged_by="judge:gpt-4-0125-preview")  # fmt: skip
    document = run_json(capsys, "stats", "agreement", "--dataset", "human", "--between",
                        "humans,judges", "--db", arena_db)  # fmt: skip
    (row,) = document["pairs"]
    # FastChat-style agreement of GPT-4 with people on these battles (see test_agreement.py).
    assert row["agreement"] == pytest.approx(0.5547, abs=1e-3)
    assert row["agreement_without_ties"] == pytest.approx(0.8327, abs=1e-3)
