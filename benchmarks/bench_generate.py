"""Generation throughput of ``palate generate`` against a bare transformers loop, and the
loop's bookkeeping per stage.

    python benchmarks/bench_generate.py [--quick]

Model: the tiny GPT-2 of the tests (palate.testing.tiny, about 100k parameters, built here).
Prompts: 256 (--quick: 32) short word prompts; 32 new tokens each, temperature 1, batches of
32, CPU. palate's side is ``palate.generate.generate`` into a SQLite store (batched generate,
decoding, Generation records, one transaction per batch, the ledger record); the baseline is a
bare loop over the same batches calling ``model.generate`` and decoding, storing nothing.
Both load the model before the clock starts. Tokens per second, and palate's rate as a
multiple of the baseline's (target: at least 0.8).

Bookkeeping: one loop iteration (tiny models, loopback judge, simulated raters) is run, then
run again with --resume: the second run does only bookkeeping (reading the ledger,
fingerprints, checkpoint hashes, prompts) and skips every stage. Per stage of the full run:
its seconds, and of them its own bookkeeping (finding its ledger record and writing the new
one); then seconds per stage of each run, and the resumed run's time over the full run's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from tests.loop.conftest import write_loop  # noqa: E402

from palate.generate import LocalGenerator, generate  # noqa: E402
from palate.generate.jobs import SamplingSettings  # noqa: E402
from palate.loop import LoopRunner, load_loop  # noqa: E402
from palate.loop.run import LoopResult  # noqa: E402
from palate.schema import Prompt  # noqa: E402
from palate.store import Store  # noqa: E402
from palate.testing.loopback import LoopbackServer, Script  # noqa: E402
from palate.testing.tiny import WORDS, build_tiny_model  # noqa: E402

BATCH = 32
NEW_TOKENS = 32


def prompts(n: int) -> list[Prompt]:
    return [
        Prompt(text=" ".join(WORDS[(i + k) % len(WORDS)] for k in range(3 + i % 4)))
        for i in range(n)
    ]


def bare_loop(model_dir: Path, chosen: list[Prompt]) -> tuple[int, float]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    tokens = 0
    started = time.perf_counter()
    for start in range(0, len(chosen), BATCH):
        texts = [p.text or "" for p in chosen[start : start + BATCH]]
        encoded = tokenizer(texts, return_tensors="pt", padding=True)
        torch.manual_seed(start)
        with torch.no_grad():
            out = model.generate(
                **encoded,
                do_sample=True,
                temperature=1.0,
                top_k=0,
                max_new_tokens=NEW_TOKENS,
                pad_token_id=tokenizer.pad_token_id,
            )
        new = out[:, encoded["input_ids"].shape[1] :].tolist()
        for row in new:
            kept = (
                row[: row.index(tokenizer.eos_token_id)] if tokenizer.eos_token_id in row else row
            )
            tokens += len(kept)
            tokenizer.decode(kept, skip_special_tokens=True)
    return tokens, time.perf_counter() - started


def palate_generate(model_dir: Path, chosen: list[Prompt], url: str) -> tuple[int, float]:
    generator = LocalGenerator(model_dir, batch_size=BATCH, device="cpu")
    with Store(url) as store:
        started = time.perf_counter()
        result = generate(
            store,
            generator,
            chosen,
            "bench",
            settings=SamplingSettings(temperature=1.0, max_new_tokens=NEW_TOKENS, seed=0),
        )
        return result.completion_tokens, time.perf_counter() - started


def bookkeeping(folder: Path, models: tuple[Path, Path]) -> tuple[float, float, LoopResult]:
    with LoopbackServer(Script(verdict="longer")) as server:
        loop = load_loop(write_loop(folder / "loop", models, server.base_url))
        url = f"sqlite:///{folder / 'loop.db'}"
        with Store(url) as store:
            started = time.perf_counter()
            result = LoopRunner(loop, store).run()
            full = time.perf_counter() - started
        with Store(url) as store:
            started = time.perf_counter()
            LoopRunner(loop, store, resume=True).run()
            resumed = time.perf_counter() - started
    return full, resumed, result


def per_stage(result: LoopResult) -> None:
    """Each stage's time in the full run and the part of it that is the stage's own
    bookkeeping (finding its ledger record, writing the new one)."""
    print(f"{'stage':<24}{'seconds':>9}{'bookkeeping':>13}{'share':>8}")
    for s in result.stages:
        share = s.bookkeeping / s.seconds if s.seconds else 0.0
        print(f"{s.stage:<24}{s.seconds:>9.3f}{s.bookkeeping:>13.4f}{share:>8.1%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    chosen = prompts(32 if args.quick else 256)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = build_tiny_model(folder / "candidate", seed=0)
        baseline = build_tiny_model(folder / "baseline", seed=1)
        bare_tokens, bare_s = bare_loop(model, chosen)
        ours_tokens, ours_s = palate_generate(model, chosen, f"sqlite:///{folder / 'g.db'}")
        bare_rate, ours_rate = bare_tokens / bare_s, ours_tokens / ours_s
        print(f"prompts {len(chosen)}, {NEW_TOKENS} new tokens, batches of {BATCH}, CPU, 1 thread")
        print(
            f"bare transformers loop: {bare_tokens} tokens in {bare_s:.2f} s "
            f"= {bare_rate:,.0f} tokens/s"
        )
        print(
            f"palate generate:        {ours_tokens} tokens in {ours_s:.2f} s "
            f"= {ours_rate:,.0f} tokens/s"
        )
        print(f"palate / bare: {ours_rate / bare_rate:.2f} (target >= 0.8)")
        full, resumed, result = bookkeeping(folder, (model, baseline))
        stages = len(result.stages)
        per_stage(result)
        print(
            f"loop: {stages} stages, full run {full:.2f} s ({full / stages:.2f} s/stage); "
            f"resumed, bookkeeping only: {resumed:.2f} s ({resumed / stages:.3f} s/stage); "
            f"bookkeeping / full = {resumed / full:.3f}"
        )


if __name__ == "__main__":
    main()
