"""Judge configurations: one YAML file says which judge, where it runs and how it is driven.

A config's hash is the judge's version (``Source.version``) and part of every cache key, so it
covers only what can change a verdict. Operational settings (concurrency, retries, timeouts,
rate limits, prices, which environment variable holds the API key, which server URL serves the
model) are left out: raising the concurrency must not invalidate a cache or make yesterday's
judgements look like another judge's. The API key itself is never in a config at all, only the
name of the variable it is read from.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from palate.io.validation import input_error
from palate.io.yamlfile import load_yaml
from palate.schema.hashing import canonical_bytes

JudgeName = Annotated[
    str,
    Field(
        min_length=1,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="How results are attributed (also the default output dataset suffix).",
    ),
]


class _JudgeConfigBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    operational: ClassVar[frozenset[str]] = frozenset()
    """Fields that cannot change a verdict and are therefore not part of ``config_hash``."""


class OpenAIJudgeConfig(_JudgeConfigBase):
    """An LLM behind an OpenAI-compatible ``/chat/completions`` endpoint."""

    operational: ClassVar[frozenset[str]] = frozenset(
        {
            "base_url",
            "api_key_env",
            "concurrency",
            "timeout_s",
            "max_retries",
            "backoff_base_s",
            "requests_per_minute",
            "tokens_per_minute",
            "prompt_price_per_1k",
            "completion_price_per_1k",
            "rubric",
        }
    )

    name: JudgeName
    kind: Literal["openai"] = Field(description="An OpenAI-compatible HTTP judge.")
    model: str = Field(min_length=1, description="Model name sent in each request.")
    base_url: str = Field(
        default="https://api.openai.com/v1",
        pattern=r"^https?://",
        description="API root; '/chat/completions' is appended.",
    )
    api_key_env: str | None = Field(
        default="OPENAI_API_KEY",
        description="Environment variable the API key is read from (never stored); null for "
        "servers without authentication.",
    )
    concurrency: int = Field(default=16, ge=1, le=4096, description="Requests in flight at most.")
    timeout_s: float = Field(default=60.0, gt=0, description="Per-request timeout in seconds.")
    max_retries: int = Field(
        default=6, ge=0, le=50, description="Retries on 429, 5xx, timeouts and dropped connections."
    )
    backoff_base_s: float = Field(
        default=0.5,
        gt=0,
        description="First retry waits up to this (full jitter), doubling each retry, at most "
        "30 s; a Retry-After header overrides it.",
    )
    requests_per_minute: float | None = Field(
        default=None, gt=0, description="Request rate limit (token bucket); null for none."
    )
    tokens_per_minute: float | None = Field(
        default=None,
        gt=0,
        description="Token rate limit (prompt estimate plus max_tokens per call); null for none.",
    )
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(default=512, ge=1, description="Completion token limit per call.")
    style: Literal["json", "letter"] = Field(
        default="json",
        description="Pairwise answer form: 'json' (rationale and verdict) or 'letter' (one "
        "token, preference read from its top logprobs as AlpacaEval's weighted annotators do).",
    )
    top_logprobs: int = Field(
        default=5, ge=1, le=20, description="Alternatives per token requested in letter style."
    )
    seed: int | None = Field(
        default=None, description="Sampling seed sent to endpoints that honour one."
    )
    rubric: str | None = Field(
        default=None,
        description="Rubric YAML path (relative to this file) or stored version id/prefix; the "
        "command line's --rubric overrides it.",
    )
    dimension: str | None = Field(
        default=None, description="Rubric dimension to judge pairwise; null for overall."
    )
    prompt_price_per_1k: float = Field(
        default=0.0, ge=0, description="USD per 1,000 prompt tokens, for the cost of each call."
    )
    completion_price_per_1k: float = Field(
        default=0.0, ge=0, description="USD per 1,000 completion tokens."
    )


class HFJudgeConfig(_JudgeConfigBase):
    """A local Hugging Face causal LM read through its next-token probabilities."""

    operational: ClassVar[frozenset[str]] = frozenset({"device", "batch_size"})

    name: JudgeName
    kind: Literal["hf"] = Field(description="A local transformers judge.")
    model_path: Path = Field(description="Directory or hub id of the causal LM.")
    device: str = Field(default="cpu", description="torch device, e.g. 'cpu' or 'cuda:0'.")
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        default="auto", description="Weights dtype."
    )
    batch_size: int = Field(default=8, ge=1, description="Prompts per forward pass.")
    max_new_tokens: int = Field(
        default=256, ge=1, description="Generation limit for pointwise JSON answers."
    )


class RewardModelJudgeConfig(_JudgeConfigBase):
    """A trained reward model that scores responses; pairs are compared by score."""

    name: JudgeName
    kind: Literal["reward-model"] = Field(description="A reward-model judge.")
    model_path: Path = Field(description="Saved reward model (file or directory).")
    tie_margin: float = Field(
        default=0.0, ge=0, description="Score differences at most this are ties."
    )


class VerifierJudgeConfig(_JudgeConfigBase):
    """Runs code responses against each item's tests in a contained interpreter."""

    operational: ClassVar[frozenset[str]] = frozenset()

    name: JudgeName
    kind: Literal["verifier"] = Field(description="A code-executing verifier.")
    timeout_s: float = Field(default=10.0, gt=0, description="Wall-clock limit per run.")
    memory_mb: int = Field(default=512, ge=16, description="Address-space limit per run (MB).")
    k: int = Field(default=1, ge=1, description="k of pass@k over sampled responses.")


JudgeConfig = Annotated[
    OpenAIJudgeConfig | HFJudgeConfig | RewardModelJudgeConfig | VerifierJudgeConfig,
    Field(discriminator="kind"),
]


_ADAPTER: TypeAdapter[JudgeConfig] = TypeAdapter(JudgeConfig)
_KINDS = ("openai", "hf", "reward-model", "verifier")


def parse_judge_config(data: object) -> JudgeConfig:
    """A config from already-loaded data (pydantic ValidationError on bad fields)."""
    return _ADAPTER.validate_python(data)


_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")


def _location(error: ErrorDetails) -> tuple[Any, ...]:
    """Where in the config: pydantic puts the union member's tag first; a bad tag is 'kind'."""
    if error["type"] in _TAG_ERRORS:
        return ("kind",)
    loc = tuple(error["loc"])
    return loc[1:] if loc and loc[0] in _KINDS else loc


def _message(error: ErrorDetails, loc: tuple[Any, ...]) -> str:
    if error["type"] in _TAG_ERRORS:
        return f"kind must be one of {', '.join(_KINDS)}"
    return error["msg"]


def load_judge_config(path: Path | str) -> JudgeConfig:
    """Read a judge config YAML; errors name the file, line and field.

    A relative ``rubric`` path in an OpenAI config is resolved against the config's folder.
    """
    path = Path(path)
    data, locate = load_yaml(path)
    try:
        config = parse_judge_config(data)
    except ValidationError as exc:
        raise input_error(
            exc, file=str(path), locate=locate, location=_location, message=_message
        ) from None
    if isinstance(config, OpenAIJudgeConfig) and config.rubric is not None:
        candidate = path.parent / config.rubric
        if candidate.is_file():
            config = config.model_copy(update={"rubric": str(candidate)})
    return config


def config_hash(config: JudgeConfig) -> str:
    """SHA-256 hex of the canonical JSON of the verdict-relevant fields (see module doc)."""
    data = config.model_dump(mode="json", exclude=set(config.operational))
    return hashlib.sha256(canonical_bytes(data)).hexdigest()
