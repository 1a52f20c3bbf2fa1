"""Episodes become training data: per-day samples, TRL trajectories, preference pairs; the
TRL environment runs the real episode; exports are recorded in the ledger."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jinja2
import pytest
from transformers.utils import get_json_schema
from trl.chat_template_utils import qwen2_5_chat_template
from trl.data_utils import is_conversational
from typer.testing import CliRunner

from palate.cli.app import app
from palate.errors import InputError, PalateError
from palate.ledger import Ledger
from palate.saas.run import EVENTS_FILE, RunOptions, run_episode
from palate.saas.training import (
    day_samples,
    export_episodes,
    load_episode,
    preference_pairs,
    trajectory,
)
from palate.saas.trl_env import SaasEnvironments, tool_environment
from palate.store import Store


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two-day quick episodes: root-cause and idle on seed 0, idle on seed 1."""
    root = tmp_path_factory.mktemp("episodes")
    made = {}
    for agent, seed in (("root-cause", 0), ("idle", 0), ("idle", 1)):
        out = root / f"{agent}-{seed}"
        run_episode(RunOptions(agent, seed, "quick", days=2), out, root=root)
        made[f"{agent}-{seed}"] = out / EVENTS_FILE
    return made


def test_day_samples_carry_the_reward_to_go(logs: dict[str, Path]) -> None:
    episode = load_episode(logs["root-cause-0"])
    rows = day_samples(episode)
    assert [r["day"] for r in rows] == [0, 1]
    change = episode.net_worth_cents - episode.start_net_worth_cents
    assert sum(r["reward_cents"] for r in rows) == change
    assert rows[0]["reward_to_go_cents"] == change
    assert rows[1]["reward_to_go_cents"] == rows[1]["reward_cents"]
    assert (
        rows[1]["state"]["net_worth_cents"]
        == rows[0]["state"]["net_worth_cents"] + (rows[0]["reward_cents"])
    )
    tools = [a["tool"] for a in rows[0]["actions"]]
    assert tools.count("apply_patch") == 6 and "deploy" in tools
    discounted = day_samples(episode, gamma=0.5)
    assert (
        discounted[0]["reward_to_go_cents"]
        == rows[0]["reward_cents"] + 0.5 * (rows[1]["reward_cents"])
    )


def test_trajectory_is_trl_conversational_tool_calling(logs: dict[str, Path]) -> None:
    episode = load_episode(logs["root-cause-0"])
    row = trajectory(episode)
    assert is_conversational(row)
    messages = row["messages"]
    assert messages[0]["role"] == "user"
    calls = [m for m in messages if m["role"] == "assistant"]
    results = [m for m in messages if m["role"] == "tool"]
    assert len(calls) == len(results) == len(episode.actions())
    assert calls[0]["tool_calls"][0]["function"]["name"] == "apply_patch"
    assert json.loads(results[0]["content"]) == {"ok": True, "result": "patch applied"}
    assert {t["function"]["name"] for t in row["tools"]} >= {"deploy", "end_day", "read_file"}
    # A tool-calling chat template renders the calls and their results.
    text = (
        jinja2.Environment()
        .from_string(qwen2_5_chat_template)
        .render(messages=messages, tools=row["tools"])
    )
    assert text.count("<tool_call>") == len(calls) + 2  # and twice in the instructions
    assert text.count("<tool_response>") == len(results)


def test_pairs_prefer_the_richer_rollout_of_the_same_seed(
    logs: dict[str, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "again.jsonl"
    shutil.copy(logs["idle-0"], copy)
    episodes = [load_episode(p) for p in (*logs.values(), copy)]
    pairs, counts = preference_pairs(episodes)
    assert len(pairs) == 1
    assert (counts.duplicates, counts.unmatched, counts.ties) == (1, 1, 0)
    by_digest = {e.digest: e for e in episodes}
    pair = pairs[0]
    chosen, rejected = by_digest[pair["chosen_episode"]], by_digest[pair["rejected_episode"]]
    assert chosen.config.seed == rejected.config.seed == 0
    assert pair["margin_cents"] == chosen.net_worth_cents - rejected.net_worth_cents > 0
    assert pair["chosen"] != pair["rejected"] and pair["prompt"][0]["role"] == "user"


def test_export_writes_and_records_the_episode_digests(
    logs: dict[str, Path], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'palate.db'}"
    out = tmp_path / "pairs.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "saas",
            "export",
            *map(str, logs.values()),
            "--format",
            "pairs",
            "--out",
            str(out),
            "--db",
            url,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["rows"] == 1 and document["left_out"] == {"unmatched": 1}
    assert len(out.read_text().splitlines()) == 1
    with Store(url) as store:
        entries = list(Ledger(store).entries())
        assert Ledger(store).verify().ok
    record = entries[-1].record
    assert record["activity"] == "saas.export"
    used = {ref["hash"] for ref in record["used"]}
    assert used == set(document["episodes"]) and len(used) == 3
    assert record["generated"][0]["hash"] == document["sha256"]


def test_bad_input_is_one_line_and_writes_nothing(logs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    with pytest.raises(InputError, match="unknown format"):
        export_episodes([logs["idle-0"]], "parquet", out)
    broken = tmp_path / "broken.jsonl"
    lines = logs["idle-0"].read_text().splitlines()
    lines[3] = lines[3].replace('"day":0', '"day":5')
    broken.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        export_episodes([broken], "samples", out)
    assert "broken.jsonl" in str(caught.value) and "line 4" in str(caught.value)
    assert not out.exists()
    result = CliRunner().invoke(
        app, ["saas", "export", str(broken), "--format", "trl", "--out", str(out)]
    )
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_the_trl_environment_plays_the_real_episode() -> None:
    """Tools carry the toolbox's schemas; bad calls are tool errors; the reward is the whole
    episode's change in net worth and the log is the episode's."""
    environment_class = tool_environment(["deploy", "end_day", "set_price"])
    names = {n for n in vars(environment_class) if not n.startswith("_")}
    assert names == {"deploy", "end_day", "set_price"}
    schema = get_json_schema(environment_class.set_price)
    assert schema["function"]["parameters"]["required"] == ["plan", "cents"]
    with pytest.raises(PalateError, match="unknown tools"):
        tool_environment(["end_day", "launch_rockets"])
    with SaasEnvironments(days=2, tools=["deploy", "end_day", "set_price"], max_calls=3) as made:
        env = made()
        briefing = json.loads(env.reset(seed=4))
        assert briefing["day"] == 0 and briefing["days"] == 2
        bad = json.loads(env.set_price(plan="pro", cents="lots"))  # type: ignore[attr-defined]
        assert bad["ok"] is False
        assert json.loads(env.end_day())["ok"] is True  # type: ignore[attr-defined]
        env.deploy()  # type: ignore[attr-defined]
        refused = json.loads(env.deploy())  # type: ignore[attr-defined]
        assert refused == {"ok": False, "result": "no calls left (3 used)"}
        reward = env.get_reward()
        assert env.summary is not None and env.summary["days"] == 2
        start = 1_000_000  # the quick preset's starting cash, all of the opening net worth
        assert reward == pytest.approx((env.summary["net_worth_cents"] - start) / 100)
        assert env._episode().tool_errors == 1
