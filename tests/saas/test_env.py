"""``SaasEnv`` follows Gymnasium's API; bad tool calls are counted, never raised."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from gymnasium.utils.env_checker import check_env

from palate.saas.env import SaasEnv
from palate.saas.market import LIST_PRICES


@pytest.fixture
def env() -> Iterator[SaasEnv]:
    environment = SaasEnv("quick", days=2)
    yield environment
    environment.close()


def test_check_env_passes(env: SaasEnv) -> None:
    check_env(env, skip_render_check=True)


def call(env: SaasEnv, tool: str, **arguments: object) -> tuple[dict[str, object], float, bool]:
    text, reward, terminated, truncated, _ = env.step(
        json.dumps({"tool": tool, "arguments": arguments})
    )
    assert truncated is False
    return json.loads(text), reward, terminated


def test_bad_tool_calls_are_counted_tool_errors(env: SaasEnv) -> None:
    env.reset(seed=3)
    bad = [
        "this is not JSON",
        json.dumps(["a", "list"]),
        json.dumps({"tool": "no_such_tool", "arguments": {}}),
        json.dumps({"tool": "set_price", "arguments": {"plan": "pro", "cents": "lots"}}),
        json.dumps({"tool": "read_file", "arguments": "{broken"}),
    ]
    for action in bad:
        text, reward, terminated, truncated, info = env.step(action)
        assert json.loads(text)["ok"] is False
        assert (reward, terminated, truncated) == (0.0, False, False)
    assert info["tool_errors"] == len(bad)


def test_rewards_sum_to_the_change_in_net_worth_and_guards_show(env: SaasEnv) -> None:
    _, info = env.reset(seed=4)
    start = info["net_worth_cents"]
    total = 0.0
    answer, reward, _ = call(env, "set_price", plan="pro", cents=1000 * LIST_PRICES["pro"])
    total += reward
    assert answer["result"]["guard"] == "price_bounds"  # type: ignore[index]
    terminated = False
    while not terminated:
        _, reward, terminated = call(env, "end_day")
        total += reward
    _, _, _, _, info = env.step(json.dumps({"tool": "end_day", "arguments": {}}))
    assert info["guards"]["price_rejections"] == 1
    assert "deferred_revenue_cents" in info["guards"]
    assert total == info["net_worth_cents"] - start
    assert info["day"] == 2
