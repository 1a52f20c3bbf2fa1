"""Batched generation from a local transformers checkpoint.

Each batch seeds torch from (run seed, batch index) before sampling, and the run's batches
are fixed by the job order, so the same checkpoint, prompts, settings and batch size give
byte-identical responses every time, and a resumed run regenerates a lost batch exactly.
Prompts are left-padded (decoder-only models continue from the right end).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from palate.errors import PalateError
from palate.generate.jobs import Job, SamplingSettings, derived_seed
from palate.schema import Generation, Prompt, Response
from palate.schema.text import generation_input
from palate.train.checkpoint import checkpoint_hash


def pick_device(device: str) -> str:
    """``auto``: the first GPU when torch sees one, else the CPU."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class LocalGenerator:
    """A transformers causal LM loaded from a directory (never from a hub)."""

    backend = "transformers"

    def __init__(
        self, path: Path, *, name: str | None = None, batch_size: int = 16, device: str = "auto"
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not path.is_dir():
            raise PalateError(f"model {path} is not a directory (a saved checkpoint is needed)")
        if batch_size < 1:
            raise PalateError("batch size must be at least 1")
        self.name = name or path.resolve().name
        self.path = path
        self.batch_size = batch_size
        self.checkpoint_hash: str | None = checkpoint_hash(path)
        self.device = pick_device(device)
        self._torch = torch
        self.tokenizer: Any = AutoTokenizer.from_pretrained(path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        model: Any = AutoModelForCausalLM.from_pretrained(path)
        self.model: Any = model.to(self.device).eval()
        # Learned position embeddings (GPT-2's) fail with an index error past their end.
        self.positions: int | None = getattr(model.config, "max_position_embeddings", None)

    def _text(self, prompt: Prompt) -> str:
        if prompt.messages and getattr(self.tokenizer, "chat_template", None):
            messages = [m.model_dump() for m in prompt.messages]
            return str(
                self.tokenizer.apply_chat_template(
                    messages, tokenize=False, add_generation_prompt=True
                )
            )
        return generation_input(prompt)

    def generate(
        self, jobs: Sequence[Job], settings: SamplingSettings, batch: int
    ) -> list[Generation]:
        torch = self._torch
        encoded = self.tokenizer(
            [self._text(job.prompt) for job in jobs], return_tensors="pt", padding=True
        ).to(self.device)
        needed = encoded["input_ids"].shape[1] + settings.max_new_tokens
        if self.positions is not None and needed > self.positions:
            raise PalateError(
                f"model {self.path} has {self.positions} positions: a prompt of "
                f"{encoded['input_ids'].shape[1]} tokens and --max-new-tokens "
                f"{settings.max_new_tokens} need {needed}; lower --max-new-tokens"
            )
        sample = settings.temperature > 0
        torch.manual_seed(derived_seed(settings.seed, batch))
        with torch.no_grad():
            output = self.model.generate(
                **encoded,
                do_sample=sample,
                temperature=settings.temperature if sample else None,
                top_p=settings.top_p if sample else None,
                top_k=0 if sample else None,
                max_new_tokens=settings.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new_tokens = output[:, encoded["input_ids"].shape[1] :].tolist()
        eos = self.tokenizer.eos_token_id
        sampling = settings.recorded(self.batch_size)
        results = []
        for job, tokens in zip(jobs, new_tokens, strict=True):
            stopped = eos in tokens
            kept = tokens[: tokens.index(eos)] if stopped else tokens
            results.append(
                Generation(
                    prompt=job.prompt,
                    response=Response(
                        model=self.name,
                        text=self.tokenizer.decode(kept, skip_special_tokens=True),
                    ),
                    sample=job.sample,
                    checkpoint_hash=self.checkpoint_hash,
                    backend=self.backend,
                    sampling=sampling,
                    finish_reason="stop" if stopped else "length",
                    completion_tokens=len(kept),
                )
            )
        return results

    def close(self) -> None:
        del self.model
