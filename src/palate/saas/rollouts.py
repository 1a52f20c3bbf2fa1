"""Rollouts: one agent on many seeds, serially, in local processes or on a Ray cluster.

An episode is a pure function of its options (agent, seed, preset, days), so where it runs
cannot change it: each runs in its own temporary directory wherever it is placed and sends
back its summary and its event log, which the caller writes under ``OUT/seed-N/``. The
digests of a parallel or Ray rollout are therefore those of the serial one, which the tests
check. An LLM agent's episode (``RunOptions.agent_config``) is as pure as its model's answers;
each worker opens the call cache's store itself (``RunOptions.cache_url``), so episodes in
several processes share it and a rerun takes every answered call from it.

What a rollout says about an agent: the net-worth distribution over seeds with a bootstrap
interval of its mean, and pass^k (Yao et al. 2024, tau-bench), the chance that k episodes on
fresh seeds all pass, estimated without bias as C(c, k) / C(n, k) from c passes in n seeds.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from math import comb
from pathlib import Path
from typing import Any

import orjson
from scipy import stats

from palate.errors import InputError, PalateError
from palate.evals.interval import Estimate, clustered_mean
from palate.ledger import EntityRef, Ledger
from palate.ledger.provenance import current_agent
from palate.saas.events import write_atomic
from palate.saas.llm_agent import AGENT_NAME, LlmRunOptions, run_llm_episode, store_cache
from palate.saas.presets import preset
from palate.saas.run import EVENTS_FILE, SUMMARY_FILE, RunOptions, run_episode
from palate.store import Store

ROLLOUT_FILE = "rollout.json"
MAX_SEEDS = 100_000


@dataclass(frozen=True)
class Played:
    """What an episode sends back from wherever it ran."""

    summary: dict[str, Any]
    log: bytes


def play(options: RunOptions) -> Played:
    """Run one episode in a temporary directory of this machine; return its summary and log."""
    with tempfile.TemporaryDirectory(prefix="palate-rollout-") as tmp:
        out = Path(tmp) / "out"
        if options.agent_config is None:
            summary = run_episode(options, out, root=Path(tmp))
        else:
            summary = _play_llm(options, out, Path(tmp))
        return Played(summary, (out / EVENTS_FILE).read_bytes())


def _play_llm(options: RunOptions, out: Path, root: Path) -> dict[str, Any]:
    """An LLM agent's episode, its calls kept in (and, when answered before, taken from) the
    store at ``options.cache_url``, opened here: a connection of this process, not a pickled
    one."""
    assert options.agent_config is not None
    config = options.agent_config
    llm = LlmRunOptions(options.seed, options.preset, options.days)
    if options.cache_url is None:
        return run_llm_episode(config, llm, out, root=root)
    with Store(options.cache_url) as store:
        return run_llm_episode(config, llm, out, root=root, cache=store_cache(store, config))


def episode_dir(out: Path, seed: int) -> Path:
    return out / f"seed-{seed}"


def parse_seeds(text: str) -> list[int]:
    """``0-7``, ``1,4,9`` or a mix (``0-3,10``) as a sorted list of distinct seeds."""
    seeds: set[int] = set()
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if match is None:
            raise InputError(f"seeds: {part.strip()!r} is not N or N-M", field="seeds")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if high < low:
            raise InputError(f"seeds: {part.strip()!r} runs backwards", field="seeds")
        if high - low + len(seeds) >= MAX_SEEDS:
            raise InputError(f"seeds: more than {MAX_SEEDS} seeds", field="seeds")
        seeds.update(range(low, high + 1))
    return sorted(seeds)


def passed(summary: dict[str, Any], starting_cash_cents: int) -> bool:
    """The bar an episode must clear: it ends with more net worth than the cash it started
    with, suffered no breach, and the service was up on its last day (no outage left
    unrecovered). ``summary`` must carry ``up_at_end`` (see ``run_rollout``)."""
    return (
        summary["net_worth_cents"] > starting_cash_cents
        and summary["breaches"] == 0
        and bool(summary["up_at_end"])
    )


def pass_hat_k(passes: int, n: int, k: int) -> float:
    """Unbiased estimate of P(k episodes on fresh seeds all pass) from ``passes`` of ``n``."""
    return comb(passes, k) / comb(n, k)


@dataclass(frozen=True)
class PassK:
    k: int
    estimate: float
    ci_low: float
    ci_high: float

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def pass_k_table(outcomes: Sequence[bool], alpha: float = 0.05) -> list[PassK]:
    """pass^k for k = 1..n. Its interval is the Clopper-Pearson interval of the pass rate p
    raised to the k-th power (p^k is what pass^k estimates, and the power keeps the interval's
    coverage); unlike a bootstrap it does not collapse to a point when every seed passes."""
    n = len(outcomes)
    c = sum(outcomes)
    low = float(stats.beta.ppf(alpha / 2, c, n - c + 1)) if c > 0 else 0.0
    high = float(stats.beta.ppf(1 - alpha / 2, c + 1, n - c)) if c < n else 1.0
    return [PassK(k, pass_hat_k(c, n, k), low**k, high**k) for k in range(1, n + 1)]


@dataclass(frozen=True)
class Rollout:
    """One agent over many seeds: each episode's summary, in seed order."""

    agent: str
    preset: str
    days: int | None
    mode: str
    summaries: list[dict[str, Any]]

    @property
    def seeds(self) -> list[int]:
        return [int(s["seed"]) for s in self.summaries]

    @property
    def starting_cash_cents(self) -> int:
        return preset(self.preset).starting_cash_cents

    @property
    def passes(self) -> list[bool]:
        return [passed(s, self.starting_cash_cents) for s in self.summaries]

    def net_worth(self) -> Estimate | None:
        """Mean final net worth in dollars with a bootstrap interval over seeds (None for
        fewer than two seeds)."""
        if len(self.summaries) < 2:
            return None
        dollars = [s["net_worth_cents"] / 100 for s in self.summaries]
        return clustered_mean(dollars, self.seeds)

    def model_use(self) -> dict[str, Any] | None:
        """For an LLM agent (None for a scripted one): its model and config hash, and over
        seeds the calls made and taken from the cache, tool and model errors, and the episodes
        flagged as derailed."""
        if not self.summaries or "agent_config_hash" not in self.summaries[0]:
            return None
        first = self.summaries[0]
        counts = ("model_calls", "cache_hits", "tool_errors", "model_errors", "no_tool_call")
        return {
            "model": first["model"],
            "agent_config_hash": first["agent_config_hash"],
            **{name: sum(s[name] for s in self.summaries) for name in counts},
            "derailed_episodes": sum(bool(s["derailment"]["flags"]) for s in self.summaries),
        }

    def to_json(self) -> dict[str, Any]:
        estimate = self.net_worth()
        return {
            "agent": self.agent,
            "preset": self.preset,
            "days": self.days,
            "mode": self.mode,
            "seeds": self.seeds,
            "pass_rule": "net worth above starting cash, no breach, service up on the last day",
            "passed": sum(self.passes),
            "pass_k": [p.to_json() for p in pass_k_table(self.passes)],
            "net_worth_dollars": None if estimate is None else estimate.to_json(),
            "model_use": self.model_use(),
            "episodes": self.summaries,
        }

    @classmethod
    def load(cls, out: Path) -> Rollout:
        path = out / ROLLOUT_FILE
        try:
            data = orjson.loads(path.read_bytes())
            return cls(data["agent"], data["preset"], data["days"], data["mode"], data["episodes"])
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise InputError(f"not a rollout: {exc}", file=str(path)) from exc


Runner = Callable[[list[RunOptions]], list[Played]]


def serial(jobs: list[RunOptions]) -> list[Played]:
    return [play(job) for job in jobs]


def processes(workers: int) -> Runner:
    def run(jobs: list[RunOptions]) -> list[Played]:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(play, jobs))

    return run


def on_ray(address: str, workers: int) -> Runner:
    """Episodes as Ray tasks. ``address`` is a cluster's (``auto``, ``ray://HOST:10001``), or
    ``local`` for a Ray started here with ``workers`` CPUs; an already initialised Ray is used
    as it is."""

    def run(jobs: list[RunOptions]) -> list[Played]:
        try:
            import ray
        except ImportError:
            raise PalateError("--ray needs Ray: pip install 'palate[scale]'") from None
        started = not ray.is_initialized()
        if started:
            if address == "local":
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
        try:
            remote = ray.remote(num_cpus=1)(play)
            return list(ray.get([remote.remote(job) for job in jobs]))
        finally:
            if started:
                ray.shutdown()

    return run


def run_rollout(
    base: RunOptions, seeds: Sequence[int], out: Path, runner: Runner = serial, mode: str = "serial"
) -> Rollout:
    """Run ``base`` on every seed with ``runner``; write each episode's log and summary under
    OUT/seed-N/ and the rollout under OUT/rollout.json; return it."""
    if not seeds:
        raise PalateError("a rollout needs at least one seed")
    if base.days is not None and base.days < 1:
        raise PalateError(f"--days must be at least 1, got {base.days}")
    if (base.agent == AGENT_NAME) != (base.agent_config is not None):
        raise PalateError("--agent llm and --agent-config AGENT.yaml go together")
    preset(base.preset)
    if out.exists() and not out.is_dir():
        raise InputError("the rollout's output must be a directory", file=str(out))
    played = runner([dataclasses.replace(base, seed=seed) for seed in sorted(set(seeds))])
    summaries = []
    for result in played:
        directory = episode_dir(out, int(result.summary["seed"]))
        write_atomic(directory / EVENTS_FILE, result.log)
        summary = {**result.summary, "up_at_end": _up_at_end(result.log)}
        write_atomic(directory / SUMMARY_FILE, orjson.dumps(summary, option=orjson.OPT_INDENT_2))
        summaries.append(summary)
    rollout = Rollout(base.agent, base.preset, base.days, mode, summaries)
    write_atomic(out / ROLLOUT_FILE, orjson.dumps(rollout.to_json(), option=orjson.OPT_INDENT_2))
    return rollout


def _up_at_end(log: bytes) -> bool:
    """Whether the service was up on the episode's last closed day."""
    for line in reversed(log.splitlines()):
        event = orjson.loads(line)
        if event["kind"] == "day":
            return bool(event["data"]["up"])
    return False


def record_rollout(store: Store, rollout: Rollout) -> None:
    """One ledger record for the rollout: the agent, preset and seeds, and every episode's
    digest as an entity, so each figure in its report traces to replayable logs; for an LLM
    agent, its config as used."""
    model = rollout.model_use()
    used = []
    if model is not None:
        hash_ = model["agent_config_hash"]
        used.append(EntityRef(kind="saas-agent-config", id=model["model"], hash=hash_))
    Ledger(store).append(
        "saas.rollout",
        agent=current_agent(),
        used=used,
        generated=[
            EntityRef(
                kind="saas-episode",
                id=f"{rollout.agent}:{rollout.preset}:{s['seed']}",
                hash=s["digest"],
            )
            for s in rollout.summaries
        ],
        attributes={
            "agent": rollout.agent,
            "preset": rollout.preset,
            "days": rollout.days,
            "mode": rollout.mode,
            "seeds": rollout.seeds,
            "digests": [s["digest"] for s in rollout.summaries],
            "passed": sum(rollout.passes),
        },
    )
