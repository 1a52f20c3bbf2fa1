"""Running a training method through TRL, and recording the run.

Everything that can be wrong with a run (config, model path, dataset, TRL arguments) is
checked before any weights load. TRL's trainers run on accelerate, so the same config runs on
a CPU, or on many GPUs under ``accelerate launch`` with a DeepSpeed config (see
docs/training-on-gpus.md). The main process then writes ``run.json`` next to the checkpoint
and appends one ledger entry that links the dataset rows used, the run, and the checkpoint's
content hash.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from palate.errors import InputError, PalateError
from palate.io.atomic import write_atomic
from palate.schema.hashing import canonical_bytes
from palate.store import Store, default_url
from palate.train.checkpoint import checkpoint_hash
from palate.train.config import (
    DPORunConfig,
    GRPORunConfig,
    Method,
    Optimisation,
    PolicyRun,
    RewardRunConfig,
    RunBase,
    SFTRunConfig,
    field_line,
    load_config,
)
from palate.train.datasets import (
    BuildReport,
    preference_dataset,
    prompt_dataset,
    rows_hash,
    sft_dataset,
)
from palate.train.rewards import RewardTrace, guarded, load_reward

LIBRARIES = ("palate", "torch", "transformers", "trl", "accelerate", "datasets")
CHECKPOINT_DIR = "checkpoint"


@dataclass(frozen=True)
class TrainResult:
    """What ``palate train`` reports: ids and hashes others name this run by."""

    run: str
    checkpoint: Path
    checkpoint_hash: str
    metrics: dict[str, Any]
    run_json: Path

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "checkpoint": str(self.checkpoint),
            "checkpoint_hash": self.checkpoint_hash,
            "metrics": self.metrics,
        }


@dataclass(frozen=True)
class Prepared:
    """A checked run: config, its data, and the TRL arguments, before anything trains."""

    config: RunBase
    config_path: Path
    data: Any  # datasets.Dataset
    report: BuildReport
    trl_args: Any


def _input_error(config_path: Path, field: str, message: str) -> InputError:
    return InputError(
        message, file=str(config_path), line=field_line(config_path, field), field=field
    )


def _build_data(store: Store, config: RunBase, config_path: Path) -> tuple[Any, BuildReport]:
    try:
        store.count(config.dataset)
    except PalateError as exc:
        raise _input_error(config_path, "dataset", str(exc)) from exc
    if isinstance(config, GRPORunConfig):
        data, report = prompt_dataset(store, config.dataset, config.pairs)
        what = "prompts with text"
    elif isinstance(config, SFTRunConfig):
        data, report = sft_dataset(store, config.dataset, config.pairs)
        what = "chosen responses"
    else:
        data, report = preference_dataset(store, config.dataset, config.pairs)
        what = "preference pairs"
    if report.rows == 0:
        dropped = ", ".join(f"{n} {why}" for why, n in sorted(report.dropped.items()))
        raise _input_error(
            config_path,
            "dataset",
            f"dataset {config.dataset!r} gives no {what} "
            f"({report.judgements} judgements read; left out: {dropped or 'none'})",
        )
    return data, report


def _common_args(config: RunBase, opt: Optimisation) -> dict[str, Any]:
    return {
        "output_dir": str(config.output_dir / "trainer"),
        "seed": config.seed,
        "data_seed": config.seed,
        "learning_rate": opt.learning_rate,
        "num_train_epochs": opt.epochs,
        "max_steps": opt.max_steps,
        "per_device_train_batch_size": opt.batch_size,
        "gradient_accumulation_steps": opt.gradient_accumulation_steps,
        "logging_steps": opt.logging_steps,
        "bf16": opt.bf16,
        "report_to": [],
        "save_strategy": "no",
        "disable_tqdm": True,
    }


def _trl_args(config: RunBase) -> Any:
    """TRL's config object for this method; TRL checks its own arguments here."""
    import trl

    opt = config.train
    args = _common_args(config, opt)
    if isinstance(config, SFTRunConfig):
        cls: Any = trl.SFTConfig
        args["max_length"] = opt.max_length
    elif isinstance(config, DPORunConfig):
        cls = trl.DPOConfig
        args.update(max_length=opt.max_length, beta=config.beta)
    elif isinstance(config, GRPORunConfig):
        cls = trl.GRPOConfig
        args.update(
            num_generations=config.num_generations,
            max_completion_length=config.max_completion_length,
            temperature=config.temperature,
            beta=config.beta,
        )
    elif isinstance(config, RewardRunConfig):
        cls = trl.RewardConfig
        args["max_length"] = opt.max_length
    else:
        raise TypeError(f"no TRL config for {type(config).__name__}")
    args.update(opt.trl_args)
    return cls(**args)


def prepare(method: Method, config_path: Path, db: str | None = None) -> Prepared:
    """Load and check everything a run needs; raise InputError on the first mistake."""
    config = load_config(config_path, method)
    if (config.output_dir / CHECKPOINT_DIR).exists():
        raise _input_error(
            config_path,
            "output_dir",
            f"{config.output_dir / CHECKPOINT_DIR} exists: a run never overwrites another's "
            "checkpoint; choose a new output_dir",
        )
    store = Store(db or config.db or default_url())
    try:
        data, report = _build_data(store, config, config_path)
    finally:
        store.close()
    trl_args = None
    if not (isinstance(config, RewardRunConfig) and config.kind == "embedding"):
        try:
            trl_args = _trl_args(config)
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"TRL rejects the arguments: {exc}",
                file=str(config_path),
                line=field_line(config_path, "train"),
                field="train.trl_args",
            ) from exc
    return Prepared(config, config_path, data, report, trl_args)


# -- training ------------------------------------------------------------------------------


def _pretrained(load: Callable[..., Any], path: Path, **kwargs: Any) -> Any:
    """``load(path)`` from Hugging Face, with a broken model folder (a missing or invalid
    config.json, absent weights) said in one line."""
    try:
        return load(path, **kwargs)
    except (OSError, ValueError, KeyError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise PalateError(f"{path}: not a usable model folder ({reason})") from exc


def _tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    tokenizer = _pretrained(AutoTokenizer.from_pretrained, path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _last_logged(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The last logged value of every metric TRL reported."""
    metrics: dict[str, Any] = {}
    for entry in history:
        for key, value in entry.items():
            if isinstance(value, int | float) and key != "step":
                metrics[key] = value
    return metrics


def _run_trainer(trainer: Any, out: Path, tokenizer: Any) -> tuple[dict[str, Any], bool]:
    trainer.train()
    trainer.save_model(str(out))
    main = bool(trainer.is_world_process_zero())
    if main:
        tokenizer.save_pretrained(str(out))
        (out / "training_args.bin").unlink(missing_ok=True)  # pickled args: not model content
    metrics = _last_logged(trainer.state.log_history)
    metrics["steps"] = trainer.state.global_step
    return metrics, main


def _train_policy(prep: Prepared, out: Path) -> tuple[dict[str, Any], bool]:
    import trl
    from transformers import AutoModelForCausalLM, set_seed

    config = prep.config
    assert isinstance(config, PolicyRun)
    set_seed(config.seed)
    tokenizer = _tokenizer(config.model)
    model = _pretrained(AutoModelForCausalLM.from_pretrained, config.model)
    common = {
        "model": model,
        "args": prep.trl_args,
        "train_dataset": prep.data,
        "processing_class": tokenizer,
    }
    if isinstance(config, GRPORunConfig):
        trace = RewardTrace()
        reward = guarded(load_reward(config.reward, prep.config_path.parent), [trace])
        trainer = trl.GRPOTrainer(reward_funcs=[reward], **common)
        metrics, main = _run_trainer(trainer, out, tokenizer)
        metrics.update(trace.summary())
        return metrics, main
    if isinstance(config, DPORunConfig):
        return _run_trainer(trl.DPOTrainer(**common), out, tokenizer)
    return _run_trainer(trl.SFTTrainer(**common), out, tokenizer)


def _train_reward(
    prep: Prepared, out: Path, progress: Callable[[str], None] | None = None
) -> tuple[dict[str, Any], bool]:
    import numpy as np

    config = prep.config
    assert isinstance(config, RewardRunConfig)
    rows = prep.data.to_dict()
    triples = list(zip(rows["prompt"], rows["chosen"], rows["rejected"], strict=True))
    order = np.random.default_rng(config.seed).permutation(len(triples))
    n_test = round(len(triples) * config.holdout)
    test = [triples[i] for i in order[:n_test]]
    fit = [triples[i] for i in order[n_test:]]
    if config.kind == "embedding":
        from palate.judges.reward_model import EmbeddingRewardModel

        model = EmbeddingRewardModel.fit(
            fit,
            seed=config.seed,
            l2=config.l2,
            response_tokens=config.response_tokens,
            prompt_tokens=config.prompt_tokens,
            progress=progress,
        )
        model.save(out)
        metrics: dict[str, Any] = {"train_pairs": len(fit), "heldout_pairs": len(test)}
        if test:
            accuracy, low, high = model.pairwise_accuracy(test)
            metrics.update(heldout_accuracy=accuracy, heldout_ci_low=low, heldout_ci_high=high)
            metrics["heldout_length_baseline_accuracy"] = length_baseline(fit, test)
        return metrics, True
    return _train_classifier(prep, config, fit, test, out)


def length_baseline(fit: list[tuple[Any, Any, Any]], test: list[tuple[Any, Any, Any]]) -> float:
    """Held-out accuracy of "the longer (or, if that fits better, shorter) response wins",
    the direction chosen on the training pairs: what a reward model must beat to have
    learnt more than length."""
    longer_wins = sum(len(c) > len(r) for _, c, r in fit) >= sum(len(c) < len(r) for _, c, r in fit)

    def right(chosen: Any, rejected: Any) -> float:
        if len(chosen) == len(rejected):
            return 0.5
        return 1.0 if (len(chosen) > len(rejected)) == longer_wins else 0.0

    return sum(right(c, r) for _, c, r in test) / len(test)


def _train_classifier(
    prep: Prepared,
    config: RewardRunConfig,
    fit: list[tuple[Any, Any, Any]],
    test: list[tuple[Any, Any, Any]],
    out: Path,
) -> tuple[dict[str, Any], bool]:
    import torch
    import trl
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, set_seed

    assert config.model is not None
    set_seed(config.seed)
    tokenizer = _tokenizer(config.model)
    model = _pretrained(
        AutoModelForSequenceClassification.from_pretrained, config.model, num_labels=1
    )
    model.config.pad_token_id = tokenizer.pad_token_id
    train = Dataset.from_dict(
        {
            "prompt": [t[0] for t in fit],
            "chosen": [t[1] for t in fit],
            "rejected": [t[2] for t in fit],
        }
    )
    trainer = trl.RewardTrainer(
        model=model, args=prep.trl_args, train_dataset=train, processing_class=tokenizer
    )
    metrics, main = _run_trainer(trainer, out, tokenizer)
    if test:
        wins = 0
        model.eval()
        device = next(model.parameters()).device
        with torch.no_grad():
            for prompt, chosen, rejected in test:
                batch = tokenizer(
                    [prompt + chosen, prompt + rejected], return_tensors="pt", padding=True
                ).to(device)
                scores = model(**batch).logits[:, 0]
                wins += int(scores[0] > scores[1])
        metrics.update(heldout_pairs=len(test), heldout_accuracy=wins / len(test))
    return metrics, main


# -- the record ----------------------------------------------------------------------------


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            found[name] = None
    return found


def _hardware() -> dict[str, Any]:
    import torch

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "gpus": gpus,
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
    }


def _write_json(path: Path, document: dict[str, Any]) -> None:
    """Write atomically: a reader sees the old file or the whole new one."""
    write_atomic(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


def _record(
    prep: Prepared,
    store: Store,
    run_id: str,
    started: dt.datetime,
    out: Path,
    ckpt_hash: str,
    metrics: dict[str, Any],
) -> dict[str, Any]:
    from palate.ledger import EntityRef, Ledger
    from palate.safety.contamination import check_training_data

    config = prep.config
    contamination = check_training_data(store, config.dataset)
    config_json = config.model_dump(mode="json")
    config_hash = hashlib.sha256(canonical_bytes(config_json)).hexdigest()
    data_hash = rows_hash(prep.data)
    ledger = Ledger(store)
    dataset_ref = ledger.dataset_rows(config.dataset)
    versions, hardware = _versions(), _hardware()
    entry = ledger.append(
        f"train-{config_json['method']}",
        agent="palate train",
        used=[
            dataset_ref,
            EntityRef(kind="train-config", id=run_id, hash=config_hash),
        ],
        generated=[EntityRef(kind="checkpoint", id=str(out), hash=ckpt_hash)],
        attributes={
            "run": run_id,
            "seed": config.seed,
            "training_rows": prep.report.rows,
            "training_rows_hash": data_hash,
            "metrics": metrics,
            "versions": versions,
            "hardware": hardware,
            "contamination": contamination,
        },
    )
    return {
        "run": run_id,
        "method": config_json["method"],
        "started": started.isoformat(),
        "finished": dt.datetime.now(dt.UTC).isoformat(),
        "config": config_json,
        "config_hash": config_hash,
        "seed": config.seed,
        "dataset": {
            "name": config.dataset,
            "store_rows": dataset_ref.model_dump(mode="json"),
            "training_rows": prep.report.rows,
            "training_rows_hash": data_hash,
            "build": prep.report.to_json(),
        },
        "versions": versions,
        "hardware": hardware,
        "metrics": metrics,
        "contamination": contamination,
        "checkpoint": str(out),
        "checkpoint_hash": ckpt_hash,
        "ledger": {"index": entry.index, "id": entry.id},
        "command": sys.argv,
    }


def run(
    method: Method,
    config_path: Path,
    db: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """Check, train, save the checkpoint, write run.json and the ledger entry; ``progress``
    hears each stage (TRL's trainers also show their own progress bars)."""
    say = progress or (lambda _: None)
    prep = prepare(method, config_path, db)  # a bad config fails here, before any word
    say(f"config checked; {len(prep.data):,} training examples from the store")
    config = prep.config
    started = dt.datetime.now(dt.UTC)
    run_id = f"{started:%Y%m%dT%H%M%S}-{method}-{uuid.uuid4().hex[:8]}"
    config.output_dir.mkdir(parents=True, exist_ok=True)
    out = config.output_dir / CHECKPOINT_DIR
    # Trainers print their logs on stdout; stdout belongs to the command's result (--json).
    with contextlib.redirect_stdout(sys.stderr):
        say(f"training ({method}) on {len(prep.data):,} examples")
        if isinstance(config, RewardRunConfig):
            metrics, main = _train_reward(prep, out, progress)
        else:
            metrics, main = _train_policy(prep, out)
    say("hashing the checkpoint and recording the run")
    ckpt_hash = checkpoint_hash(out)
    run_json = config.output_dir / "run.json"
    if main:
        store = Store(db or config.db or default_url())
        try:
            document = _record(prep, store, run_id, started, out, ckpt_hash, metrics)
        finally:
            store.close()
        _write_json(run_json, document)
    return TrainResult(run_id, out, ckpt_hash, metrics, run_json)
