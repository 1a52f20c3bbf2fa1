"""``palate generate``: responses from a local checkpoint or an endpoint, into a dataset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from palate.cli.common import DbOption, JsonOption, console, emit, err_console, open_store

if TYPE_CHECKING:
    from palate.generate.jobs import Generator


def generate_command(
    prompts: Annotated[
        str, typer.Option("--prompts", help="Dataset name, or a JSONL/text file of prompts.")
    ],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset to store responses in.")],
    model: Annotated[
        Path | None, typer.Option("--model", help="Local transformers checkpoint directory.")
    ] = None,
    endpoint: Annotated[
        Path | None,
        typer.Option("--endpoint", help="OpenAI-compatible endpoint config (YAML)."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Name responses are attributed to (default: model dir)."),
    ] = None,
    n: Annotated[int, typer.Option("--n", min=1, help="Responses per prompt.")] = 1,
    temperature: Annotated[
        float, typer.Option("--temperature", min=0.0, help="0 for greedy decoding.")
    ] = 1.0,
    top_p: Annotated[float, typer.Option("--top-p", min=0.0, max=1.0)] = 1.0,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=1)] = 128,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the run.")] = 0,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Local model: prompts per batch.")
    ] = 16,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:1, ...")] = "auto",
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Local model on a Ray cluster (auto, ray://HOST:PORT, local): one actor per "
            "GPU, the same responses as a local run.",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Generate responses and store them with model, checkpoint hash, sampling and seed."""
    from palate.generate import EndpointGenerator, LocalGenerator, generate
    from palate.generate.endpoint import load_endpoint
    from palate.generate.jobs import SamplingSettings
    from palate.generate.prompts import load_prompts

    if (model is None) == (endpoint is None):
        raise typer.BadParameter("give exactly one of --model or --endpoint")
    if ray is not None and model is None:
        raise typer.BadParameter("--ray runs a local --model (an endpoint scales itself)")
    store = open_store(db, create=True)
    generator: Generator
    try:
        chosen = load_prompts(store, prompts)
        if model is not None and ray is not None:
            from palate.scale import RayGenerator

            generator = RayGenerator(
                model, address=ray, name=name, batch_size=batch_size, device=device
            )
        elif model is not None:
            generator = LocalGenerator(model, name=name, batch_size=batch_size, device=device)
        else:
            assert endpoint is not None
            generator = EndpointGenerator(load_endpoint(endpoint))
        settings = SamplingSettings(
            temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed
        )
        with Progress(
            TextColumn("generate"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err_console,
            disable=as_json,
        ) as bar:
            task = bar.add_task("generate", total=len(chosen) * n)
            result = generate(
                store,
                generator,
                chosen,
                dataset,
                n=n,
                settings=settings,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        generator.close()
    finally:
        store.close()
    emit(
        as_json,
        result.to_json(),
        lambda: console.print(
            f"{result.generated} responses from {result.model} into {result.dataset}"
            + (f" ({result.reused} already there)" if result.reused else "")
        ),
    )
