"""A tiny GPT-2-style causal LM and a word-level tokenizer, built from scratch (no hub): a
checkpoint for tests, benchmarks and dry runs (``python -m palate.testing.tiny DIR``)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

WORDS = [
    "the",
    "moon",
    "sun",
    "sky",
    "night",
    "star",
    "light",
    "sea",
    "tree",
    "wind",
    "rain",
    "cold",
    "warm",
    "bright",
    "dark",
    "over",
    "under",
    "a",
    "is",
    "was",
    "sings",
    "falls",
    "rises",
    "silver",
    "quiet",
]


def build_tiny_model(path: Path, seed: int = 0) -> Path:
    """About 100k parameters: 2 layers, width 64, a vocabulary of the words above."""
    sentences = [" ".join(WORDS[i:] + WORDS[:i]) for i in range(len(WORDS))]
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(
        sentences, trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[EOS]"])
    )
    hf_tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        eos_token="[EOS]",
        bos_token="[EOS]",
    )
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=hf_tokenizer.vocab_size,
        n_positions=64,
        n_embd=64,
        n_layer=2,
        n_head=2,
        bos_token_id=hf_tokenizer.eos_token_id,
        eos_token_id=hf_tokenizer.eos_token_id,
        pad_token_id=hf_tokenizer.pad_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(path)
    hf_tokenizer.save_pretrained(path)
    return path


if __name__ == "__main__":
    for folder in sys.argv[1:]:
        build_tiny_model(Path(folder))
