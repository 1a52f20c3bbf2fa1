"""The policy: a small GRU that writes poems line by line, trained from scratch, seeded.

A whole pre-trained language model would need a download and a GPU; a one-layer GRU over the
domain's line vocabulary has the same interface that matters here (autoregressive sampling,
sequence log-probabilities, a frozen reference copy for the KL term) and trains in seconds on
a CPU. It starts from supervised training on an amateur's corpus, so the starting policy writes
the average, mostly clichéd moon poem that the two arms then try to improve.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from palate.generate.jobs import Job, SamplingSettings
from palate.gym.domain import BOS, EOS, LINES, MAX_LINES, VOCAB, Image, Poem, render
from palate.schema import Generation, Response


class PolicyConfig(BaseModel):
    """Size and starting point of the policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    embedding: int = Field(default=32, ge=1, description="Token embedding width.")
    hidden: int = Field(default=64, ge=1, description="GRU hidden width.")
    sft_steps: int = Field(default=120, ge=0, description="Supervised steps on the amateur corpus.")
    sft_batch: int = Field(default=64, ge=1, description="Poems per supervised step.")
    sft_lr: float = Field(default=1e-2, gt=0, description="Adam learning rate for the start.")


class Policy(nn.Module):
    """P(next line | lines so far); token ``EOS`` ends the poem."""

    def __init__(self, config: PolicyConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, config.embedding)
        self.gru = nn.GRU(config.embedding, config.hidden, batch_first=True)
        self.head = nn.Linear(config.hidden, EOS + 1)

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, T) input tokens (BOS first) → (B, T, EOS+1) next-token logits; the first step
        cannot end the poem (a poem has at least one line)."""
        out, _ = self.gru(self.embed(inputs))
        logits: torch.Tensor = self.head(out)
        no_empty = torch.zeros_like(logits)
        no_empty[:, 0, EOS] = -torch.inf
        return logits + no_empty

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> list[Poem]:
        """``n`` poems, drawn with ``generator`` (the same generator state gives the same poems)."""
        tokens = torch.full((n, 1), BOS, dtype=torch.long)
        state: torch.Tensor | None = None
        done = torch.zeros(n, dtype=torch.bool)
        steps: list[torch.Tensor] = []
        for step in range(MAX_LINES + 1):
            out, state = self.gru(self.embed(tokens[:, -1:]), state)
            logits = self.head(out[:, -1])
            if step == 0:
                logits[:, EOS] = -torch.inf
            if step == MAX_LINES:
                logits[:, :EOS] = -torch.inf
            nxt = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)[:, 0]
            nxt = torch.where(done, torch.full_like(nxt, EOS), nxt)
            steps.append(nxt)
            done |= nxt == EOS
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
            if bool(done.all()):
                break
        table = torch.stack(steps, dim=1).tolist()
        return [tuple(t for t in row[: row.index(EOS)]) for row in table]

    def sequence_logps(self, poems: Sequence[Poem]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token log-probabilities (B, T) of each poem followed by EOS, and the mask of
        real tokens; their masked sum is the poem's log-probability."""
        inputs, targets, mask = encode(poems)
        logp = torch.log_softmax(self.logits(inputs), dim=-1)
        per_token = logp.gather(2, targets[..., None])[..., 0] * mask
        return per_token, mask


def encode(poems: Sequence[Poem]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Teacher-forcing tensors: inputs (BOS + poem), targets (poem + EOS), mask of targets."""
    lengths = np.fromiter((len(p) for p in poems), dtype=np.int64, count=len(poems))
    columns = np.arange(int(lengths.max()) + 1)
    targets = np.full((len(poems), columns.size), EOS, dtype=np.int64)
    targets[columns[None, :] < lengths[:, None]] = np.fromiter(
        itertools.chain.from_iterable(poems), dtype=np.int64, count=int(lengths.sum())
    )
    inputs = np.empty_like(targets)
    inputs[:, 0] = BOS
    inputs[:, 1:] = targets[:, :-1]
    mask = (columns[None, :] <= lengths[:, None]).astype(np.float32)
    return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(mask)


def amateur_corpus(n: int, rng: np.random.Generator) -> list[Poem]:
    """Poems as an amateur writes them: two to seven lines, mostly stock, some fresh."""
    weight = {Image.STOCK: 3.0, Image.FRESH: 1.0, Image.PLAIN: 1.2}
    p = np.array([weight[line.image] for line in LINES])
    tokens = rng.choice(len(LINES), size=(n, 7), p=p / p.sum()).tolist()
    lengths = rng.integers(2, 8, size=n).tolist()
    return [tuple(row[:k]) for row, k in zip(tokens, lengths, strict=True)]


def starting_policy(config: PolicyConfig, seed: int) -> Policy:
    """The shared start of both arms: seeded init, then supervised steps on the amateur corpus."""
    torch.manual_seed(seed)
    policy = Policy(config)
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.Adam(policy.parameters(), lr=config.sft_lr)
    for _ in range(config.sft_steps):
        per_token, mask = policy.sequence_logps(amateur_corpus(config.sft_batch, rng))
        loss = -per_token.sum() / mask.sum()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return policy


def frozen_copy(policy: Policy) -> Policy:
    """A reference copy for the KL term: same weights, no gradients."""
    reference = copy.deepcopy(policy)
    reference.requires_grad_(False)
    reference.eval()
    return reference


@torch.no_grad()
def kl_from(policy: Policy, reference: Policy, poems: Sequence[Poem]) -> float:
    """Monte-Carlo KL(policy ‖ reference) from poems sampled from ``policy``:
    the mean of log π(y) − log π_ref(y)."""
    logp, mask = policy.sequence_logps(poems)
    ref, _ = reference.sequence_logps(poems)
    return float(((logp - ref) * mask).sum(dim=1).mean())


class PolicyGenerator:
    """The policy as a ``palate.generate`` generator, so the gym's poems are generated and
    stored as ``palate generate`` stores a model's responses (with the checkpoint's hash and
    the sampling settings). Poems come from the arm's own torch stream, one ``sample`` call
    per batch, so they are the poems ``Policy.sample`` draws."""

    backend = "palate.gym"

    def __init__(
        self, policy: Policy, *, name: str, checkpoint: str, generator: torch.Generator
    ) -> None:
        self.policy = policy
        self.name = name
        self.checkpoint_hash: str | None = checkpoint
        self.batch_size = 1 << 20  # one batch: a round's poems in one draw
        self.stream = generator

    def generate(
        self, jobs: Sequence[Job], settings: SamplingSettings, batch: int
    ) -> list[Generation]:
        poems = self.policy.sample(len(jobs), self.stream)
        sampling = settings.recorded()
        return [
            Generation(
                prompt=job.prompt,
                response=Response(model=self.name, text=render(poem)),
                sample=job.sample,
                checkpoint_hash=self.checkpoint_hash,
                backend=self.backend,
                sampling=sampling,
                finish_reason="stop" if len(poem) < MAX_LINES else "length",
                completion_tokens=len(poem) + 1,
            )
            for job, poem in zip(jobs, poems, strict=True)
        ]

    def close(self) -> None:
        """Nothing to release: the policy belongs to its arm."""
