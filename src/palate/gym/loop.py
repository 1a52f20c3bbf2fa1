"""The closed loop, two arms from one start: generate → judge → route → aggregate → train →
evaluate against gold, every judgement stored and every round recorded in the ledger.

*checkbox-only* trains on the checkbox panel's verdicts. *anchored* is palate's loop: a panel
with a reward model fitted on expert labels judges every pair; the pairs the reward model is
least sure of go to several experts; truth inference (Dawid-Skene) turns their noisy, biased
labels into one label per pair; the reward model is refitted on all expert truth so far; DPO
then trains on expert truth plus the reward model's verdicts, each weighted by its confidence.
Each round both arms are evaluated against the hidden gold (the population's mean preference)
on fresh pairs against the starting policy, and a few of those pairs go to one expert each so
the reward-hacking alarm can compare the arm's proxy with human judgement.

The machinery is the product's: the policy writes each round's poems through
``palate.generate`` (``PolicyGenerator``), the reward model judges as
``palate.judges.reward_model.RewardModelJudge``, routing reads ``palate.routing``'s confidence
signal, truth is ``palate.stats.truth`` and the alarm ``palate.routing``'s. What stays the gym's
own, and why: routing spends a fixed number of expert labels per round on the least confident
pairs (the two arms are compared at equal human budget; a certified cascade threshold would
need a calibration sample drawn at random, while the gym's labelled pairs are chosen for being
uncertain), and training is the gym's DPO/GRPO on a GRU over whole lines (``palate.train``
wraps TRL trainers for transformers checkpoints; ``tests/gym/test_losses.py`` checks the
gym's losses equal TRL's on identical batches).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import io
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from scipy.stats import norm

from palate.generate import generate
from palate.generate.jobs import SamplingSettings
from palate.gym.config import GymConfig
from palate.gym.domain import MAX_LINES, PROMPT, Poem, parse, render
from palate.gym.experts import Population
from palate.gym.judges import (
    CheckboxJudge,
    PositionBiasedJudge,
    RewardModel,
    checkbox_judges,
    checkbox_score,
)
from palate.gym.losses import dpo_loss, group_advantages, grpo_loss
from palate.gym.policy import Policy, PolicyGenerator, frozen_copy, kl_from, starting_policy
from palate.gym.summary import checks
from palate.judges.base import PairTask, PairwiseJudge
from palate.judges.reward_model import RewardModelJudge
from palate.ledger import EntityRef, Ledger
from palate.routing import RewardHackingAlarm
from palate.routing.signals import signal_confidence
from palate.rubric import example_rubric_path, load_rubric, rubric_version
from palate.schema import Comparison, Prompt, Response, Source
from palate.schema.hashing import canonical_bytes
from palate.stats.bradley_terry import rank
from palate.stats.ppi import classical_mean
from palate.stats.truth import infer_truth
from palate.store import Store
from palate.store.rubrics import save_rubric

FloatArray = npt.NDArray[np.float64]
Progress = Callable[[str, int, int], None]
ARMS = ("checkbox", "anchored")
AGENT = "palate.gym"
# The reward-hacking alarm tolerates a proxy this much above human judgement (win-rate points).
ALARM_MARGIN = 0.1
STAGES = ("start", "generate", "judge", "route", "aggregate", "train", "evaluate", "store")


@dataclass
class Labelled:
    """Training pairs with how much each label is trusted (1 = certain)."""

    chosen: list[Poem] = field(default_factory=list)
    rejected: list[Poem] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)

    def add(self, first: Poem, second: Poem, p_first: float) -> None:
        """Add a pair with P(first is better); 0.5 carries no information and is skipped."""
        if p_first == 0.5 or first == second:
            return
        winner, loser = (first, second) if p_first > 0.5 else (second, first)
        self.chosen.append(winner)
        self.rejected.append(loser)
        self.weight.append(abs(2 * p_first - 1))


@dataclass
class ArmState:
    """One arm's policy and what it has learnt and spent so far."""

    name: str
    policy: Policy
    optimiser: torch.optim.Optimizer
    watch: RewardHackingAlarm
    rng: np.random.Generator  # this arm's draws: pairs, routing, experts, batches, audits
    generator: torch.Generator  # this arm's poem sampling
    human_labels: int = 0
    truth_first: list[Poem] = field(default_factory=list)  # expert-truth pairs so far
    truth_second: list[Poem] = field(default_factory=list)
    truth_p: list[float] = field(default_factory=list)
    reward_model: RewardModel | None = None
    alarm_round: int | None = None
    expert_accuracy: dict[str, float] = field(default_factory=dict)  # from truth inference
    judge_agreement: dict[str, list[float]] = field(default_factory=dict)  # per routed pair
    audits: list[tuple[str, float]] = field(default_factory=list)  # (checkpoint, outcome)
    checkpoint: str = ""
    rounds: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class GymResult:
    """A finished run: the deterministic summary, the samples for the report, and timings."""

    summary: dict[str, Any]
    samples: dict[str, list[str]]
    timings: dict[str, float]


class Timer:
    """Wall time per stage, summed over rounds and arms."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def policy_hash(policy: Policy) -> str:
    """Content hash of the policy's weights (names, shapes and bytes, in order)."""
    buffer = io.BytesIO()
    for name, tensor in policy.state_dict().items():
        buffer.write(name.encode())
        buffer.write(str(tuple(tensor.shape)).encode())
        buffer.write(tensor.detach().contiguous().numpy().tobytes())
    return _sha256(buffer.getvalue())


def _tasks(
    first: Sequence[Poem],
    second: Sequence[Poem],
    *,
    prefix: str,
    models: tuple[str, str],
    rubric: str,
    rng: np.random.Generator,
) -> list[PairTask]:
    """Pair tasks with a seeded presentation order per pair (half are shown swapped)."""
    swaps = rng.random(len(first)) < 0.5
    seeds = rng.integers(0, 2**31, size=len(first))
    tasks = []
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        item = f"{prefix}-{i:04d}"
        tasks.append(
            PairTask(
                prompt=Prompt(id=item, text=PROMPT),
                responses=(
                    Response(model=models[0], text=render(a), id=f"{item}-a"),
                    Response(model=models[1], text=render(b), id=f"{item}-b"),
                ),
                order=(1, 0) if swaps[i] else (0, 1),
                seed=int(seeds[i]),
                rubric=rubric,
            )
        )
    return tasks


def _judge(judges: Sequence[PairwiseJudge], tasks: Sequence[PairTask]) -> list[list[Comparison]]:
    """Every judge on every task, concurrently (as palate judges run); judges × tasks."""

    async def run() -> list[list[Comparison]]:
        return [list(await asyncio.gather(*(j.judge_pair(t) for t in tasks))) for j in judges]

    return asyncio.run(run())


def _outcomes(comparisons: Sequence[Comparison]) -> FloatArray:
    """1 if the first response won, 0 if the second, 0.5 for a tie or no verdict."""
    scores = [c.score_for_first() for c in comparisons]
    return np.array([0.5 if s is None else s for s in scores])


def _p_first(comparisons: Sequence[Comparison]) -> FloatArray:
    """A reward-model judge's P(first response in data order is better)."""
    return np.array([c.call.preference if c.call else 0.5 for c in comparisons], dtype=float)


def panel_vote(verdicts: Sequence[Sequence[Comparison]]) -> FloatArray:
    """Per pair, the panel's majority: 1 / 0 when more judges prefer first / second, else 0.5."""
    margin = sum(_outcomes(v) - 0.5 for v in verdicts)
    return np.asarray(np.where(margin > 0, 1.0, np.where(margin < 0, 0.0, 0.5)))


def _ask_experts(
    population: Population, tasks: Sequence[PairTask], k: int, rng: np.random.Generator
) -> list[Comparison]:
    """Each task to ``k`` distinct experts drawn at random (the router does not know who is
    careless)."""
    answers = []
    for task in tasks:
        for expert in rng.choice(len(population.names), size=k, replace=False):
            answers.append(population.answer(int(expert), task))
    return answers


def expert_truth(answers: Sequence[Comparison]) -> tuple[dict[str, float], dict[str, float]]:
    """Dawid-Skene over expert labels: per item P(first response is better) (ties count half),
    and each expert's estimated accuracy."""
    items = [c.prompt.key for c in answers]
    workers = [c.judge.name for c in answers]
    labels = ["tie" if c.tie else str(c.winner) for c in answers]
    result = infer_truth(items, workers, labels, method="ds")
    classes = result.classes
    first = np.zeros(len(result.items))
    for k, name in enumerate(classes):
        first += result.posteriors[:, k] * {"0": 1.0, "1": 0.0, "tie": 0.5}[name]
    truth = dict(zip(result.items, first.tolist(), strict=True))
    accuracy = dict(zip(result.workers, result.worker_accuracy.tolist(), strict=True))
    return truth, accuracy


def dpo_train(
    policy: Policy,
    reference: Policy,
    optimiser: torch.optim.Optimizer,
    data: Labelled,
    config: GymConfig,
    rng: np.random.Generator,
) -> float:
    """``config.epochs`` passes of DPO over the labelled pairs; returns the last loss."""
    n = len(data.chosen)
    if n == 0:
        return float("nan")
    with torch.no_grad():
        ref_c = reference.sequence_logps(data.chosen)[0].sum(1)
        ref_r = reference.sequence_logps(data.rejected)[0].sum(1)
    weights = torch.tensor(data.weight, dtype=torch.float32)
    loss = torch.tensor(float("nan"))
    for _ in range(config.epochs):
        order = rng.permutation(n)
        for start in range(0, n, config.batch_size):
            idx = order[start : start + config.batch_size]
            chosen = policy.sequence_logps([data.chosen[i] for i in idx])[0].sum(1)
            rejected = policy.sequence_logps([data.rejected[i] for i in idx])[0].sum(1)
            t = torch.from_numpy(idx)
            loss = dpo_loss(
                chosen, rejected, ref_c[t], ref_r[t], beta=config.beta, weights=weights[t]
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return float(loss.detach())


def grpo_train(
    policy: Policy,
    reference: Policy,
    optimiser: torch.optim.Optimizer,
    reward: Callable[[Sequence[Poem]], FloatArray],
    config: GymConfig,
    generator: torch.Generator,
) -> float:
    """``config.grpo_steps`` GRPO steps: sample a batch, score it with ``reward``, take
    ``config.epochs`` clipped-surrogate gradient steps with group-relative advantages; returns
    the last loss."""
    loss = torch.tensor(float("nan"))
    for _ in range(config.grpo_steps):
        poems = policy.sample(config.grpo_batch, generator)
        rewards = torch.tensor(reward(poems), dtype=torch.float32)
        advantages = group_advantages(rewards, config.group_size)
        with torch.no_grad():
            old, mask = policy.sequence_logps(poems)
            ref = reference.sequence_logps(poems)[0]
        for _ in range(config.epochs):
            logps = policy.sequence_logps(poems)[0]
            loss = grpo_loss(logps, old, ref, advantages, mask, beta=config.beta)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return float(loss.detach())


def _interval(values: FloatArray, alpha: float) -> dict[str, float]:
    """Mean with its (1 − alpha) normal interval (``palate.stats.ppi.classical_mean``); when
    every value is equal (a proxy that always prefers one side), the Wilson score interval of
    that many successes, since a normal interval would have zero width."""
    if np.ptp(values) == 0:
        n, p = len(values), float(values[0])
        z = float(norm.ppf(1 - alpha / 2))
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return {"estimate": p, "ci_low": centre - half, "ci_high": centre + half}
    m = classical_mean(values, alpha=alpha)
    # a mean of values in [0, 1] lies in [0, 1]: the normal interval is clipped there
    return {"estimate": m.estimate, "ci_low": max(m.ci_low, 0.0), "ci_high": min(m.ci_high, 1.0)}


def _round6(value: Any) -> Any:
    """Floats rounded to 6 decimals, so summaries compare equal across platforms' last bits."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _round6(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round6(v) for v in value]
    return value


class Gym:
    """One run of the taste gym on a store."""

    def __init__(self, config: GymConfig, store: Store, progress: Progress | None = None) -> None:
        self.config = config
        self.store = store
        self.ledger = Ledger(store)
        self.progress = progress or (lambda stage, done, total: None)
        self.timer = Timer()
        # independent streams: the population, the start, and one per arm, so that what one
        # arm does never changes the other arm's random draws
        self.seeds = np.random.SeedSequence(config.seed).spawn(2 + len(ARMS))
        self.torch_seed = int(self.seeds[1].generate_state(1)[0])
        self.population = Population.draw(
            config.population, np.random.default_rng(self.seeds[0]), config.seed
        )
        rubric = load_rubric(example_rubric_path("moon-poems"))
        self.rubric = rubric_version(rubric)
        save_rubric(store, rubric, example_rubric_path("moon-poems").read_text())
        self.prefix = f"gym-s{config.seed}"
        self.checkboxes: list[CheckboxJudge] = checkbox_judges()
        self.biased = PositionBiasedJudge(Source(kind="judge", name="position-biased", version="1"))

    # -- helpers ----------------------------------------------------------------------------

    def _dataset(self, arm: str, kind: str) -> str:
        return f"{self.prefix}-{arm}-{kind}"

    def _store(self, dataset: str, records: Sequence[Comparison]) -> EntityRef:
        """Store records with the ledger record that accounts for them (in one transaction);
        return the name of exactly the rows just added."""
        with self.timer.stage("store"):
            _added, rows = self.ledger.add_records(
                dataset, records, activity="gym.store", agent=AGENT
            )
            return rows

    def _judge_config(self, judges: Sequence[PairwiseJudge]) -> EntityRef:
        described = []
        for judge in judges:
            entry: dict[str, Any] = judge.source.model_dump()
            if isinstance(judge, RewardModelJudge) and isinstance(judge.model, RewardModel):
                entry["weights"] = _sha256(judge.model.weights.tobytes())
            described.append(entry)
        body = {"judges": described, "rubric": self.rubric}
        return EntityRef(kind="judge-config", id="gym-panel", hash=_sha256(canonical_bytes(body)))

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> GymResult:
        """Run both arms. Torch runs on one thread with deterministic algorithms meanwhile
        (restored after), so the same config gives the same summary on any machine."""
        threads, deterministic = (
            torch.get_num_threads(),
            torch.are_deterministic_algorithms_enabled(),
        )
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
        try:
            return self._run()
        finally:
            torch.set_num_threads(threads)
            torch.use_deterministic_algorithms(deterministic)

    def _run(self) -> GymResult:
        config = self.config
        ledger_start = self.ledger.size()
        with self.timer.stage("start"):
            torch.manual_seed(self.torch_seed)
            start = starting_policy(config.policy, self.torch_seed)
            reference = frozen_copy(start)
            generator = torch.Generator().manual_seed(self.torch_seed)
            start_hash = policy_hash(start)
        self.ledger.append(
            "gym.start",
            agent=AGENT,
            used=[EntityRef(kind="rubric", id=self.rubric, hash=self.rubric)],
            generated=[EntityRef(kind="checkpoint", id=f"{self.prefix}-start", hash=start_hash)],
            attributes={"config": config.model_dump(mode="json")},
        )
        arms = {
            name: ArmState(
                name=name,
                policy=(policy := copy.deepcopy(start)),
                optimiser=torch.optim.Adam(policy.parameters(), lr=config.learning_rate),
                watch=RewardHackingAlarm(config.alpha, margin=ALARM_MARGIN),
                checkpoint=start_hash,
                rng=np.random.default_rng(seed),
                generator=torch.Generator().manual_seed(int(seed.generate_state(1)[0])),
            )
            for name, seed in zip(ARMS, self.seeds[2:], strict=True)
        }
        with self.timer.stage("generate"):
            eval_start = reference.sample(config.eval_pairs * config.rounds, generator)
        self.start_stats = {
            "proxy_score": float(checkbox_score(eval_start).mean()),
            "gold_utility": float(self.population.gold_utility(eval_start).mean()),
            "mean_lines": float(np.mean([len(p) for p in eval_start])),
        }
        self._warm_up(arms["anchored"], reference)
        for r in range(1, config.rounds + 1):
            baseline = eval_start[(r - 1) * config.eval_pairs : r * config.eval_pairs]
            for name in ARMS:
                self.progress(f"round {r}: {name}", r - 1, config.rounds)
                self._round(arms[name], arms["anchored"], reference, r, baseline)
        self.progress("done", config.rounds, config.rounds)
        with self.timer.stage("store"):
            verified = self.ledger.verify()
        samples = self._samples(arms, reference, generator)
        summary = self._summary(arms, verified.ok, verified.records - ledger_start)
        summary["checks"] = checks(summary)
        return GymResult(summary=summary, samples=samples, timings=dict(self.timer.seconds))

    def _warm_up(self, arm: ArmState, reference: Policy) -> None:
        """Experts label a first batch of start-policy pairs, so the reward model has data."""
        config = self.config
        with self.timer.stage("generate"):
            poems = reference.sample(2 * config.warmup_pairs, arm.generator)
        first, second = poems[0::2], poems[1::2]
        tasks = _tasks(
            first,
            second,
            prefix=f"{self.prefix}-warmup",
            models=("start", "start"),
            rubric=self.rubric,
            rng=arm.rng,
        )
        with self.timer.stage("route"):
            answers = _ask_experts(self.population, tasks, config.experts_per_pair, arm.rng)
        rows = self._store(self._dataset("anchored", "experts"), answers)
        arm.human_labels += len(answers)
        self._learn_truth(arm, tasks, answers)
        self.ledger.append(
            "gym.warmup",
            agent=AGENT,
            used=[rows],
            generated=[self._judge_config([self._reward_judge(arm)])],
            attributes={"labels": len(answers)},
        )

    def _reward_judge(self, arm: ArmState) -> RewardModelJudge:
        assert arm.reward_model is not None
        version = _sha256(arm.reward_model.weights.tobytes())[:16]
        source = Source(kind="judge", name="reward-model", version=version)
        return RewardModelJudge.of(arm.reward_model, source)

    def _learn_truth(
        self, arm: ArmState, tasks: Sequence[PairTask], answers: Sequence[Comparison]
    ) -> dict[str, float]:
        """Truth inference over all expert answers of this arm so far, then refit the reward
        model on every pair with expert truth; returns this batch's truths."""
        with self.timer.stage("aggregate"):
            everything = list(self.store.iter_records(self._dataset(arm.name, "experts")))
            truth, arm.expert_accuracy = expert_truth(
                [c for c in everything if isinstance(c, Comparison)]
            )
            batch = {t.item: truth[t.item] for t in tasks}
            for task in tasks:
                arm.truth_first.append(parse(task.responses[0].text or ""))
                arm.truth_second.append(parse(task.responses[1].text or ""))
                arm.truth_p.append(batch[task.item])
            p = np.array(arm.truth_p)
            decided = p != 0.5
            winners = [
                a if q > 0.5 else b
                for a, b, q, d in zip(arm.truth_first, arm.truth_second, p, decided, strict=True)
                if d
            ]
            losers = [
                b if q > 0.5 else a
                for a, b, q, d in zip(arm.truth_first, arm.truth_second, p, decided, strict=True)
                if d
            ]
            arm.reward_model = RewardModel.fit(
                winners, losers, sample_weight=np.abs(2 * p[decided] - 1)
            )
        return batch

    def _generate(self, arm: ArmState, r: int, model: str, n: int) -> tuple[list[Poem], EntityRef]:
        """The round's poems, generated and stored by ``palate.generate`` from the arm's
        policy (read back from the store, as the rest of the loop reads them)."""
        dataset = self._dataset(arm.name, f"poems-r{r}")
        prompts = [
            Prompt(id=f"{self.prefix}-{arm.name}-r{r}-poem-{i:04d}", text=PROMPT) for i in range(n)
        ]
        writer = PolicyGenerator(
            arm.policy, name=model, checkpoint=arm.checkpoint, generator=arm.generator
        )
        settings = SamplingSettings(
            temperature=1.0, max_new_tokens=MAX_LINES + 1, seed=self.config.seed
        )
        generate(self.store, writer, prompts, dataset, settings=settings)
        poems = [parse(g.response.text or "") for g in self.store.iter_generations(dataset)]
        return poems, self.ledger.dataset_rows(dataset)

    def _round(
        self,
        arm: ArmState,
        anchor: ArmState,
        reference: Policy,
        r: int,
        baseline: Sequence[Poem],
    ) -> None:
        config = self.config
        model = f"{arm.name}-r{r - 1}"
        with self.timer.stage("generate"):
            poems, written = self._generate(arm, r, model, 2 * config.pairs_per_round)
        first, second = poems[0::2], poems[1::2]
        tasks = _tasks(
            first,
            second,
            prefix=f"{self.prefix}-{arm.name}-r{r}",
            models=(model, model),
            rubric=self.rubric,
            rng=arm.rng,
        )
        panel: list[PairwiseJudge] = [*self.checkboxes]
        if arm.name == "anchored":
            panel += [self.biased, self._reward_judge(arm)]
        with self.timer.stage("judge"):
            verdicts = _judge(panel, tasks)
        judged = self._store(self._dataset(arm.name, "judges"), [c for v in verdicts for c in v])
        used = [written, judged, self._judge_config(panel)]
        data = Labelled()
        routed: list[int] = []
        if arm.name == "checkbox":
            for a, b, p in zip(first, second, panel_vote(verdicts), strict=True):
                data.add(a, b, float(p))
        else:
            # the confidence signal palate.routing's cascade reads (here max(p, 1 − p))
            confidence = np.array([signal_confidence(v) for v in verdicts[-1]], dtype=float)
            with self.timer.stage("route"):
                routed = sorted(
                    np.argsort(confidence, kind="stable")[: config.routed_pairs].tolist()
                )
                answers = _ask_experts(
                    self.population,
                    [tasks[i] for i in routed],
                    config.experts_per_pair,
                    arm.rng,
                )
            used.append(self._store(self._dataset(arm.name, "experts"), answers))
            arm.human_labels += len(answers)
            p_first = _p_first(verdicts[-1])
            truth = self._learn_truth(arm, [tasks[i] for i in routed], answers)
            for i, (a, b) in enumerate(zip(first, second, strict=True)):
                data.add(a, b, truth.get(tasks[i].item, float(p_first[i])))
        with self.timer.stage("train"):
            if config.algorithm == "dpo":
                loss = dpo_train(arm.policy, reference, arm.optimiser, data, config, arm.rng)
            else:
                reward = checkbox_score
                if arm.name == "anchored":
                    assert arm.reward_model is not None
                    reward = arm.reward_model.reward
                loss = grpo_train(
                    arm.policy, reference, arm.optimiser, reward, config, arm.generator
                )
        previous, arm.checkpoint = arm.checkpoint, policy_hash(arm.policy)
        metrics = self._evaluate(arm, anchor, reference, r, baseline)
        metrics.update({"train_pairs": len(data.chosen), "routed_pairs": len(routed), "loss": loss})
        evaluation = EntityRef(
            kind="eval",
            id=f"{self.prefix}-{arm.name}-r{r}",
            hash=_sha256(canonical_bytes(_round6(metrics))),
        )
        self.ledger.append(
            "gym.round",
            agent=AGENT,
            used=[*used, EntityRef(kind="checkpoint", id=f"{arm.name}-r{r - 1}", hash=previous)],
            generated=[
                EntityRef(
                    kind="checkpoint", id=f"{self.prefix}-{arm.name}-r{r}", hash=arm.checkpoint
                ),
                evaluation,
            ],
            attributes={"arm": arm.name, "round": r, "algorithm": config.algorithm},
        )
        arm.rounds.append(metrics)

    def _evaluate(
        self,
        arm: ArmState,
        anchor: ArmState,
        reference: Policy,
        r: int,
        baseline: Sequence[Poem],
    ) -> dict[str, Any]:
        """Gold and proxy win rates against the start on fresh pairs, KL from the start, and
        an expert audit of a few of those pairs for the alarm."""
        config = self.config
        with self.timer.stage("evaluate"):
            poems = arm.policy.sample(config.eval_pairs, arm.generator)
            gold = self.population.gold_preference(poems, baseline)
            tasks = _tasks(
                poems,
                baseline,
                prefix=f"{self.prefix}-{arm.name}-audit-r{r}",
                models=(f"{arm.name}-r{r}", "start"),
                rubric=self.rubric,
                rng=arm.rng,
            )
            checks = _judge(self.checkboxes, tasks)
            proxy = panel_vote(checks)
            kl = kl_from(arm.policy, reference, poems)
            audit = tasks[: config.audit_pairs]
            experts = arm.rng.integers(0, len(self.population.names), size=len(audit))
            answers = [
                self.population.answer(int(e), t) for e, t in zip(experts, audit, strict=True)
            ]
            # the proxy's soft preference, as humans' answers are soft on average
            if arm.name == "anchored":
                trained_on = _p_first(_judge([self._reward_judge(arm)], audit)[0])
            else:
                trained_on = np.mean([_outcomes(v[: len(audit)]) for v in checks], axis=0)
            human = _outcomes(answers)
            judges: list[PairwiseJudge] = [
                *self.checkboxes,
                self.biased,
                self._reward_judge(anchor),
            ]
            decided = human != 0.5
            for judge, said in zip(judges, _judge(judges, audit), strict=True):
                agree = arm.judge_agreement.setdefault(judge.source.name, [])
                agree.extend((_outcomes(said) == human)[decided].astype(float).tolist())
            arm.audits.extend((f"{arm.name}-r{r}", float(h)) for h in human)
            state = arm.watch.update(trained_on, human).to_json()
            arm.alarm_round = state["at_batch"]
        self._store(self._dataset(arm.name, "audit"), answers)
        arm.human_labels += len(answers)
        return {
            "round": r,
            "gold_win_rate": _interval(gold, config.alpha),
            "proxy_win_rate": _interval(proxy, config.alpha),
            "proxy_score": float(checkbox_score(poems).mean()),
            "gold_utility": float(self.population.gold_utility(poems).mean()),
            "kl_from_start": kl,
            "mean_lines": float(np.mean([len(p) for p in poems])),
            "audit_human_win_rate": float(human.mean()),
            "audit_proxy_win_rate": float(trained_on.mean()),
            "alarm": state,
            "human_labels": arm.human_labels,
        }

    def _samples(
        self, arms: dict[str, ArmState], reference: Policy, generator: torch.Generator
    ) -> dict[str, list[str]]:
        """Three poems from the start and from each arm's final policy, the gold-median ones
        of a small sample, so the report shows typical poems rather than lucky ones."""
        out = {}
        for name, policy in [("start", reference)] + [(a, arms[a].policy) for a in ARMS]:
            poems = policy.sample(15, generator)
            order = np.argsort(self.population.gold_utility(poems), kind="stable")
            out[name] = [render(poems[i]) for i in order[6:9]]
        return out

    def _ranking(self, arms: dict[str, ArmState]) -> dict[str, Any]:
        """Bradley-Terry scores (Arena scale, start = 1000) of every checkpoint from the expert
        audits against the start, with bootstrap intervals; a weak prior (l2) keeps a
        checkpoint that never won finite."""
        rows = [row for name in ARMS for row in arms[name].audits]
        names = ["start", *dict.fromkeys(model for model, _ in rows)]
        code = {name: k for k, name in enumerate(names)}
        ranking = rank(
            np.array([code[m] for m, _ in rows]),
            np.zeros(len(rows), dtype=int),
            np.array([o for _, o in rows]),
            names,
            l2=0.1,
            n_bootstrap=200,
            rng=np.random.default_rng(self.seeds[0]),
            anchor=("start", 1000.0),
        )
        return ranking.to_json()

    def _summary(self, arms: dict[str, ArmState], ledger_ok: bool, records: int) -> dict[str, Any]:
        arms_out = {}
        for name, arm in arms.items():
            first, last = arm.rounds[0], arm.rounds[-1]
            arms_out[name] = {
                "rounds": arm.rounds,
                "final_gold_win_rate": last["gold_win_rate"],
                "proxy_score_start_to_end": [first["proxy_score"], last["proxy_score"]],
                "alarm_fired": arm.alarm_round is not None,
                "alarm_round": arm.alarm_round,
                "human_labels": arm.human_labels,
                "final_checkpoint": arm.checkpoint,
            }
        anchored = arms["anchored"]
        agreement = {
            "judges_vs_audit_experts": {
                arm.name: {name: float(np.mean(v)) for name, v in arm.judge_agreement.items()}
                for arm in arms.values()
            },
            "experts": [
                {
                    "expert": name,
                    "accuracy": anchored.expert_accuracy.get(name),
                    "careless": bool(self.population.careless[e]),
                }
                for e, name in enumerate(self.population.names)
            ],
        }
        return _round6(
            {
                "seed": self.config.seed,
                "start": self.start_stats,
                "alarm": {"margin": ALARM_MARGIN, "false_alarm_level": self.config.alpha},
                "agreement": agreement,
                "checkpoint_ranking": self._ranking(arms),
                "config": self.config.model_dump(mode="json"),
                "rubric": self.rubric,
                "arms": arms_out,
                "ledger": {"ok": ledger_ok, "records_added": records},
            }
        )
