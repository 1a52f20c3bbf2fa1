"""The catalogue of the product's planted defects and wished-for features.

Each defect has a kind, one or more variants (the same root cause reached by a different
input; the first is what customers meet first, the later ones come back later in an episode),
a reference fix that removes the root cause and a symptom patch that fixes only the first
variant. Each feature has a patch that implements it. Patches live in ``palate/saas/fixes/``,
inside palate's own package, which contained product code can never read.

Every variant and feature comes with a probe: a short scenario of real HTTP requests against a
deployed service that says whether the defect shows (or the feature works). The probes are
how the tests prove each patch does what it says, and the simulator can reuse them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, Protocol

from palate.saas.sandbox import Reply

Kind = Literal["crash", "wrong-result", "lost-update", "slow", "security"]


class Requester(Protocol):
    """Anything that sends a request to the service, e.g. ``Workspace.request``."""

    def __call__(
        self,
        method: str,
        path: str,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply: ...


class Probe:
    """Sets up users, workspaces and notes for one scenario; ``tag`` keeps its e-mails apart
    from everyone else's on the same service."""

    def __init__(self, request: Requester, tag: str) -> None:
        self.request = request
        self.tag = tag

    def user(self, name: str) -> dict[str, str]:
        """Sign a user up; the Authorization header for them."""
        reply = self.request(
            "POST", "/signup", {"email": f"{self.tag}-{name}@probe.example", "plan": "team"}
        )
        if reply.status != 201:
            raise ProbeError(f"sign-up failed: {reply.status} {reply.body}")
        return {"Authorization": f"Bearer {reply.body['token']}"}

    def workspace(self, auth: dict[str, str]) -> int:
        reply = self.request("POST", "/workspaces", {"name": f"{self.tag} team"}, auth)
        if reply.status != 201:
            raise ProbeError(f"creating a workspace failed: {reply.status} {reply.body}")
        return int(reply.body["id"])

    def note(
        self,
        auth: dict[str, str],
        workspace_id: int,
        title: str,
        body: str = "",
        tags: list[str] | None = None,
    ) -> int:
        payload = {"workspace_id": workspace_id, "title": title, "body": body, "tags": tags or []}
        reply = self.request("POST", "/notes", payload, auth)
        if reply.status != 201:
            raise ProbeError(f"creating a note failed: {reply.status} {reply.body}")
        return int(reply.body["id"])


class ProbeError(Exception):
    """The scenario could not even be set up (the service is down or broken elsewhere)."""


Check = Callable[[Probe], bool]


@dataclass(frozen=True)
class Variant:
    """One way to run into a defect."""

    id: str
    trigger: str
    """The request that shows it, in words (for tickets and scenarios)."""
    expected: str
    """What a correct service answers."""
    shows: Check
    """True when the defect shows on the service."""


@dataclass(frozen=True)
class Defect:
    id: str
    kind: Kind
    title: str
    variants: tuple[Variant, ...]
    """In the order they appear in an episode: the first is reported first."""

    @property
    def fix_patch(self) -> str:
        """The reference fix: removes the root cause (every variant)."""
        return _patch(f"defect-{self.id}")

    @property
    def symptom_patch(self) -> str:
        """A patch of exactly the first variant's input (the reference fix when there is
        only one variant)."""
        name = f"defect-{self.id}.symptom"
        return _patch(name) if len(self.variants) > 1 else self.fix_patch


@dataclass(frozen=True)
class Feature:
    id: str
    title: str
    ask: str
    """What customers ask for, in their words."""
    proof: str
    """The request that shows it shipped."""
    works: Check
    """True when the feature works on the service."""

    @property
    def patch(self) -> str:
        return _patch(f"feature-{self.id}")


def _patch(name: str) -> str:
    return (resources.files("palate.saas") / "fixes" / f"{name}.patch").read_text()


# -- the checks -------------------------------------------------------------------------------


def _export_of_accented_title(p: Probe) -> bool:
    auth = p.user("writer")
    ws = p.workspace(auth)
    p.note(auth, ws, "Café olé", "menu")
    return p.request("GET", f"/export?workspace_id={ws}", None, auth).status != 200


def _accented_tag(p: Probe) -> bool:
    auth = p.user("tagger")
    ws = p.workspace(auth)
    payload = {"workspace_id": ws, "title": "Reading list", "tags": ["naïve"]}
    return p.request("POST", "/notes", payload, auth).status != 201


def _first_page(p: Probe) -> bool:
    auth = p.user("pager")
    ws = p.workspace(auth)
    ids = [p.note(auth, ws, f"note {i}") for i in range(3)]
    reply = p.request("GET", f"/notes?workspace_id={ws}&page=1&per_page=2", None, auth)
    if reply.status != 200:
        return True
    return [n["id"] for n in reply.body["notes"]] != ids[:2]


def _stale_write_accepted(p: Probe) -> bool:
    auth = p.user("editor")
    ws = p.workspace(auth)
    note = p.note(auth, ws, "Agenda", "v1")
    first = p.request("GET", f"/notes/{note}", None, auth).body
    second = p.request("GET", f"/notes/{note}", None, auth).body
    p.request("PUT", f"/notes/{note}", {"body": "from A", "version": first["version"]}, auth)
    late = p.request(
        "PUT", f"/notes/{note}", {"body": "from B", "version": second["version"]}, auth
    )
    return late.status == 200  # B overwrote A's edit without seeing it


def _list_work_grows_per_note(p: Probe) -> bool:
    auth = p.user("lister")
    ws = p.workspace(auth)
    for i in range(41):
        p.note(auth, ws, f"item {i}", tags=["x"])
    one = p.request("GET", f"/notes?workspace_id={ws}&per_page=1", None, auth)
    twenty = p.request("GET", f"/notes?workspace_id={ws}&per_page=20", None, auth)
    return twenty.work - one.work >= 10  # a statement per listed note


def _stranger_reads_note(p: Probe) -> bool:
    owner, stranger = p.user("owner"), p.user("stranger")
    note = p.note(owner, p.workspace(owner), "Salaries", "confidential")
    return p.request("GET", f"/notes/{note}", None, stranger).status == 200


def _stranger_exports(p: Probe) -> bool:
    owner, stranger = p.user("owner"), p.user("stranger")
    ws = p.workspace(owner)
    p.note(owner, ws, "Salaries", "confidential")
    return p.request("GET", f"/export?workspace_id={ws}", None, stranger).status == 200


INJECTED_SORT = "(SELECT count(*) FROM users)"
INJECTED_QUERY = "zz') UNION SELECT id, 0, 0, email, plan, 0 FROM users --"


def _sort_is_injectable(p: Probe) -> bool:
    auth = p.user("sorter")
    ws = p.workspace(auth)
    p.note(auth, ws, "a")
    path = f"/notes?workspace_id={ws}&sort={_quote(INJECTED_SORT)}"
    return p.request("GET", path, None, auth).status == 200  # SQL accepted as a sort key


def _search_leaks_users(p: Probe) -> bool:
    auth = p.user("searcher")
    ws = p.workspace(auth)
    p.note(auth, ws, "a")
    reply = p.request("GET", f"/search?workspace_id={ws}&q={_quote(INJECTED_QUERY)}", None, auth)
    results = reply.body.get("results", []) if isinstance(reply.body, dict) else []
    return any("@" in str(r.get("title", "")) for r in results)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


DEFECTS: tuple[Defect, ...] = (
    Defect(
        "unicode-slug",
        "crash",
        "Non-ASCII text crashes slug making (export file names, tags)",
        (
            Variant(
                "unicode-slug/export-title",
                'GET /export?workspace_id=W for a workspace with a note titled "Café olé"',
                "200 with a file named cafe-ole-<id>.md",
                _export_of_accented_title,
            ),
            Variant(
                "unicode-slug/tag",
                'POST /notes with tags ["naïve"]',
                "201 with the tag kept",
                _accented_tag,
            ),
        ),
    ),
    Defect(
        "pagination-offset",
        "wrong-result",
        "Page 1 of GET /notes skips the first page of notes",
        (
            Variant(
                "pagination-offset/first-page",
                "GET /notes?workspace_id=W&page=1&per_page=2 with 3 notes",
                "the two oldest notes",
                _first_page,
            ),
        ),
    ),
    Defect(
        "lost-update",
        "lost-update",
        "PUT /notes/{id} ignores the version it was read at, so concurrent edits are lost",
        (
            Variant(
                "lost-update/concurrent-edit",
                "two clients GET a note at version 1, both PUT with version 1",
                "the second PUT gets 409 Conflict",
                _stale_write_accepted,
            ),
        ),
    ),
    Defect(
        "n-plus-one",
        "slow",
        "GET /notes runs one query per listed note for its tags",
        (
            Variant(
                "n-plus-one/list",
                "GET /notes?workspace_id=W&per_page=20 on a workspace with many notes",
                "work that does not grow with the number of notes on the page",
                _list_work_grows_per_note,
            ),
        ),
    ),
    Defect(
        "idor",
        "security",
        "Other workspaces' notes are readable by any signed-in user",
        (
            Variant(
                "idor/get-note",
                "GET /notes/{id} of a note in someone else's workspace",
                "404",
                _stranger_reads_note,
            ),
            Variant(
                "idor/export",
                "GET /export?workspace_id=W of someone else's workspace",
                "404",
                _stranger_exports,
            ),
        ),
    ),
    Defect(
        "sql-injection",
        "security",
        "Query parameters are pasted into SQL",
        (
            Variant(
                "sql-injection/sort",
                f"GET /notes?workspace_id=W&sort={INJECTED_SORT}",
                "400: sort must be a column name",
                _sort_is_injectable,
            ),
            Variant(
                "sql-injection/search",
                f"GET /search?workspace_id=W&q={INJECTED_QUERY}",
                "200 with no results (and no other users' e-mails)",
                _search_leaks_users,
            ),
        ),
    ),
)


def _tag_filter(p: Probe) -> bool:
    auth = p.user("filter")
    ws = p.workspace(auth)
    p.note(auth, ws, "apples", tags=["red"])
    p.note(auth, ws, "sky", tags=["blue"])
    reply = p.request("GET", f"/notes?workspace_id={ws}&tag=red", None, auth)
    return reply.status == 200 and reply.body.get("total") == 1


def _markdown_export(p: Probe) -> bool:
    auth = p.user("md")
    ws = p.workspace(auth)
    p.note(auth, ws, "Plan", "ship it")
    reply = p.request("GET", f"/export?workspace_id={ws}&format=markdown", None, auth)
    return reply.status == 200 and isinstance(reply.body, str) and "## Plan" in reply.body


def _note_history(p: Probe) -> bool:
    auth = p.user("historian")
    note = p.note(auth, p.workspace(auth), "Draft", "first words")
    p.request("PUT", f"/notes/{note}", {"body": "second words"}, auth)
    reply = p.request("GET", f"/notes/{note}/history", None, auth)
    if reply.status != 200 or not isinstance(reply.body, dict):
        return False
    return [v["body"] for v in reply.body.get("versions", [])] == ["first words", "second words"]


def _bulk_delete(p: Probe) -> bool:
    auth = p.user("cleaner")
    ws = p.workspace(auth)
    gone, kept = p.note(auth, ws, "old"), p.note(auth, ws, "keep")
    reply = p.request("POST", "/notes/bulk-delete", {"ids": [gone]}, auth)
    return (
        reply.status == 200
        and p.request("GET", f"/notes/{gone}", None, auth).status == 404
        and p.request("GET", f"/notes/{kept}", None, auth).status == 200
    )


def _pinned_notes(p: Probe) -> bool:
    auth = p.user("pinner")
    ws = p.workspace(auth)
    p.note(auth, ws, "other")
    note = p.note(auth, ws, "important")
    if p.request("POST", f"/notes/{note}/pin", None, auth).status != 200:
        return False
    reply = p.request("GET", f"/pinned?workspace_id={ws}", None, auth)
    return reply.status == 200 and [n["id"] for n in reply.body.get("notes", [])] == [note]


def _comments(p: Probe) -> bool:
    auth = p.user("commenter")
    note = p.note(auth, p.workspace(auth), "Proposal")
    added = p.request("POST", f"/notes/{note}/comments", {"body": "+1"}, auth)
    listed = p.request("GET", f"/notes/{note}/comments", None, auth)
    return (
        added.status == 201 and listed.status == 200 and [c["body"] for c in listed.body] == ["+1"]
    )


FEATURES: tuple[Feature, ...] = (
    Feature(
        "tag-filter",
        "Filter notes by tag",
        "let me list only the notes with one tag",
        "GET /notes?workspace_id=W&tag=T counts only notes tagged T",
        _tag_filter,
    ),
    Feature(
        "markdown-export",
        "Markdown export",
        "export our workspace as a Markdown file",
        "GET /export?workspace_id=W&format=markdown answers text/markdown",
        _markdown_export,
    ),
    Feature(
        "note-history",
        "Note history",
        "show me earlier versions of a note",
        "GET /notes/{id}/history lists every version",
        _note_history,
    ),
    Feature(
        "bulk-delete",
        "Bulk delete",
        "delete many notes at once",
        "POST /notes/bulk-delete {ids}",
        _bulk_delete,
    ),
    Feature(
        "pinned-notes",
        "Pinned notes",
        "pin important notes so we find them first",
        "POST /notes/{id}/pin, then GET /pinned?workspace_id=W",
        _pinned_notes,
    ),
    Feature(
        "comments",
        "Comments",
        "let us discuss a note with comments",
        "POST and GET /notes/{id}/comments",
        _comments,
    ),
)


def defect(defect_id: str) -> Defect:
    for item in DEFECTS:
        if item.id == defect_id:
            return item
    raise KeyError(defect_id)


def feature(feature_id: str) -> Feature:
    for item in FEATURES:
        if item.id == feature_id:
            return item
    raise KeyError(feature_id)
