"""The LLM agent on the SaaS harness: agent steps per second with a loopback model at 100 ms
latency, 32 episodes in parallel (one process each), against the ideal of episodes / latency
(every step waiting only for its model call); and one episode alone against 1 / latency,
measured in the same run, which separates the harness's own cost from contention.

Two models: one follows the root-cause baseline (``palate.saas.scripted_models.FollowAgent``),
so the episodes do real work (patches, deploys, the product's traffic); the other
(``Nonsense``) mostly makes calls that cost the harness nothing, which isolates the agent
loop's own overhead (context, client, server) from the business's.

    python benchmarks/bench_llm_agent.py [--quick] [--episodes N] [--days N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from palate.saas.llm_agent import STEPS_FILE, AgentConfig, LlmRunOptions, run_llm_episode
from palate.saas.scripted_models import FollowAgent, Nonsense
from palate.testing.loopback import LoopbackServer, Script, ToolModel

LATENCY_S = 0.1


def episode(base_url: str, seed: int, days: int, out: str) -> tuple[int, str]:
    """Run one episode; (steps taken, digest)."""
    config = AgentConfig(base_url=base_url, model="scripted")
    summary = run_llm_episode(config, LlmRunOptions(seed, "quick", days), Path(out), Path(out))
    steps = len((Path(out) / STEPS_FILE).read_text().splitlines())
    return steps, str(summary["digest"])


def measure(label: str, model: ToolModel, episodes: int, days: int) -> None:
    script = Script(tool_model=model, latency_s=LATENCY_S)
    with tempfile.TemporaryDirectory() as tmp, LoopbackServer(script) as server:
        started = time.perf_counter()
        steps, _ = episode(server.base_url, 10_000, days, f"{tmp}/alone")
        alone = steps / (time.perf_counter() - started)
        print(
            f"{label}, one episode: {alone:.1f} steps/s, ideal {1 / LATENCY_S:.0f}/s "
            f"({alone * LATENCY_S:.2f}x)",
            flush=True,
        )
        with ProcessPoolExecutor(max_workers=episodes) as pool:
            started = time.perf_counter()
            futures = [
                pool.submit(episode, server.base_url, seed, days, f"{tmp}/{seed}")
                for seed in range(episodes)
            ]
            results = [f.result() for f in futures]
            wall = time.perf_counter() - started
        total = sum(steps for steps, _ in results)
        rate, ideal = total / wall, episodes / LATENCY_S
        print(
            f"{label}, {episodes} episodes in parallel: {total} steps in {wall:.1f}s = "
            f"{rate:.1f} steps/s, ideal {ideal:.0f}/s ({rate / ideal:.2f}x); most requests "
            f"in flight {server.stats.most_in_flight}; "
            f"{len({d for _, d in results})} distinct digests",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="8 episodes of 2 days")
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args()
    episodes, days = (8, 2) if args.quick else (args.episodes, args.days)
    models: dict[str, ToolModel] = {"root-cause": FollowAgent("root-cause"), "light": Nonsense()}
    for label, model in models.items():
        measure(label, model, episodes, days)
    return 0


if __name__ == "__main__":
    sys.exit(main())
