"""Escalations as a studio project: the route stage hands the escalated items to raters in the
studio (``palate.studio.projects.create_project``), and the labels stage reads their answers
back (``export_project``) once every assignment is answered or skipped.

Until then the labels stage raises ``LabelsPending`` and is not recorded, so the loop stops
there with nothing half-done; ``palate loop run --resume`` later skips every finished stage
and reads the labels. The project is named by the route stage's fingerprint, so a rerun of a
route killed after creating it finds the same project instead of making a second.
"""

from __future__ import annotations

from palate.errors import InputError, PalateError
from palate.loop.config import StudioLabels
from palate.store import Store
from palate.store.studio import StudioStore
from palate.studio.projects import ProjectIn, create_project, export_project

AGENT = "palate.loop"


class LabelsPending(PalateError):
    """The studio raters have not finished the escalated items yet."""


def project_name(loop: str, fp: str) -> str:
    """The project of one route stage: the loop's name and the stage's fingerprint."""
    return f"{loop[:80]}-{fp[:12]}"


def open_project(
    store: Store, spec: StudioLabels, name: str, dataset: str, rubric: str | None
) -> int:
    """The id of project ``name`` of the items in ``dataset``, created if it does not exist."""
    studio = StudioStore(store)
    for project in studio.projects():
        if project.name == name:
            return project.id
    admin = studio.user_by_name(spec.admin)
    if admin is None or admin.role != "admin":
        raise InputError(f"no studio admin named {spec.admin!r}", field="labels.studio.admin")
    spec_in = ProjectIn(
        name=name,
        dataset=dataset,
        rubric=rubric,
        raters=spec.raters,
        overlap=spec.overlap,
        seed=spec.seed,
    )
    return create_project(studio, spec_in, admin.id)


def read_labels(store: Store, project_id: int, dataset: str) -> int:
    """Export the project's answers into ``dataset`` and return how many records it holds;
    ``LabelsPending`` while some assignment is still open."""
    studio = StudioStore(store)
    project = studio.project(project_id)
    if project is None:
        raise PalateError(f"the loop's studio project {project_id} no longer exists")
    progress = studio.progress(project_id)
    assigned = sum(p.assigned for p in progress)
    done = sum(p.done for p in progress)
    if done < assigned:
        raise LabelsPending(
            f"waiting for labels: studio project {project.name!r} has {done} of {assigned} "
            "assignments answered; run the loop again with --resume when the raters are done"
        )
    if studio.submission_count(project_id) == 0:  # every assignment skipped
        return 0
    export_project(studio, project_id, dataset, AGENT)
    return store.count(dataset)
