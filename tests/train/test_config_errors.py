"""Config mistakes stop `palate train` before any training, naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from palate.schema import Comparison, Prompt, Response, Source
from palate.store import Store
from tests.helpers import run_cli

GOOD = """\
model: {model}
dataset: moon
output_dir: {out}
beta: 0.1
train:
  max_steps: 1
"""


def attempt(capsys: pytest.CaptureFixture[str], config: Path, db: str) -> tuple[int, str]:
    code, _, err = run_cli(capsys, "train", "dpo", "--config", str(config), "--db", db)
    return code, " ".join(err.split())


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda t: t.replace("beta: 0.1", "beta: 0.1\nbetta: 2"),
            "line 5, field 'betta': unknown field",
        ),
        (
            lambda t: t.replace("  max_steps: 1", "  max_stepz: 1"),
            "line 6, field 'train.max_stepz': unknown field",
        ),
        (
            lambda t: t.replace("dataset: moon", "dataset: sun"),
            "line 2, field 'dataset': no dataset named 'sun'",
        ),
        (
            lambda t: t.replace("model: ", "model: /nonexistent"),
            "line 1, field 'model': /nonexistent",
        ),
        (lambda t: t.replace("beta: 0.1", "beta: -1"), "line 4, field 'beta'"),
        (lambda t: t + "method: grpo\n", "field 'method': this config is for method 'grpo'"),
    ],
)
def test_mistakes_stop_before_training(
    edit: object,
    expected: str,
    tiny_model: Path,
    moon_store: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(edit(GOOD.format(model=tiny_model, out=tmp_path / "out")))  # type: ignore[operator]
    code, err = attempt(capsys, config, moon_store)
    assert code == 1
    assert f"{config}, {expected}" in err if "line" in expected else expected in err
    assert not (tmp_path / "out").exists()


def test_dataset_without_pairs_stops(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'ties.db'}"
    tie = Comparison(
        prompt=Prompt(text="p"),
        responses=[Response(text="a"), Response(text="b")],
        tie=True,
        judge=Source(kind="human", name="r"),
    )
    with Store(db) as store:
        store.add_records("moon", [tie])
    config = tmp_path / "run.yaml"
    config.write_text(GOOD.format(model=tiny_model, out=tmp_path / "out"))
    code, err = attempt(capsys, config, db)
    assert code == 1
    assert f"{config}, line 2, field 'dataset': dataset 'moon' gives no preference pairs" in err
    assert "1 tie" in err
    assert not (tmp_path / "out").exists()


def test_bad_trl_argument_stops(
    tiny_model: Path, moon_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.yaml"
    text = (
        GOOD.format(model=tiny_model, out=tmp_path / "out")
        + "  trl_args:\n    no_such_argument: 1\n"
    )
    config.write_text(text)
    code, err = attempt(capsys, config, moon_store)
    assert code == 1
    assert "field 'train.trl_args'" in err and "no_such_argument" in err
    assert not (tmp_path / "out" / "checkpoint").exists()
