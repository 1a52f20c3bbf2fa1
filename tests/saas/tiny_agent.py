"""A tiny tool-calling causal LM for the SaaS harness, built from scratch (no hub).

The tokenizer is a byte-level BPE trained on the texts the model will read (so prompts and tool
results stay short) with Qwen 2.5's chat template, which TRL knows how to parse, and one added
token per allowed tool call. Generation suppresses every other token: the model's action
vocabulary is those few calls (the issue allows restricting what the tiny model sees); the
environment behind them is the real ``SaasEnv``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast
from trl.chat_template_utils import qwen2_5_chat_template

from palate.saas.defects import defect

ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("apply_patch", {"diff": defect("idor").fix_patch}),
    ("apply_patch", {"diff": defect("sql-injection").fix_patch}),
    ("deploy", {}),
    ("end_day", {}),
]
"""The calls the tiny model may make: the reference fixes of the two security holes, deploy and
end the day. Fixes pay only once deployed, and only if deployed before the attacks come."""

TOOLS = ("apply_patch", "deploy", "end_day")

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def action_text(name: str, arguments: dict[str, Any]) -> str:
    """A tool call as Qwen 2.5 writes it."""
    call = json.dumps({"name": name, "arguments": arguments})
    return f"<tool_call>\n{call}\n</tool_call>"


def build_tiny_agent(path: Path, corpus: Iterable[str], seed: int = 0) -> None:
    """Save a ~100k-parameter GPT-2 and its tokenizer under ``path``. Its generation config
    suppresses every token but the actions and the end of turn: a turn is a few tool calls,
    and a turn with none ends the rollout."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(
        list(corpus),
        trainers.BpeTrainer(
            vocab_size=2000,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            special_tokens=SPECIAL,
        ),
    )
    tokenizer.add_tokens([AddedToken(action_text(*a), normalized=False) for a in ACTIONS])
    hf = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    hf.chat_template = qwen2_5_chat_template
    hf.padding_side = "left"
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(hf),
        n_positions=1024,
        n_embd=64,
        n_layer=2,
        n_head=2,
        bos_token_id=hf.eos_token_id,
        eos_token_id=hf.eos_token_id,
        pad_token_id=hf.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    actions = [hf.convert_tokens_to_ids(action_text(*a)) for a in ACTIONS]
    allowed = {*actions, hf.eos_token_id}
    model.generation_config.eos_token_id = hf.eos_token_id
    model.generation_config.pad_token_id = hf.pad_token_id
    model.generation_config.suppress_tokens = [i for i in range(len(hf)) if i not in allowed]
    model.save_pretrained(path)
    hf.save_pretrained(path)
