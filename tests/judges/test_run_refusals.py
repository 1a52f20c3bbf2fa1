"""Judge runs that must not spend or store: pairs without texts, a judge nobody can reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from palate.judges.loading import load as load_judge
from palate.judges.run import run
from palate.ledger import Ledger
from palate.schema import Comparison, Prompt, Response, Source
from palate.store import Store
from palate.testing.loopback import LoopbackServer, Script
from tests.helpers import fingerprint, run_cli
from tests.judges.fixtures import load, openai_config, write_config


def _battles(n: int) -> list[Comparison]:
    """Arena-style battles: model names and an outcome, no prompt or response text."""
    human = Source(kind="human", name="arena")
    return [
        Comparison(
            prompt=Prompt(id=f"battle-{i}"),
            responses=[Response(model="a"), Response(model=f"b{i % 3}")],
            winner=i % 2,
            judge=human,
        )
        for i in range(n)
    ]


def test_pairs_without_texts_are_refused_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    Store(db).add_records("arena", _battles(6))
    with LoopbackServer(Script(verdict="longer")) as server:
        config = write_config(tmp_path / "j.yaml", openai_config(server.base_url))
        before = fingerprint(db), Ledger(Store(db)).size()
        code, _, err = run_cli(capsys, "judge", "run", "--dataset", "arena", "--judge",
                               str(config), "--db", db)  # fmt: skip
        assert server.stats.requests == 0
    message = " ".join(err.split())
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "6 of 6 pairs have no prompt text and 6 have no response text" in message
    assert (fingerprint(db), Ledger(Store(db)).size()) == before


def test_unreachable_judge_stores_nothing_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    load(Store(db), "pairs", 2)
    with LoopbackServer(Script(verdict="longer")) as server:
        url = server.base_url  # a port that refuses connections once the server is gone
    config = write_config(tmp_path / "j.yaml", openai_config(url, max_retries=1,
                                                             backoff_base_s=0.01))  # fmt: skip
    before = fingerprint(db), Ledger(Store(db)).size()
    code, _, err = run_cli(capsys, "judge", "run", "--dataset", "pairs", "--judge", str(config),
                           "--swap", "--db", db)  # fmt: skip
    assert code == 1 and "Traceback" not in err
    assert "failed before it answered" in " ".join(err.split())
    assert (fingerprint(db), Ledger(Store(db)).size()) == before


def test_transport_failures_are_not_stored_so_a_rerun_fills_them_in(tmp_path: Path) -> None:
    """Calls that never reached the judge leave no unscored rows beside the later verdicts."""
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    load(store, "pairs", 6)
    flaky = Script(verdict="longer", fault_rate=0.5, faults=("drop",), seed=3)
    with LoopbackServer(flaky) as server:
        config = openai_config(server.base_url, max_retries=0, backoff_base_s=0.01)
        first = run(store, "pairs", load_judge(config))
    assert 0 < first.failed_transport < first.requested
    assert first.unscored == first.failed_transport
    assert store.count(first.out) == first.requested - first.failed_transport
    with LoopbackServer(Script(verdict="longer")) as server:
        second = run(store, "pairs", load_judge(openai_config(server.base_url)))
    assert second.failed_transport == 0 and second.calls == first.failed_transport
    assert second.cache_hits == first.requested - first.failed_transport
    assert store.count(first.out) == first.requested  # one scored record per pair, no more
    judged = [c for c in store.iter_records(first.out) if isinstance(c, Comparison)]
    assert all(c.unscored is None for c in judged)
