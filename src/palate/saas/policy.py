"""A local causal language model as the agent, played outside any trainer.

``play`` runs the multi-turn tool loop that TRL's GRPO runs during training (generate a turn,
run the tool calls it holds, append the results as the chat template renders them, generate
again) on one ``SaasToolEnv`` episode, and returns what the episode earned. A trained policy is
thus measured by the episodes it plays on held-out seeds, not by the trainer's own logs; the
tokens are concatenated, never re-rendered, exactly as in training.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from palate.saas.trl_env import BRIEF, SaasEnvironments, SaasToolEnv


@dataclass(frozen=True)
class Played:
    """One episode the model played."""

    seed: int
    reward: float
    """Change in net worth over the episode, in dollars (``SaasToolEnv.get_reward``)."""
    tool_calls: int
    digest: str


def environment_tools(environment: SaasToolEnv) -> list[Callable[..., str]]:
    """The environment's tools, as TRL lists them (its class's public functions)."""
    return [
        getattr(environment, name)
        for name, _ in inspect.getmembers(type(environment), inspect.isfunction)
        if name not in ("reset", "get_reward") and not name.startswith("_")
    ]


def _tool_suffix_ids(tokenizer: Any, tool_messages: list[dict[str, Any]]) -> list[int]:
    """The tokens the chat template puts after an assistant turn for these tool results, up
    to the next assistant header (how TRL extends a rollout)."""
    call = {"type": "function", "function": {"name": tool_messages[0]["name"], "arguments": {}}}
    dummy = [
        {"role": "user", "content": "dummy"},
        {"role": "assistant", "content": "", "tool_calls": [call]},
    ]
    prefix = tokenizer.apply_chat_template(dummy, tokenize=True, return_dict=False)
    full = tokenizer.apply_chat_template(
        dummy + tool_messages, add_generation_prompt=True, tokenize=True, return_dict=False
    )
    ends = [i for i, token in enumerate(prefix) if token == tokenizer.eos_token_id]
    if ends:
        prefix = prefix[: ends[-1] + 1]
    return list(full[len(prefix) :])


def play(
    model: Any,
    tokenizer: Any,
    environment: SaasToolEnv,
    seed: int,
    *,
    prompt: str = BRIEF,
    max_tool_calling_iterations: int = 8,
    max_completion_length: int = 256,
) -> Played:
    """Play one episode on ``seed``, bounded as TRL bounds a rollout: at most
    ``max_tool_calling_iterations`` rounds of tool calls, and ``max_completion_length`` tokens
    after the prompt (tool results included). Generation follows the model's own generation
    config (sampling, end-of-turn tokens, suppressed tokens)."""
    tools = environment_tools(environment)
    by_name = {tool.__name__: tool for tool in tools}
    messages = [{"role": "user", "content": prompt + environment.reset(seed=seed)}]
    prompt_ids = list(
        tokenizer.apply_chat_template(
            messages, tools=tools, add_generation_prompt=True, tokenize=True, return_dict=False
        )
    )
    ids = prompt_ids + _generate(model, tokenizer, prompt_ids, max_completion_length)
    turn_start = len(prompt_ids)
    for _iteration in range(max_tool_calling_iterations):
        turn = ids[turn_start:]
        calls = tokenizer.parse_response(turn, prefix=ids[:turn_start]).get("tool_calls") or []
        if not calls:
            break
        results = [_run(by_name, call["function"]) for call in calls]
        ids += _tool_suffix_ids(tokenizer, results)
        budget = max_completion_length - (len(ids) - len(prompt_ids))
        if budget <= 0:
            break
        turn_start = len(ids)
        ids += _generate(model, tokenizer, ids, budget)
    reward = environment.get_reward()
    assert environment.summary is not None
    return Played(seed, reward, environment.calls, environment.summary["digest"])


def _generate(model: Any, tokenizer: Any, ids: list[int], budget: int) -> list[int]:
    with torch.no_grad():
        out = model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            max_new_tokens=budget,
            do_sample=True,
            pad_token_id=tokenizer.pad_token_id,
        )
    return [int(t) for t in out[0, len(ids) :] if int(t) != tokenizer.pad_token_id]


def _run(by_name: dict[str, Callable[..., str]], function: dict[str, Any]) -> dict[str, Any]:
    """One tool call; a failure is reported to the model as TRL reports it."""
    name = function["name"]
    try:
        content: Any = by_name[name](**function["arguments"])
    except (KeyError, TypeError) as exc:
        content = {"error": str(exc)}
    return {"role": "tool", "name": name, "content": str(content)}


def play_seeds(
    model: Any,
    tokenizer: Any,
    seeds: Sequence[int],
    environments: SaasEnvironments,
    *,
    sample_seed: int = 0,
    **options: Any,
) -> list[Played]:
    """One episode per seed, sampling with a fixed torch seed (so two policies compared on
    the same seeds face the same markets and the same sampling noise stream)."""
    torch.manual_seed(sample_seed)
    model.eval()
    environment = environments()
    return [play(model, tokenizer, environment, seed, **options) for seed in seeds]
