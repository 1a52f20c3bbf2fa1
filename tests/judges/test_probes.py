"""Bias probes against scripted judges: each deliberately biased judge is caught by the probe
built for its bias, and an unbiased judge is flagged by none."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from palate.judges.base import PairTask
from palate.judges.probes import (
    PROBES,
    ProbeReport,
    repetitive_list,
    run_probes,
    stated_preference,
)
from palate.schema import Comparison, Prompt, Response, Source, Unscored
from palate.store import Store
from palate.testing.loopback import LoopbackServer, Script, Verdict
from tests.helpers import run_cli, run_json
from tests.judges import fixtures

FAMILY = "judgefam"
_QUALITY = re.compile(r"Quality (\d+)\.")
_STATED = re.compile(r'the answer that starts "([^"]*)"')


def _quality(response: Response) -> int:
    return max(int(q) for q in _QUALITY.findall(response.text or ""))


class ScriptedJudge:
    """Prefers the higher stated quality; equal quality is a tie. Subclasses add one bias."""

    def __init__(self, name: str) -> None:
        self.source = Source(kind="judge", name=name)

    def pick(self, task: PairTask) -> int | None:
        """Index in presentation order of the winner (None = tie)."""
        first, second = (_quality(r) for r in task.shown)
        return None if first == second else 0 if first > second else 1

    async def judge_pair(self, task: PairTask) -> Comparison:
        shown = self.pick(task)
        outcome = {"tie": True} if shown is None else {"winner": task.order[shown]}
        return Comparison(
            prompt=task.prompt,
            responses=list(task.responses),
            judge=self.source,
            presentation_order=list(task.order),
            **outcome,
        )


class FirstShown(ScriptedJudge):
    def pick(self, task: PairTask) -> int | None:
        return 0


class Verbose(ScriptedJudge):
    def pick(self, task: PairTask) -> int | None:
        lengths = [len(r.text or "") for r in task.shown]
        return 0 if lengths[0] > lengths[1] else 1


class SelfPreferring(ScriptedJudge):
    def pick(self, task: PairTask) -> int | None:
        own = [(r.model or "").startswith(FAMILY) for r in task.shown]
        return own.index(True) if own[0] != own[1] else super().pick(task)


class Sycophant(ScriptedJudge):
    def pick(self, task: PairTask) -> int | None:
        stated = _STATED.search(task.prompt.text or "")
        if stated:
            starts = [" ".join((r.text or "").split()[:8]) == stated.group(1) for r in task.shown]
            if any(starts):
                return starts.index(True)
        return super().pick(task)


class Broken(ScriptedJudge):
    async def judge_pair(self, task: PairTask) -> Comparison:
        return Comparison(
            prompt=task.prompt,
            responses=list(task.responses),
            judge=self.source,
            unscored=Unscored(reason="refusal"),
        )


def _pairs(n: int = 24) -> tuple[list[PairTask], list[float | None]]:
    """Pairs where length, position and family are balanced against quality by design:
    the better response is the longer one in half the pairs and from FAMILY in half."""
    pairs, reference = [], []
    for i in range(n):
        good, bad = 3 + i % 5, 1 + i % 2
        filler = " It also covers the background in more detail." * 3
        texts = [
            f"Answer {i} to topic {i}. It explains the idea. Quality {good}.",
            f"Reply {i} about topic {i}. It says something else. Quality {bad}.",
        ]
        texts[0 if i % 2 == 0 else 1] += filler  # better one longer in even pairs only
        models = [f"{FAMILY}-v1", "other-v2"] if (i // 2) % 2 == 0 else ["other-v2", f"{FAMILY}-v1"]
        responses = (
            Response(model=models[0], text=texts[0]),
            Response(model=models[1], text=texts[1]),
        )
        if i % 3 == 0:  # data order should not matter either
            responses = (responses[1], responses[0])
        pairs.append(
            PairTask(
                prompt=Prompt(id=f"q{i}", text=f"Tell me about topic {i}."), responses=responses
            )
        )
        reference.append(1.0 if _quality(responses[0]) > _quality(responses[1]) else 0.0)
    return pairs, reference


def _report(judge: ScriptedJudge) -> ProbeReport:
    pairs, reference = _pairs()
    return asyncio.run(run_probes(judge, pairs, family=FAMILY, reference=reference))


def test_unbiased_judge_triggers_no_probe() -> None:
    report = _report(ScriptedJudge("fair"))
    assert [r.probe for r in report.results] == list(PROBES)
    for result in report.results:
        assert not result.detected, result
        assert result.effect == pytest.approx(0.0, abs=1e-12), result
        assert result.n > 0 and result.unscored == 0
    position = next(r for r in report.results if r.probe == "position")
    assert position.extra["flip_rate"] == 0.0


@pytest.mark.parametrize(
    ("judge", "probe"),
    [
        (FirstShown("first"), "position"),
        (Verbose("verbose"), "verbosity"),
        (Verbose("verbose"), "length"),
        (SelfPreferring("self"), "self-preference"),
        (Sycophant("sycophant"), "sycophancy"),
    ],
)
def test_each_bias_is_detected_by_its_probe(judge: ScriptedJudge, probe: str) -> None:
    result = next(r for r in _report(judge).results if r.probe == probe)
    assert result.detected, result
    assert result.ci_low > 0 and result.effect > 0


def test_position_probe_reports_full_flip_rate_and_sign() -> None:
    position = next(r for r in _report(FirstShown("first")).results if r.probe == "position")
    assert position.effect == pytest.approx(0.5)  # the first shown always wins
    assert position.extra["flip_rate"] == 1.0


def test_self_preference_is_measured_against_the_reference() -> None:
    pairs, reference = _pairs()
    fair = ScriptedJudge("fair")
    # Without a reference the fair judge's own-family win rate is the data's (0.5 by design).
    raw = asyncio.run(run_probes(fair, pairs, probes=["self-preference"], family=FAMILY))
    assert raw.results[0].effect == pytest.approx(0.0)
    # A reference that says the other family always won makes the fair judge look biased.
    other_won = [0.0 if (p.responses[0].model or "").startswith(FAMILY) else 1.0 for p in pairs]
    skewed = asyncio.run(
        run_probes(fair, pairs, probes=["self-preference"], family=FAMILY, reference=other_won)
    )
    assert skewed.results[0].detected
    assert len(reference) == len(pairs)


def test_unscored_judgements_are_counted_not_guessed() -> None:
    report = _report(Broken("broken"))
    for result in report.results:
        assert result.n == 0 and result.unscored > 0 and not result.detected
    document = json.loads(report.to_json())  # NaN effects become null, valid JSON
    assert document["probes"][0]["effect"] is None


def test_repetitive_list_restates_points_without_new_words() -> None:
    text = "Use a pen. Draw a line. Sign the card."
    padded = repetitive_list(text)
    assert padded is not None and padded.endswith(text)
    assert "1. Use a pen." in padded and "3. Sign the card." in padded
    listed = "Steps:\n1. Boil water\n2. Add tea\n"
    assert "2. Add tea" in (repetitive_list(listed) or "")
    assert repetitive_list("One point only") is None
    assert "Use a pen." in stated_preference(Response(text=text))


def test_report_renders_text_and_json() -> None:
    report = _report(Verbose("verbose"))
    text = report.render_text()
    assert "verbosity" in text and "DETECTED" in text
    document = json.loads(report.to_json())
    assert document["judge"] == "verbose" and len(document["probes"]) == len(PROBES)


@pytest.mark.parametrize(("verdict", "biased"), [("first", "position"), ("longer", "length")])
def test_cli_probe_on_a_scripted_http_judge(
    verdict: Verdict, biased: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'p.db'}"
    fixtures.load(Store(db), "pairs", 4)
    with LoopbackServer(Script(verdict=verdict)) as server:
        config = fixtures.write_config(tmp_path / "j.yaml", fixtures.openai_config(server.base_url))
        doc = run_json(capsys, "judge", "probe", "--dataset", "pairs", "--judge", str(config),
                       "--probe", "position", "--probe", "length", "--db", db)  # fmt: skip
    assert doc["judge"] == "scripted" and doc["pairs"] == 16
    detected = {p["probe"]: p["detected"] for p in doc["probes"]}
    assert detected == {"position": biased == "position", "length": biased == "length"}
    code, _, err = run_cli(capsys, "judge", "probe", "--dataset", "pairs", "--judge",
                           str(config), "--probe", "charm", "--db", db)  # fmt: skip
    assert code == 1 and "charm" in err
