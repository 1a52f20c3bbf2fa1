"""`palate train dpo|grpo` end to end on a tiny model built here: the policy must improve on
the signal it was trained on, and the run must be recorded (run.json, ledger, hashes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from transformers import AutoModelForCausalLM, AutoTokenizer

from palate.train.checkpoint import checkpoint_hash
from tests.helpers import run_json
from tests.train.conftest import CHOSEN, PROMPTS, REJECTED
from tests.train.moon_reward import moon_share

HERE = Path(__file__).resolve().parent


def write_config(path: Path, settings: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


def response_logprob(
    model: AutoModelForCausalLM, tokenizer: AutoTokenizer, prompt: str, response: str
) -> float:
    """Sum of log p(response tokens | prompt), computed here, independently of TRL."""
    prompt_ids = tokenizer(prompt)["input_ids"]
    full_ids = tokenizer(prompt + response)["input_ids"]
    assert full_ids[: len(prompt_ids)] == prompt_ids
    ids = torch.tensor([full_ids])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(ids).logits[0, :-1], dim=-1)
    targets = ids[0, 1:]
    picked = logprobs[torch.arange(len(targets)), targets]
    return float(picked[len(prompt_ids) - 1 :].sum())


def mean_margin(model_dir: Path) -> float:
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    margins = [
        response_logprob(model, tokenizer, p, " " + c)
        - response_logprob(model, tokenizer, p, " " + REJECTED[k])
        for k, p in enumerate(PROMPTS)
        for c in CHOSEN
    ]
    return sum(margins) / len(margins)


def sampled_reward(model_dir: Path, samples: int = 48) -> float:
    """Mean scripted reward of seeded samples, as GRPO saw them (8 new tokens at T=1)."""
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    torch.manual_seed(1234)
    rewards: list[float] = []
    for prompt in PROMPTS:
        ids = tokenizer([prompt] * samples, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(
                **ids,
                do_sample=True,
                max_new_tokens=8,
                top_k=0,
                pad_token_id=tokenizer.pad_token_id,
            )
        texts = tokenizer.batch_decode(
            out[:, ids["input_ids"].shape[1] :], skip_special_tokens=True
        )
        rewards.extend(moon_share(texts))
    return sum(rewards) / len(rewards)


def check_record(
    out: dict[str, object], output_dir: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = Path(str(out["checkpoint"]))
    assert checkpoint_hash(checkpoint) == out["checkpoint_hash"]
    record = json.loads((output_dir / "run.json").read_text())
    assert record["checkpoint_hash"] == out["checkpoint_hash"]
    assert record["dataset"]["name"] == "moon"
    assert record["dataset"]["training_rows"] > 0
    assert record["versions"]["trl"] and record["versions"]["torch"]
    assert record["seed"] == 0
    from palate.ledger import Ledger
    from palate.store import Store

    with Store(db) as store:
        ledger = Ledger(store)
        (entry,) = ledger.find("checkpoint", str(checkpoint))
        dataset_ref = ledger.dataset_rows("moon")
        used = [(u["kind"], u["id"], u["hash"]) for u in entry.record["used"]]
        generated = [(g["kind"], g["hash"]) for g in entry.record["generated"]]
        assert ("dataset-rows", dataset_ref.id, dataset_ref.hash) in used
        assert generated == [("checkpoint", out["checkpoint_hash"])]
        assert record["ledger"]["id"] == entry.id
        assert record["dataset"]["store_rows"]["hash"] == dataset_ref.hash
    with Store(db) as store:
        assert Ledger(store).verify().ok


def test_dpo_raises_the_chosen_margin(
    tiny_model: Path, moon_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path / "dpo.yaml",
        {
            "model": str(tiny_model),
            "dataset": "moon",
            "output_dir": str(tmp_path / "run"),
            "seed": 0,
            "beta": 0.1,
            "train": {"learning_rate": 1e-3, "max_steps": 20, "batch_size": 8, "max_length": 32},
        },
    )
    out = run_json(capsys, "train", "dpo", "--config", str(config), "--db", moon_store)
    before, after = mean_margin(tiny_model), mean_margin(Path(out["checkpoint"]))
    # Untrained, the margin is noise around 0; DPO must open it by several nats.
    assert after > before + 3.0, (before, after)
    assert out["metrics"]["steps"] == 20
    check_record(out, tmp_path / "run", moon_store, capsys)


def test_grpo_raises_the_sampled_reward(
    tiny_model: Path, moon_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path / "grpo.yaml",
        {
            "model": str(tiny_model),
            "dataset": "moon",
            "output_dir": str(tmp_path / "run"),
            "seed": 0,
            "reward": {"function": f"{HERE / 'moon_reward.py'}:moon_share"},
            "num_generations": 8,
            "max_completion_length": 8,
            "train": {"learning_rate": 5e-3, "max_steps": 30, "batch_size": 8, "logging_steps": 5},
        },
    )
    out = run_json(capsys, "train", "grpo", "--config", str(config), "--db", moon_store)
    before, after = sampled_reward(tiny_model), sampled_reward(Path(out["checkpoint"]))
    assert after > before + 0.2, (before, after)
    # The guard hook saw every batch: the proxy reward rose during training too.
    assert out["metrics"]["reward_last_batch"] > out["metrics"]["reward_first_batch"]
    check_record(out, tmp_path / "run", moon_store, capsys)
