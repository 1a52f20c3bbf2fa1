"""The LLM agent on the SaaS harness: agent steps per second with a loopback model at 100 ms
latency, 32 episodes in parallel through the rollouts module (``run_rollout`` with one local
process per episode), against the ideal of episodes / latency (every step waiting only for its
model call); one episode alone against 1 / latency, which separates the harness's own cost
from contention; and the same episodes on a local Ray, cold (``--ray local``: Ray and its
workers start, as the processes do) and warm (workers started and palate imported, as on a
cluster), for Ray's overhead against local processes. Every way must give
the same digests.

Two models: one follows the root-cause baseline (``palate.saas.scripted_models.FollowAgent``),
so the episodes do real work (patches, deploys, the product's traffic); the other
(``Nonsense``) mostly makes calls that cost the harness nothing, which isolates the agent
loop's own overhead (context, client, server) from the business's. The machine's load average
is printed before and after: on a shared machine the figures move with it.

    python benchmarks/bench_llm_agent.py [--quick] [--episodes N] [--days N] [--no-ray]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import orjson
import ray

from palate.saas.llm_agent import AgentConfig
from palate.saas.rollouts import Rollout, Runner, on_ray, processes, run_rollout, serial
from palate.saas.run import EVENTS_FILE, RunOptions
from palate.saas.scripted_models import FollowAgent, Nonsense
from palate.testing.loopback import LoopbackServer, Script, ToolModel

LATENCY_S = 0.1
ALONE_SEED = 10_000


def steps(out: Path, rollout: Rollout) -> int:
    """Agent steps (tool calls) over the rollout's episodes: the action events of their logs."""
    return sum(
        orjson.loads(line)["kind"] == "action"
        for seed in rollout.seeds
        for line in (out / f"seed-{seed}" / EVENTS_FILE).read_bytes().splitlines()
    )


Timed = tuple[float, int, list[str]]


def timed(runner: Runner, base: RunOptions, seeds: list[int], out: Path) -> Timed:
    """(wall seconds, steps, digests) of a rollout."""
    started = time.perf_counter()
    rollout = run_rollout(base, seeds, out, runner)
    wall = time.perf_counter() - started
    return wall, steps(out, rollout), [s["digest"] for s in rollout.summaries]


def load() -> str:
    return "load average " + ", ".join(f"{x:.1f}" for x in os.getloadavg())


def measure(label: str, model: ToolModel, episodes: int, days: int, with_ray: bool) -> bool:
    """Print the figures of one model; whether every way gave the same digests."""
    script = Script(tool_model=model, latency_s=LATENCY_S)
    with tempfile.TemporaryDirectory() as tmp, LoopbackServer(script) as server:
        base = RunOptions(
            "llm", 0, "quick", days, agent_config=AgentConfig(base_url=server.base_url, model="x")
        )
        wall, count, _ = timed(serial, base, [ALONE_SEED], Path(tmp) / "alone")
        alone = count / wall
        print(
            f"{label}, one episode: {alone:.1f} steps/s, ideal {1 / LATENCY_S:.0f}/s "
            f"({alone * LATENCY_S:.2f}x)",
            flush=True,
        )
        seeds = list(range(episodes))
        ideal = episodes / LATENCY_S
        wall, count, digests = timed(processes(episodes), base, seeds, Path(tmp) / "processes")
        rate = count / wall
        print(
            f"{label}, {episodes} episodes in parallel (processes): {count} steps in "
            f"{wall:.1f}s = {rate:.1f} steps/s, ideal {ideal:.0f}/s ({rate / ideal:.2f}x); most "
            f"requests in flight {server.stats.most_in_flight}; {len(set(digests))} distinct "
            f"digests",
            flush=True,
        )
        if not with_ray:
            return True
        # Cold: ``--ray local`` starts Ray and its workers, as the processes start theirs.
        cold = timed(on_ray("local", episodes), base, seeds, Path(tmp) / "ray-cold")
        ray.init(num_cpus=episodes, include_dashboard=False, log_to_driver=False)
        try:
            warm = on_ray("auto", episodes)
            # Warm-up: Ray's workers start and import palate on their first tasks.
            run_rollout(base, [ALONE_SEED + 1 + s for s in seeds], Path(tmp) / "warm-up", warm)
            hot = timed(warm, base, seeds, Path(tmp) / "ray-warm")
        finally:
            ray.shutdown()
        for name, (on_ray_wall, on_ray_count, on_ray_digests) in (("cold", cold), ("warm", hot)):
            overhead = (on_ray_wall - wall) / episodes
            print(
                f"{label}, {episodes} episodes on Ray ({name}): {on_ray_wall:.1f}s = "
                f"{on_ray_count / on_ray_wall:.1f} steps/s ({on_ray_wall / wall:.2f}x the "
                f"processes' wall time, {overhead * 1000:+.0f} ms per episode); same digests: "
                f"{on_ray_digests == digests}",
                flush=True,
            )
        return cold[2] == hot[2] == digests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="8 episodes of 2 days")
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray comparison")
    args = parser.parse_args()
    episodes, days = (8, 2) if args.quick else (args.episodes, args.days)
    print(f"{os.cpu_count()} CPUs, {load()}", flush=True)
    models: dict[str, ToolModel] = {"root-cause": FollowAgent("root-cause"), "light": Nonsense()}
    same = [measure(name, model, episodes, days, not args.no_ray) for name, model in models.items()]
    print(f"{load()}; same digests on Ray as in processes: {all(same)}", flush=True)
    return 0 if all(same) else 1


if __name__ == "__main__":
    sys.exit(main())
