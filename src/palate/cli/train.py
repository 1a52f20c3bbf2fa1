"""``palate train sft|reward|dpo|grpo --config FILE.yaml``: one TRL run, checked and recorded.

Imports of torch and TRL wait until a command runs, so the rest of the CLI stays quick.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from palate.cli.common import DbOption, JsonOption, console, emit, err_console
from palate.train.config import Method

app = typer.Typer(help="Train on the store's judgements with TRL (sft, reward, dpo, grpo).")

ConfigOption = Annotated[
    Path, typer.Option("--config", help="Run config (YAML); see examples/train/.")
]


def _train(method: Method, config: Path, db: str | None, as_json: bool) -> None:
    from palate.train.runner import run

    live = err_console.is_terminal and not as_json
    with err_console.status("starting") if live else contextlib.nullcontext() as status:

        def progress(stage: str) -> None:
            if status is not None:
                status.update(stage)
            elif "iteration" not in stage:  # logs get the stages, not every iteration
                err_console.print(stage)

        result = run(method, config, db, progress=progress)

    def render() -> None:
        console.print(f"Run [bold]{result.run}[/] wrote {result.checkpoint}")
        console.print(f"  checkpoint hash {result.checkpoint_hash}")
        console.print(f"  record {result.run_json}")
        for name, value in sorted(result.metrics.items()):
            console.print(f"  {name}: {value}")

    emit(as_json, result.to_json(), render)


@app.command("sft")
def sft_command(config: ConfigOption, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Supervised fine-tuning on the chosen responses."""
    _train("sft", config, db, as_json)


@app.command("reward")
def reward_command(config: ConfigOption, db: DbOption = None, as_json: JsonOption = False) -> None:
    """A reward model (embedding + Bradley-Terry head, or TRL's RewardTrainer)."""
    _train("reward", config, db, as_json)


@app.command("dpo")
def dpo_command(config: ConfigOption, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Direct preference optimisation on preference pairs."""
    _train("dpo", config, db, as_json)


@app.command("grpo")
def grpo_command(config: ConfigOption, db: DbOption = None, as_json: JsonOption = False) -> None:
    """GRPO on the dataset's prompts against a reward function, judge or reward model."""
    _train("grpo", config, db, as_json)
