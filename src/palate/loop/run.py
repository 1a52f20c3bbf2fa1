"""One loop iteration, stage by stage, resumable (see ``palate.loop.stages``).

generate candidate and baseline -> judge the pairs (panel, swap) -> route (trusted or
escalated) -> human labels of the escalated -> truth (trusted verdicts plus the people's
majority) -> DPO on the truth -> generate from the new checkpoint -> judge it against the
baseline -> evaluate -> gate. Each stage writes its outputs to datasets or a checkpoint named
by its fingerprint and then one ledger record; a stage already recorded with its current
fingerprint is skipped, so a resumed run repeats no model call and no judge call.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rfc8785
import yaml

from palate.errors import PalateError
from palate.evals.evaluation import EvalSpec
from palate.evals.gate import GatePolicy, load_policy
from palate.evals.ledgered import POLICY_KIND, check_gate, register_policy, run_recorded_eval
from palate.generate import LocalGenerator, generate
from palate.generate.jobs import Generator, SamplingSettings
from palate.generate.prompts import load_prompts
from palate.judges.config import config_hash, load_judge_config
from palate.ledger import EntityRef, Ledger
from palate.loop.config import LoopConfig, ModelSpec
from palate.loop.judging import judge_tasks, load_judge
from palate.loop.labels import collect_labels, majority
from palate.loop.pairing import pair_generations
from palate.loop.routing import item_key, route
from palate.loop.stages import StageBook, fingerprint
from palate.loop.studio import LabelsPending, open_project, project_name, read_labels
from palate.rubric import load_rubric, rubric_version
from palate.schema import Comparison, Prompt
from palate.store import Store
from palate.store.rubrics import save_rubric
from palate.train.checkpoint import checkpoint_hash

if TYPE_CHECKING:
    from palate.scale import GeneratorPool

STAGES = (
    "generate-candidate",
    "generate-baseline",
    "judge",
    "route",
    "labels",
    "truth",
    "train",
    "generate-trained",
    "generate-eval-baseline",
    "judge-eval",
    "evaluate",
    "gate",
)
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class StageReport:
    stage: str
    fingerprint: str
    ran: bool
    seconds: float
    outputs: dict[str, Any]
    bookkeeping: float = 0.0  # of ``seconds``: finding the stage's record, writing it

    def to_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "fingerprint": self.fingerprint,
            "ran": self.ran,
            "seconds": round(self.seconds, 3),
            "bookkeeping_s": round(self.bookkeeping, 4),
            "outputs": self.outputs,
        }


@dataclass
class LoopResult:
    loop: str
    verdict: str
    reasons: list[str]
    stages: list[StageReport] = field(default_factory=list)
    summary: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "loop": self.loop,
            "verdict": self.verdict,
            "reasons": self.reasons,
            "stages": [s.to_json() for s in self.stages],
            "summary": None if self.summary is None else str(self.summary),
        }


def _prompts_hash(prompts: list[Prompt]) -> str:
    return fingerprint("prompts", [p.model_dump(mode="json") for p in prompts])


class LoopRunner:
    """Runs the stages of one ``LoopConfig`` against one store."""

    def __init__(
        self,
        config: LoopConfig,
        store: Store,
        *,
        resume: bool = False,
        progress: Progress | None = None,
        ray: str | None = None,
    ) -> None:
        self.config = config
        self.ray = ray  # generation and local judges on this Ray cluster (same outputs)
        self._pool: GeneratorPool | None = None  # generation actors, shared between stages
        self.store = store
        self.ledger = Ledger(store)
        self.book = StageBook(self.ledger, config.name)
        if self.book.any_finished() and not resume:
            raise PalateError(
                f"loop {config.name!r} has finished stages in this store: pass --resume to "
                "continue it (finished stages are skipped), or give the loop a new name"
            )
        self.progress = progress
        self.reports: list[StageReport] = []

    # -- bookkeeping -----------------------------------------------------------------------

    def _stage(
        self,
        stage: str,
        fp: str,
        body: Callable[[], tuple[dict[str, Any], list[EntityRef], list[EntityRef]]],
    ) -> dict[str, Any]:
        """Skip a stage finished with this fingerprint, else run and record it."""
        started = time.perf_counter()
        done = self.book.finished(stage, fp)
        looked_up = time.perf_counter()
        if done is not None:
            lookup = looked_up - started
            self.reports.append(StageReport(stage, fp, False, lookup, done, lookup))
            self._tick(stage, 1, 1)
            return done
        outputs, used, generated = body()
        worked = time.perf_counter()
        self.book.record(
            stage, fp, outputs, used=used, generated=generated, seconds=worked - started
        )
        finished = time.perf_counter()
        bookkeeping = (looked_up - started) + (finished - worked)
        self.reports.append(StageReport(stage, fp, True, finished - started, outputs, bookkeeping))
        return outputs

    def _tick(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def _dataset(self, what: str, fp: str) -> str:
        return f"{self.config.name}.{what}.{fp[:12]}"

    def _rows(self, dataset: str) -> EntityRef:
        return self.ledger.dataset_rows(dataset)

    # -- stages ----------------------------------------------------------------------------

    def _generate(
        self, stage: str, spec: ModelSpec, prompts: list[Prompt], ckpt_hash: str
    ) -> tuple[str, dict[str, Any]]:
        gen = self.config.generation
        settings = gen.model_dump(exclude={"device"})
        fp = fingerprint("generate", spec.name, ckpt_hash, _prompts_hash(prompts), settings)
        dataset = self._dataset("gen", fp)

        def body() -> tuple[dict[str, Any], list[EntityRef], list[EntityRef]]:
            generator: Generator
            if self.ray is None:
                generator = LocalGenerator(
                    spec.model, name=spec.name, batch_size=gen.batch_size, device=gen.device
                )
            else:
                from palate.scale import GeneratorPool, RayGenerator

                self._pool = self._pool or GeneratorPool(self.ray)
                generator = RayGenerator(
                    spec.model,
                    pool=self._pool,
                    name=spec.name,
                    batch_size=gen.batch_size,
                    device=gen.device,
                )
            try:
                result = generate(
                    self.store,
                    generator,
                    prompts,
                    dataset,
                    n=gen.n,
                    settings=SamplingSettings(
                        temperature=gen.temperature,
                        top_p=gen.top_p,
                        max_new_tokens=gen.max_new_tokens,
                        seed=gen.seed,
                    ),
                    progress=lambda done, total: self._tick(stage, done, total),
                )
            finally:
                generator.close()
            ckpt = EntityRef(kind="checkpoint", id=spec.name, hash=ckpt_hash)
            outputs = {**result.to_json(), "dataset": dataset}
            return outputs, [ckpt], [self._rows(dataset)]

        return fp, self._stage(stage, fp, body)

    def _judge(self, stage: str, candidate: str, baseline: str, fp: str) -> dict[str, Any]:
        config = self.config
        dataset = self._dataset("judged", fp)

        def body() -> tuple[dict[str, Any], list[EntityRef], list[EntityRef]]:
            self._release_pool()  # local judges need the cluster's slots
            rubric = load_rubric(config.rubric)
            version = save_rubric(self.store, rubric, config.rubric.read_text(encoding="utf-8"))
            judge = load_judge(config.judges, self.store, rubric, ray=self.ray)
            tasks = pair_generations(
                self.store.iter_generations(candidate),
                self.store.iter_generations(baseline),
                judge=judge.source.name,
                rubric=version,
            )
            outcome = judge_tasks(
                self.store,
                judge,
                tasks,
                dataset,
                swap=config.swap,
                concurrency=config.concurrency,
                progress=lambda done, total: self._tick(stage, done, total),
            )
            used = [self._rows(candidate), self._rows(baseline)]
            used.append(EntityRef(kind="rubric", id=version, hash=version))
            outputs = {"dataset": dataset, "judge": judge.source.name, **outcome.__dict__}
            return outputs, used, [self._rows(dataset)]

        return self._stage(stage, fp, body)

    def _judge_fp(self, *upstream: str) -> str:
        config = self.config
        rubric = rubric_version(load_rubric(config.rubric))
        judges = [config_hash(load_judge_config(p)) for p in config.judges]
        return fingerprint("judge", rubric, judges, config.swap, *upstream)

    def _verdicts(self, dataset: str) -> list[Comparison]:
        return [r for r in self.store.iter_records(dataset) if isinstance(r, Comparison)]

    def _route(self, judged: str, fp: str) -> dict[str, Any]:
        def body() -> tuple[dict[str, Any], list[EntityRef], list[EntityRef]]:
            verdicts = self._verdicts(judged)
            routing = route(self.store, verdicts, self.config.routing, self.config.generation.seed)
            queue = sorted(set(routing.escalated) | set(routing.audited))
            outputs: dict[str, Any] = {**routing.to_json(), "queue": queue}
            generated: list[EntityRef] = []
            studio = self.config.labels.studio
            wanted = set(queue)
            # a rater can only compare two responses with text (empty ones stay unlabelled)
            shown = [
                v for v in verdicts if item_key(v) in wanted and all(r.text for r in v.responses)
            ]
            if studio is not None and shown:
                dataset = self._dataset("escalated", fp)
                self.store.add_records(dataset, shown)
                rubric = rubric_version(load_rubric(self.config.rubric))
                name = project_name(self.config.name, fp)
                project = open_project(self.store, studio, name, dataset, rubric)
                outputs["studio_project"] = {"id": project, "name": name, "dataset": dataset}
                generated.append(self._rows(dataset))
            return outputs, [self._rows(judged)], generated

        return self._stage("route", fp, body)

    def _labels(self, judged: str, routing: dict[str, Any], fp: str) -> dict[str, Any]:
        dataset = self._dataset("human", fp)
        queue: list[str] = routing["queue"]

        def body() -> tuple[dict[str, Any], list[EntityRef], list[EntityRef]]:
            wanted = set(queue)
            items = [v for v in self._verdicts(judged) if item_key(v) in wanted]
            project = routing.get("studio_project")
            if project is not None:
                labels = read_labels(self.store, project["id"], dataset)
            else:
                labels = collect_labels(self.store, self.config.labels, items, dataset)
            outputs = {"dataset": dataset, "labels": labels, "items": len(items)}
            return outputs, [self._rows(judged)], [self._rows(dataset)]

        no_project = self.config.labels.studio is not None and "studio_project" not in routing
        if not queue or no_project:
            return {"dataset": None, "labels": 0, "items": 0}
        return self._stage("labels", fp, body)

    def _truth(
        self, judged: str, trusted_keys: set[str], human: str | None, fp: str
    ) -> dict[str, Any]:
        dataset = self._dataset("truth", fp)

        def body() -> tuple[dict[str, Any], list[EntityRef], list[EntityRef]]:
            by_item: dict[str, list[Comparison]] = {}
            if human is not None:
                for record in self.store.iter_records(human):
                    if isinstance(record, Comparison):
                        by_item.setdefault(item_key(record), []).append(record)
            truth: list[Comparison] = []
            from_people = 0
            for verdict in self._verdicts(judged):
                key = item_key(verdict)
                if key in by_item:
                    decided = majority(by_item[key])
                    if decided is not None:
                        truth.append(decided)
                        from_people += 1
                elif key in trusted_keys and verdict.unscored is None:
                    truth.append(verdict)
            if not truth:
                raise PalateError("truth inference left no decided item to train on")
            self.store.add_records(dataset, truth)
            outputs = {
                "dataset": dataset,
                "items": len(truth),
                "from_people": from_people,
                "from_judges": len(truth) - from_people,
            }
            used = [self._rows(judged)] + ([self._rows(human)] if human else [])
            return outputs, used, [self._rows(dataset)]

        return self._stage("truth", fp, body)

    def _train(self, truth: str, fp: str) -> dict[str, Any]:
        from palate.train.runner import run as train_run

        config = self.config
        out = config.work_dir / f"train-{fp[:12]}"

        def body() -> tuple[dict[str, Any], list[EntityRef], list[EntityRef]]:
            if out.exists():  # a run killed before it was recorded: start it again
                shutil.rmtree(out)
            out.mkdir(parents=True)
            spec = config.train
            train_file = out / "dpo.yaml"
            document = {
                "method": "dpo",
                "dataset": truth,
                "model": str(config.candidate.model),
                "output_dir": str(out),
                "seed": spec.seed,
                "beta": spec.beta,
                "train": {
                    "learning_rate": spec.learning_rate,
                    "epochs": spec.epochs,
                    "max_steps": spec.max_steps,
                    "batch_size": spec.batch_size,
                    "max_length": spec.max_length,
                    "logging_steps": 1,
                },
            }
            train_file.write_text(yaml.safe_dump(document), encoding="utf-8")
            result = train_run("dpo", train_file, db=self.store.url)
            outputs = {
                "checkpoint": str(result.checkpoint),
                "checkpoint_hash": result.checkpoint_hash,
                "run": result.run,
                "metrics": result.metrics,
            }
            return outputs, [self._rows(truth)], []

        return self._stage("train", fp, body)

    def _evaluate(self, judged: str, trained: ModelSpec, ckpt_hash: str, fp: str) -> dict[str, Any]:
        def body() -> tuple[dict[str, Any], list[EntityRef], list[EntityRef]]:
            ev = self.config.evaluate
            spec = EvalSpec(
                dataset=judged,
                candidate=trained.name,
                baseline=self.config.baseline.name,
                candidate_hash=ckpt_hash,
                alpha=ev.alpha,
                n_bootstrap=ev.n_bootstrap,
                seed=ev.seed,
                length_controlled=ev.length_controlled,
            )
            recorded = run_recorded_eval(self.store, self.ledger, spec)
            outputs = {"eval": recorded.run, "metrics": recorded.result.to_json()["metrics"]}
            return outputs, [], []

        return self._stage("evaluate", fp, body)

    def _register_gate(self) -> str:
        """Register the gate policy before anything is evaluated (again only if it changed)."""
        return register_policy_once(self.ledger, load_policy(self.config.gate))

    def _gate(self, policy: str, run: str, fp: str) -> dict[str, Any]:
        def body() -> tuple[dict[str, Any], list[EntityRef], list[EntityRef]]:
            checked = check_gate(self.ledger, policy, run)
            return checked.to_json(), [], []

        return self._stage("gate", fp, body)

    # -- the iteration ---------------------------------------------------------------------

    def run(self) -> LoopResult:
        """Run (or resume) the iteration; verdict ``waiting`` when it stopped at the labels
        stage for studio raters who have not finished (run again with resume later)."""
        try:
            return self._run()
        except LabelsPending as pending:
            return LoopResult(self.config.name, "waiting", [str(pending)], self.reports)
        finally:
            self._release_pool()

    def _release_pool(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _run(self) -> LoopResult:
        config = self.config
        prompts = load_prompts(self.store, config.prompts)
        eval_prompts = (
            prompts
            if config.eval_prompts is None
            else load_prompts(self.store, config.eval_prompts)
        )
        cand_hash = checkpoint_hash(config.candidate.model)
        base_hash = checkpoint_hash(config.baseline.model)
        policy = self._register_gate()

        fp_cand, cand = self._generate("generate-candidate", config.candidate, prompts, cand_hash)
        fp_base, base = self._generate("generate-baseline", config.baseline, prompts, base_hash)
        fp_judge = self._judge_fp(fp_cand, fp_base)
        judged = self._judge("judge", cand["dataset"], base["dataset"], fp_judge)["dataset"]

        fp_route = fingerprint("route", config.routing.model_dump(mode="json"), fp_judge)
        routing = self._route(judged, fp_route)
        fp_labels = fingerprint("labels", config.labels.model_dump(mode="json"), fp_route)
        labels = self._labels(judged, routing, fp_labels)
        trusted = set(_trusted_keys(self._verdicts(judged), routing))
        fp_truth = fingerprint("truth", fp_labels)
        truth = self._truth(judged, trusted, labels["dataset"], fp_truth)

        fp_train = fingerprint("train", config.train.model_dump(mode="json"), cand_hash, fp_truth)
        trained = self._train(truth["dataset"], fp_train)
        new_spec = ModelSpec(
            model=Path(trained["checkpoint"]),
            name=f"{config.candidate.name}+dpo-{trained['checkpoint_hash'][:8]}",
        )
        fp_new, new = self._generate(
            "generate-trained", new_spec, eval_prompts, trained["checkpoint_hash"]
        )
        fp_base_eval, base_eval = self._generate(
            "generate-eval-baseline", config.baseline, eval_prompts, base_hash
        )
        fp_judge_eval = self._judge_fp(fp_new, fp_base_eval)
        judged_eval = self._judge("judge-eval", new["dataset"], base_eval["dataset"], fp_judge_eval)
        fp_eval = fingerprint(
            "evaluate", config.evaluate.model_dump(mode="json"), policy, fp_judge_eval
        )
        evaluated = self._evaluate(
            judged_eval["dataset"], new_spec, trained["checkpoint_hash"], fp_eval
        )
        policy_name = load_policy(config.gate).name
        gate = self._gate(policy_name, evaluated["eval"], fingerprint("gate", fp_eval))
        return LoopResult(config.name, gate["verdict"], gate["reasons"], self.reports)


def _trusted_keys(verdicts: list[Comparison], routing: dict[str, Any]) -> list[str]:
    queued = set(routing["queue"])
    return [item_key(v) for v in verdicts if item_key(v) not in queued]


def register_policy_once(ledger: Ledger, policy: GatePolicy) -> str:
    """Register ``policy`` unless its latest registration has the same content; return the
    content hash of the registered policy (as ``register_policy`` computes it)."""
    digest = hashlib.sha256(rfc8785.dumps(policy.model_dump(mode="json"))).hexdigest()
    latest = None
    for entry in ledger.find(POLICY_KIND, policy.name):
        for ref in entry.record.get("generated", []):
            if ref.get("kind") == POLICY_KIND:
                latest = ref["hash"]
    if latest != digest:
        register_policy(ledger, policy)
    return digest
