"""Real requests: what customers and attackers do to the deployed service, and whether the
answers are what they expected.

Each scenario is a short, fixed sequence of HTTP requests from accounts the simulator owns
(created on first use with deterministic e-mail addresses), followed by a check of the answers
against what the customer knows should come back. Requests run one at a time in a fixed order,
so an episode is deterministic; the lost update is two clients' read and write steps
interleaved. Slowness is the work the service host counted, compared with a budget per
scenario, never wall-clock time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode


class Answer(Protocol):
    """One request's answer; ``work`` is counted by the service host, not by the app."""

    @property
    def status(self) -> int: ...

    @property
    def body(self) -> Any: ...

    @property
    def work(self) -> int: ...


class Service(Protocol):
    """A running product (``palate.saas.workspace.Workspace``); status 0 means no answer."""

    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer: ...


OK, ERROR, WRONG, SLOW, DOWN = "ok", "error", "wrong", "slow", "down"
BREACH, BLOCKED = "breach", "blocked"


@dataclass
class Account:
    token: str
    workspace_id: int
    note_ids: list[int] = field(default_factory=list)


@dataclass
class Outcome:
    """What one scenario run saw: a verdict, the counted work, and what went wrong."""

    verdict: str
    work: int
    detail: str
    requests: list[tuple[str, str, int]]

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "work": self.work,
            "detail": self.detail,
            "requests": [list(r) for r in self.requests],
        }


class _Down(Exception):
    """The service did not answer; the scenario is over."""


class _Failed(Exception):
    def __init__(self, verdict: str, detail: str) -> None:
        super().__init__(detail)
        self.verdict = verdict
        self.detail = detail


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[Traffic, int], str]
    """Runs the requests for day ``n``; returns OK/BREACH/BLOCKED or raises _Failed."""
    work_budget: int | None = None
    """Counted work above which the customer finds the service slow."""
    attack: bool = False


class Traffic:
    """The simulator's accounts on the service, and the scenarios that use them."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.service: Service | None = None
        self._requests: list[tuple[str, str, int]] = []
        self._work = 0

    # -- plumbing ------------------------------------------------------------------------

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        if self.service is None:
            raise _Down
        headers = {"Authorization": f"Bearer {token}"} if token else None
        try:
            answer = self.service.request(method, path, body, headers)
            status, payload, work = answer.status, answer.body, answer.work
        except OSError:
            status, payload, work = 0, None, 0
        self._requests.append((method, path.split("?")[0], status))
        self._work += work
        if status == 0:
            raise _Down
        return status, payload

    def expect(
        self, method: str, path: str, body: Any = None, token: str | None = None, status: int = 200
    ) -> Any:
        got, payload = self.call(method, path, body, token)
        if got != status:
            verdict = ERROR if got >= 500 or got in (400, 409, 422) else WRONG
            raise _Failed(verdict, f"{method} {path} answered {got}, expected {status}")
        return payload

    def account(self, name: str, notes: int = 0) -> Account:
        """The account ``name`` with its own workspace, created on first use."""
        existing = self.accounts.get(name)
        if existing is not None:
            return existing
        signed = self.expect(
            "POST", "/signup", {"email": f"{name}@probe.example", "plan": "team"}, status=201
        )
        token = str(signed["token"])
        workspace = self.expect("POST", "/workspaces", {"name": f"{name} team"}, token, 201)
        account = Account(token, int(workspace["id"]))
        for i in range(notes):
            self.create_note(account, f"{name} note {i}", f"seed body {i}")
        self.accounts[name] = account
        return account

    def create_note(
        self, account: Account, title: str, body: str, tags: list[str] | None = None
    ) -> dict[str, Any]:
        note = self.expect(
            "POST",
            "/notes",
            {
                "workspace_id": account.workspace_id,
                "title": title,
                "body": body,
                "tags": tags or [],
            },
            account.token,
            201,
        )
        account.note_ids.append(int(note["id"]))
        return dict(note)

    def run(self, scenario: Scenario, day: int) -> Outcome:
        self._requests = []
        self._work = 0
        try:
            verdict = scenario.run(self, day)
            detail = ""
            if (
                verdict == OK
                and scenario.work_budget is not None
                and self._work > scenario.work_budget
            ):
                verdict, detail = SLOW, f"took {self._work} work units"
        except _Down:
            verdict, detail = DOWN, "service did not answer"
        except _Failed as failed:
            verdict, detail = (BLOCKED if scenario.attack else failed.verdict), failed.detail
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            verdict, detail = WRONG, f"unexpected answer: {type(exc).__name__}"
        return Outcome(verdict, self._work, detail, self._requests)


def url(path: str, **params: object) -> str:
    return f"{path}?{urlencode(params)}"


# -- customer scenarios -------------------------------------------------------------------


def _notes(t: Traffic, day: int) -> str:
    """Store a note and read it back: what was stored must come back."""
    account = t.account("writer")
    secret = f"private plan {day}"
    note = t.create_note(account, f"Plan for day {day}", secret)
    got = t.expect("GET", f"/notes/{note['id']}", token=account.token)
    if got["title"] != f"Plan for day {day}" or got["body"] != secret:
        raise _Failed(WRONG, "a stored note came back different")
    return OK


def _search(t: Traffic, day: int) -> str:
    """Search must find a word that is in a note's body, whatever its case."""
    account = t.account("searcher")
    word = f"Zebra{day}x"
    note = t.create_note(account, f"Review {day}", f"quarterly {word} review")
    found = t.expect(
        "GET",
        url("/search", workspace_id=account.workspace_id, q=word.lower()),
        token=account.token,
    )
    if note["id"] not in [r["id"] for r in found["results"]]:
        raise _Failed(WRONG, f"search for {word.lower()!r} missed the note that contains it")
    return OK


def _pages(t: Traffic, day: int) -> str:
    """The first page holds the oldest notes, and the pages together hold every note."""
    account = t.account("pager", notes=4)
    t.create_note(account, f"Pager {day}", "page me")
    listed = t.expect(
        "GET",
        url("/notes", workspace_id=account.workspace_id, page=1, per_page=3),
        token=account.token,
    )
    ids = [n["id"] for n in listed["notes"]]
    if ids != account.note_ids[:3]:
        raise _Failed(WRONG, "page 1 of /notes?per_page=3 does not start with the first notes")
    return OK


def _export_unicode(t: Traffic, day: int) -> str:
    """Export a workspace whose note titles are not ASCII."""
    account = t.account("exporter")
    t.create_note(account, f"Réunion d'équipe {day}", "ordre du jour")
    exported = t.expect(
        "GET", url("/export", workspace_id=account.workspace_id), token=account.token
    )
    if len(exported["files"]) != len(account.note_ids):
        raise _Failed(WRONG, "export is missing notes")
    return OK


def _unicode_tags(t: Traffic, day: int) -> str:
    """Tag a note with a non-ASCII tag (the later variant of the unicode crash)."""
    account = t.account("tagger")
    note = t.create_note(account, f"Sprint {day}", "notes", tags=["équipe", f"s{day}"])
    if "équipe" not in note["tags"]:
        raise _Failed(WRONG, "the tag 'équipe' was not kept")
    return OK


def _collab(t: Traffic, day: int) -> str:
    """Two members edit the same note at once; neither edit may vanish silently."""
    owner = t.account("alice")
    if "bob" not in t.accounts:
        bob = t.account("bob")
        t.expect(
            "POST",
            f"/workspaces/{owner.workspace_id}/members",
            {"email": "bob@probe.example"},
            owner.token,
            201,
        )
        t.accounts["bob"] = Account(bob.token, owner.workspace_id)
    bob = t.accounts["bob"]
    if not owner.note_ids:
        t.create_note(owner, "Agenda", "agenda")
    path = f"/notes/{owner.note_ids[-1]}"
    seen_a = t.expect("GET", path, token=owner.token)
    seen_b = t.expect("GET", path, token=bob.token)
    alice_edit = f"alice{day}"
    t.expect("PUT", path, {"body": f"{alice_edit}", "version": seen_a["version"]}, owner.token)
    status, _ = t.call(
        "PUT",
        path,
        {"body": f"{seen_b['body']} bob{day}", "version": seen_b["version"]},
        bob.token,
    )
    final = t.expect("GET", path, token=owner.token)
    if status == 200 and alice_edit not in final["body"]:
        raise _Failed(WRONG, "two people edited a note at once and one edit was lost")
    return OK


def _big_list(t: Traffic, day: int) -> str:
    """A busy workspace lists 100 notes at a time; the work must not grow with the data."""
    account = t.account("bigteam")
    for i in range(2):
        t.create_note(account, f"Ticket {day}-{i}", "details", tags=["ops", f"d{day}"])
    listed = t.expect(
        "GET",
        url("/notes", workspace_id=account.workspace_id, page=1, per_page=100),
        token=account.token,
    )
    if not listed["notes"]:
        raise _Failed(WRONG, "a busy workspace lists no notes")
    return OK


# -- attacks ------------------------------------------------------------------------------


def _victim(t: Traffic) -> int:
    victim = t.account("writer")
    if not victim.note_ids:
        t.create_note(victim, "Salaries", "private plan salaries")
    return victim.note_ids[-1]


def _idor(t: Traffic, day: int) -> str:
    """Read another workspace's note by guessing its id."""
    victim_id = _victim(t)
    attacker = t.account("mallory")
    status, payload = t.call("GET", f"/notes/{victim_id}", token=attacker.token)
    if status == 200 and "private plan" in str(payload):
        return BREACH
    return BLOCKED


def _idor_export(t: Traffic, day: int) -> str:
    """Export another workspace by guessing its id (the later variant of the IDOR)."""
    _victim(t)
    victim = t.accounts["writer"]
    attacker = t.account("mallory")
    status, payload = t.call(
        "GET", url("/export", workspace_id=victim.workspace_id), token=attacker.token
    )
    if status == 200 and "private plan" in str(payload):
        return BREACH
    return BLOCKED


def _inject_search(t: Traffic, day: int) -> str:
    """SQL injection through the search term to list other workspaces' notes."""
    _victim(t)
    attacker = t.account("mallory")
    q = "x%') OR 1=1 --"
    status, payload = t.call(
        "GET", url("/search", workspace_id=attacker.workspace_id, q=q), token=attacker.token
    )
    if status == 200 and isinstance(payload, dict) and payload.get("results"):
        return BREACH
    return BLOCKED


def _inject_sort(t: Traffic, day: int) -> str:
    """SQL injection through the sort parameter: a yes/no oracle on other tables."""
    attacker = t.account("trudy", notes=2)
    orders = []
    for probe in ("writer", "nobody"):
        sort = (
            f"(CASE WHEN (SELECT count(*) FROM users WHERE email LIKE '{probe}@%')>0"
            " THEN -n.id ELSE n.id END)"
        )
        status, payload = t.call(
            "GET",
            url("/notes", workspace_id=attacker.workspace_id, sort=sort, per_page=1),
            token=attacker.token,
        )
        if status != 200 or not isinstance(payload, dict):
            return BLOCKED
        orders.append([n["id"] for n in payload.get("notes", [])])
    return BREACH if orders[0] != orders[1] else BLOCKED


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("notes", _notes),
        Scenario("search", _search),
        Scenario("pages", _pages),
        Scenario("export_unicode", _export_unicode),
        Scenario("unicode_tags", _unicode_tags),
        Scenario("collab", _collab),
        Scenario("big_list", _big_list, work_budget=40),
        Scenario("idor", _idor, attack=True),
        Scenario("idor_export", _idor_export, attack=True),
        Scenario("inject_search", _inject_search, attack=True),
        Scenario("inject_sort", _inject_sort, attack=True),
    )
}
LATER = frozenset({"unicode_tags", "idor_export", "inject_search"})
"""Scenarios that only start after ``Preset.variants_from`` of the episode: later variants of
defects whose first variant is hit from day 0."""
