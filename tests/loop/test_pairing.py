"""Pairing generations by prompt, and `palate judge run --candidate A --baseline B`."""

from __future__ import annotations

from pathlib import Path

import pytest

from palate.errors import PalateError
from palate.ledger import Ledger
from palate.loop.pairing import pair_generations
from palate.schema import Comparison, Generation, Prompt, Response, Sampling
from palate.store import Store
from palate.testing.loopback import LoopbackServer
from tests.helpers import run_cli, run_json

SAMPLING = Sampling(temperature=1.0, max_new_tokens=8, seed=0)


def _gen(prompt: str, model: str, text: str, sample: int = 0) -> Generation:
    return Generation(
        prompt=Prompt(text=prompt),
        response=Response(model=model, text=text),
        sample=sample,
        backend="transformers",
        sampling=SAMPLING,
    )


def _generations(n_prompts: int) -> list[Generation]:
    out = []
    for i in range(n_prompts):
        out.append(_gen(f"p{i}", "cand", "moon " * (1 + i % 3)))
        out.append(_gen(f"p{i}", "base", "sun " * (2 - i % 2)))
    return out


def test_pairs_keep_data_order_and_randomise_presentation() -> None:
    gens = _generations(40)
    tasks = pair_generations(
        [g for g in gens if g.response.model == "cand"],
        [g for g in gens if g.response.model == "base"],
        judge="j",
    )
    assert len(tasks) == 40
    assert all([r.model for r in t.responses] == ["cand", "base"] for t in tasks)
    swapped = sum(t.order == (1, 0) for t in tasks)
    assert 10 <= swapped <= 30  # a fair coin per item: P(outside) < 0.002
    again = pair_generations(gens[0::2], gens[1::2], judge="j")
    assert [t.seed for t in again] == [t.seed for t in tasks]  # the same in every run


def test_pairing_refuses_nothing_to_pair_and_same_names() -> None:
    with pytest.raises(PalateError, match="both"):
        pair_generations([_gen("a", "m", "x")], [_gen("b", "n", "y")], judge="j")
    with pytest.raises(PalateError, match="both named"):
        pair_generations([_gen("a", "m", "x")], [_gen("a", "m", "y")], judge="j")


def test_judge_run_pairs_candidate_and_baseline(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store_url: str
) -> None:
    with Store(store_url) as store:
        Ledger(store).add_records("gens", _generations(6), activity="generate", agent="test")
    with LoopbackServer() as server:
        config = tmp_path / "judge.yaml"
        config.write_text(
            f"name: j\nkind: openai\nmodel: m\nbase_url: {server.base_url}\napi_key_env: null\n"
        )
        args = ["judge", "run", "--dataset", "gens", "--judge", str(config), "--swap"]
        args += ["--candidate", "cand", "--baseline", "base", "--db", store_url]
        doc = run_json(capsys, *args)
        assert doc["requested"] == 6 and doc["calls"] == 12 and doc["scored"] == 6
        assert run_json(capsys, *args)["calls"] == 0  # all stored: nothing asked again
        code, _, err = run_cli(capsys, *args[:-4], "--candidate", "cand", "--db", store_url)
        assert code == 2 and "--baseline" in err
    with Store(store_url) as store:
        verdicts = [c for c in store.iter_records("gens.j") if isinstance(c, Comparison)]
        ledger = Ledger(store)
        verified, activities = ledger.verify(), [e.record["activity"] for e in ledger.entries()]
    assert len(verdicts) == 6
    assert verified.ok, verified.describe()  # every verdict is accounted for by a record
    assert activities == ["generate", "judge-run", "judge-run"]
    assert all(c.models == ["cand", "base"] and "swap" in c.metadata for c in verdicts)
