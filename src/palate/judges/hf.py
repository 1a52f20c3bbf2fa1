"""A local Hugging Face causal LM as a judge, read through its next-token probabilities.

Sampling a verdict from a small local model is noisy and wastes its signal; AlpacaEval's
weighted annotators instead read the probability of the verdict token. This judge asks the
rubric's letter-style question ("answer A or B") and reads P("A") against P("B") from the
next-token distribution, in both presentation orders, so the preference it returns is free of
the model's position bias by construction and the two orders' disagreement is recorded.
Concurrent calls are gathered into batches (left-padded) for one forward pass each.
Pointwise scoring generates the rubric's JSON answer greedily and parses it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from palate.errors import PalateError
from palate.judges.base import JudgeResources
from palate.rubric import render_pairwise, render_pointwise, rubric_version
from palate.schema import CallInfo, Comparison, Rating, Rubric, Source, Unscored
from palate.schema.outcome import outcome
from palate.schema.text import pair_texts, prompt_text, response_text

if TYPE_CHECKING:
    import torch

    from palate.judges.base import PairTask, PointTask
    from palate.judges.config import HFJudgeConfig

Messages = list[dict[str, str]]


class _Batcher:
    """Gathers the texts of concurrent callers into one batch per event-loop turn."""

    def __init__(self, run: Any, batch_size: int) -> None:
        self._run = run  # list[str] -> list[float], called in a worker thread
        self._batch_size = batch_size
        self._pending: list[tuple[str, asyncio.Future[float]]] = []
        self._flushing = False
        self._task: asyncio.Task[None] | None = None  # held so it is not garbage-collected

    async def submit(self, text: str) -> float:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._pending.append((text, future))
        if not self._flushing:
            self._flushing = True
            self._task = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the other callers of this turn enqueue
        try:
            while self._pending:
                batch = self._pending[: self._batch_size]
                del self._pending[: self._batch_size]
                try:
                    values = await asyncio.to_thread(self._run, [t for t, _ in batch])
                except Exception as exc:  # handed to each caller, who reports it unscored
                    for _, future in batch:
                        future.set_exception(exc)
                    continue
                for (_, future), value in zip(batch, values, strict=True):
                    future.set_result(value)
        finally:
            self._flushing = False


class TransformersJudge(JudgeResources):
    """Pairwise (letter logprobs, both orders) and pointwise (generated JSON) local judge."""

    def __init__(self, config: HFJudgeConfig, *, rubric: Rubric | None = None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from palate.judges.config import config_hash

        self.config = config
        self.rubric = rubric
        self.source = Source(kind="judge", name=config.name, version=config_hash(config))
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(config.model_path))
            dtype = "auto" if config.dtype == "auto" else getattr(torch, config.dtype)
            loader: Any = AutoModelForCausalLM  # its stubs type from_pretrained's cls wrongly
            model = loader.from_pretrained(str(config.model_path), dtype=dtype)
        except (OSError, ValueError) as exc:
            raise PalateError(f"cannot load a causal LM from {config.model_path}: {exc}") from exc
        self.model: Any = model  # Any: the stubs of .to/.generate do not chain
        self.model.to(config.device)
        self.model.eval()
        self.tokenizer.padding_side = "left"
        self.tokenizer.truncation_side = "left"  # the question to answer is at the end
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        positions = getattr(self.model.config, "max_position_embeddings", None)
        self.max_length = min(int(self.tokenizer.model_max_length), int(positions or 1 << 30))
        self.letters = {letter: self._token_ids(letter) for letter in ("A", "B")}
        self._batcher = _Batcher(self.prefer_first, config.batch_size)

    def _token_ids(self, letter: str) -> list[int]:
        ids = set()
        for form in (letter, f" {letter}"):
            encoded = self.tokenizer.encode(form, add_special_tokens=False)
            if len(encoded) == 1:
                ids.add(encoded[0])
        if not ids:
            raise PalateError(f"the tokenizer of {self.config.model_path} has no token '{letter}'")
        return sorted(ids)

    def _text(self, messages: Messages, generation: bool = True) -> str:
        if self.tokenizer.chat_template:
            text = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=generation, tokenize=False
            )
            return str(text)
        turns = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)
        return f"{turns}\n\nassistant:"

    def _encode(self, texts: Sequence[str], reserve: int = 0) -> dict[str, torch.Tensor]:
        """Left-padded, left-truncated batch leaving ``reserve`` positions for generation."""
        batch = self.tokenizer(
            list(texts),
            return_tensors="pt",
            padding=True,
            truncation=True,
            max_length=max(1, self.max_length - reserve),
            add_special_tokens=False,
        )
        mask = batch["attention_mask"]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)  # left padding: count real tokens only
        return {
            "input_ids": batch["input_ids"].to(self.config.device),
            "attention_mask": mask.to(self.config.device),
            "position_ids": positions.to(self.config.device),
        }

    def prefer_first(self, texts: Sequence[str]) -> list[float]:
        """P(A) / (P(A) + P(B)) for the next token after each prompt text (one forward pass
        per batch of ``batch_size``)."""
        import torch

        out: list[float] = []
        for start in range(0, len(texts), self.config.batch_size):
            inputs = self._encode(texts[start : start + self.config.batch_size])
            with torch.inference_mode():
                logits = self.model(**inputs).logits[:, -1, :].float()
            logprobs = torch.log_softmax(logits, dim=-1)
            log_a = torch.logsumexp(logprobs[:, self.letters["A"]], dim=-1)
            log_b = torch.logsumexp(logprobs[:, self.letters["B"]], dim=-1)
            out.extend(torch.sigmoid(log_a - log_b).tolist())
        return out

    async def judge_pair(self, task: PairTask) -> Comparison:
        common = task.comparison_fields(self.source)
        found = pair_texts(task.prompt, task.responses)
        if found is None:
            reason = "no text to judge (the record holds only ids)"
            return Comparison(unscored=Unscored(reason=reason), **common)
        prompt, texts = found[0], found[1:]
        orders = [task.order, (task.order[1], task.order[0])]
        prompts = [
            self._text(
                render_pairwise(
                    self.rubric,
                    prompt,
                    texts[a],
                    texts[b],
                    dimension=task.dimension,
                    style="letter",
                )
            )
            for a, b in orders
        ]
        started = time.perf_counter()
        try:
            shown_first = await asyncio.gather(*(self._batcher.submit(p) for p in prompts))
        except Exception as exc:  # a model failure is a missing judgement, not a crash
            return Comparison(unscored=Unscored(reason=f"model error: {exc}"), **common)
        # P(responses[0] better) in each order; averaging the two cancels position bias.
        by_order = [
            p if order[0] == 0 else 1.0 - p for p, order in zip(shown_first, orders, strict=False)
        ]
        preference = sum(by_order) / 2
        call = CallInfo(latency_s=time.perf_counter() - started, preference=preference)
        metadata = {
            "preference_by_order": {
                f"{o[0]},{o[1]}": p for o, p in zip(orders, by_order, strict=False)
            },
            "orders_agree": (by_order[0] > 0.5) == (by_order[1] > 0.5),
        }
        return Comparison(call=call, metadata=metadata, **outcome(preference - 0.5), **common)

    def _generate(self, text: str) -> tuple[str, int, int]:
        import torch

        inputs = self._encode([text], reserve=self.config.max_new_tokens)
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=inputs["input_ids"],
                attention_mask=inputs["attention_mask"],
                max_new_tokens=self.config.max_new_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new = output[0, inputs["input_ids"].shape[1] :]
        answer = self.tokenizer.decode(new, skip_special_tokens=True)
        return str(answer), int(inputs["input_ids"].shape[1]), int(new.shape[0])

    async def judge_point(self, task: PointTask) -> list[Rating]:
        dims = list(task.dimensions) or (
            [d.name for d in self.rubric.dimensions] if self.rubric else []
        )
        common: dict[str, Any] = {
            "item": task.item,
            "prompt": task.prompt,
            "response": task.response,
            "rater": self.source,
            "rubric": task.rubric or (rubric_version(self.rubric) if self.rubric else None),
        }

        def unscored(reason: str, raw: str | None = None) -> list[Rating]:
            info = Unscored(reason=reason, raw_output=raw)
            targets: list[str | None] = list(dims) if dims else [None]
            return [Rating(dimension=d, unscored=info, **common) for d in targets]

        prompt, text = prompt_text(task.prompt), response_text(task.response)
        if prompt is None or text is None:
            return unscored("no text to judge (the record holds only ids)")
        messages = render_pointwise(self.rubric, prompt, text, dimensions=dims or None)
        started = time.perf_counter()
        try:
            raw, n_in, n_out = await asyncio.to_thread(self._generate, self._text(messages))
        except Exception as exc:  # a model failure is a missing judgement, not a crash
            return unscored(f"model error: {exc}")
        call = CallInfo(
            latency_s=time.perf_counter() - started,
            prompt_tokens=n_in,
            completion_tokens=n_out,
            raw_output=raw,
        )
        parsed = _parse_scores(raw)
        if parsed is None:
            return unscored("parse failure: no JSON object with 'scores'", raw)
        scores, rationale, tags = parsed
        ratings = []
        for dim in dims or list(scores):
            value = scores.get(dim)
            if isinstance(value, bool) or not isinstance(value, int | float):
                info = Unscored(reason=f"parse failure: no score for '{dim}'", raw_output=raw)
                ratings.append(Rating(dimension=dim, unscored=info, call=call, **common))
            else:
                ratings.append(
                    Rating(
                        dimension=dim,
                        score=float(value),
                        rationale=rationale,
                        error_tags=tags,
                        call=call,
                        **common,
                    )
                )
        return ratings or unscored("parse failure: empty 'scores'", raw)


def _parse_scores(raw: str) -> tuple[dict[str, Any], str | None, list[str]] | None:
    """The first JSON object in ``raw`` that has a ``scores`` mapping."""
    decoder = json.JSONDecoder()
    start = raw.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(raw, start)
        except json.JSONDecodeError:
            start = raw.find("{", start + 1)
            continue
        if isinstance(value, dict) and isinstance(value.get("scores"), dict):
            rationale = value.get("rationale")
            tags = value.get("error_tags")
            return (
                value["scores"],
                rationale if isinstance(rationale, str) else None,
                [str(t) for t in tags] if isinstance(tags, list) else [],
            )
        start = raw.find("{", start + 1)
    return None
