"""Multi-turn GRPO on the tiny model raises its quick-preset net worth (issue 16, must hold).

SLOW (about a minute on two idle cores, three on a loaded machine): eight GRPO steps of eight
rollouts each, every rollout a real quick-preset episode driven through TRL's
``environment_factory`` loop, then 24 episodes played outside TRL to measure the policy.

The tiny model's action vocabulary is restricted to a few calls (tests/saas/tiny_agent.py);
the episodes are real. The measurement is ours, not the trainer's: the untrained and the
trained model each play one episode on each of 12 held-out seeds (never trained on), with the
same sampling seed, and the paired bootstrap interval of the mean gain in net worth must lie
above zero.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2
import pytest
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import get_json_schema
from trl.chat_template_utils import add_response_schema, qwen2_5_chat_template

from palate.saas.compare import paired_bootstrap
from palate.saas.policy import environment_tools, play_seeds
from palate.saas.trl_env import BRIEF, SaasEnvironments
from tests.saas.tiny_agent import ACTIONS, TOOLS, build_tiny_agent

TRAIN_SEEDS = list(range(8))
HELD_OUT = list(range(1000, 1012))
MAX_CALLS = 6
ROLLOUT = {"max_tool_calling_iterations": 3, "max_completion_length": 256}


def corpus(environments: SaasEnvironments) -> list[str]:
    """What the model will read: the prompt with its tool schemas, and tool results."""
    env = environments()
    observations = [env.reset(seed=999)]
    observations += [getattr(env, name)(**arguments) for name, arguments in ACTIONS[::-1]]
    env.get_reward()
    template = jinja2.Environment().from_string(qwen2_5_chat_template)
    schemas = [get_json_schema(tool) for tool in environment_tools(env)]
    prompt = template.render(
        messages=[{"role": "user", "content": BRIEF + observations[0]}],
        tools=schemas,
        add_generation_prompt=True,
    )
    call = {"type": "function", "function": {"name": "deploy", "arguments": {}}}
    turns = [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
        *({"role": "tool", "name": "deploy", "content": o} for o in observations[1:]),
    ]
    return [prompt, template.render(messages=turns, add_generation_prompt=True)]


@pytest.mark.slow
def test_grpo_raises_quick_preset_net_worth_on_held_out_seeds(tmp_path: Path) -> None:
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from trl import GRPOConfig, GRPOTrainer

    with SaasEnvironments(tools=TOOLS, max_calls=MAX_CALLS) as environments:
        build_tiny_agent(tmp_path / "model", corpus(environments))
    tokenizer = add_response_schema(AutoTokenizer.from_pretrained(tmp_path / "model"))
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "model")

    def measure(policy: Any) -> list[float]:
        with SaasEnvironments(tools=TOOLS, max_calls=MAX_CALLS) as environments:
            played = play_seeds(policy, tokenizer, HELD_OUT, environments, **ROLLOUT)
        return [p.reward for p in played]

    untrained = measure(model)

    rows = [{"prompt": [{"role": "user", "content": BRIEF}], "seed": s} for s in TRAIN_SEEDS]
    args = GRPOConfig(
        output_dir=str(tmp_path / "grpo"),
        per_device_train_batch_size=8,
        num_generations=8,
        max_steps=len(TRAIN_SEEDS),
        learning_rate=3e-3,
        beta=0.0,
        scale_rewards="none",  # a group whose rollouts differ by cents is not a signal
        temperature=1.0,
        max_completion_length=ROLLOUT["max_completion_length"],
        max_tool_calling_iterations=ROLLOUT["max_tool_calling_iterations"],
        generation_kwargs={"suppress_tokens": model.generation_config.suppress_tokens},
        shuffle_dataset=False,
        logging_steps=1,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        seed=0,
    )
    with SaasEnvironments(tools=TOOLS, max_calls=MAX_CALLS) as environments:
        trainer = GRPOTrainer(
            model=model,
            processing_class=tokenizer,
            args=args,
            train_dataset=Dataset.from_list(rows),
            environment_factory=environments,
        )
        trainer.train()
        # Every rollout really was an episode that TRL scored through get_reward.
        assert all(e.summary is not None and e.summary["days"] == 7 for e in environments.made)
    logged = [h for h in trainer.state.log_history if "rewards/SaasToolEnv/mean" in h]
    assert len(logged) == len(TRAIN_SEEDS)

    trained = measure(trainer.model)
    gain = paired_bootstrap(trained, untrained)
    print(
        f"mean gain ${gain.mean:,.2f} per episode, 95% interval [{gain.low:,.2f}, "
        f"{gain.high:,.2f}]; untrained ${sum(untrained) / len(untrained):,.2f}, "
        f"trained ${sum(trained) / len(trained):,.2f}"
    )
    assert gain.low > 0, (untrained, trained)
