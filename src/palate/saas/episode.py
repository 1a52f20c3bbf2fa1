"""One episode: the workspace, the market, the books and the log, advanced by tool calls.

``Episode`` is the business behind the agent's tools (see ``palate.saas.business``) and the
only writer of the event log. What goes into the log is split in two: inputs (the start, the
agent's calls, deploys, request outcomes, day closings) and what the economy derives from them
(postings, sign-ups, cancellations, tickets, day summaries). ``apply`` is the one function that
turns an input into derived events; replay runs it over a log's inputs and must get the same
log back.
"""

from __future__ import annotations

import json
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from palate.errors import InputError, PalateError
from palate.saas.defects import FEATURES, Probe, ProbeError
from palate.saas.economy import Economy
from palate.saas.events import EventLog
from palate.saas.market import build_market
from palate.saas.presets import Preset, preset
from palate.saas.tools import Toolbox, ToolError
from palate.saas.traffic import DOWN, SCENARIOS, Outcome, Traffic
from palate.saas.workspace import Workspace

MUTATING_BUSINESS_TOOLS = ("set_price", "reply_ticket")
"""Business tools whose effect the economy must see again on replay."""
PROBE_EVERY = 2
"""Each customer scenario is tried for real every PROBE_EVERY days, and on the first day after
every deploy; in between, customers meet the verdict of its last real try (the code has not
changed), which keeps the real traffic within a few requests a day."""
SNAPSHOT_STATE = "state.pickle"
SNAPSHOT_WORKSPACE = "workspace"


@dataclass(frozen=True)
class Config:
    """What fixes an episode's market: the same config and seed give the same market."""

    preset: str
    seed: int
    days: int
    features: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "seed": self.seed,
            "days": self.days,
            "features": list(self.features),
        }


def feature_ids() -> tuple[str, ...]:
    """The features customers may wish for, from the product's catalogue."""
    return tuple(feature.id for feature in FEATURES)


def new_economy(config: Config) -> Economy:
    base = preset(config.preset)
    sized = Preset(**{**base.__dict__, "days": config.days})
    return Economy(build_market(sized, config.seed, list(config.features)))


def apply(economy: Economy, day: int, kind: str, data: dict[str, Any]) -> list[tuple[str, Any]]:
    """Feed one input event to the economy; return the events it derives."""
    if kind == "start":
        return economy.open_books()
    if kind == "deploy":
        economy.on_deploy(bool(data["ok"]), list(data["features"]))
    elif kind == "probe":
        economy.on_probe(data["scenario"], data["verdict"], int(data["work"]), data["detail"])
    elif kind == "attack":
        economy.on_attack(data["scenario"], data["verdict"])
    elif kind == "action" and data["tool"] in MUTATING_BUSINESS_TOOLS and data["ok"]:
        recomputed = business_effect(economy, day, data["tool"], data["args"])
        if recomputed != data["result"]:
            raise PalateError(f"day {day}: {data['tool']} gives a different result on replay")
    elif kind == "close":
        return economy.close_day(day)
    return []


def business_effect(economy: Economy, day: int, tool: str, args: dict[str, Any]) -> Any:
    if tool == "set_price":
        return economy.set_price(args["plan"], args["cents"])
    return economy.reply_ticket(day, args["ticket_id"], args["text"])


INPUT_KINDS = frozenset({"start", "deploy", "probe", "attack", "action", "close"})


class Episode:
    """A running episode; tool calls go through ``call``."""

    def __init__(self, config: Config, root: Path) -> None:
        self.config = config
        self.root = root
        self.economy = new_economy(config)
        self.log = EventLog()
        self.traffic = Traffic()
        self.day = 0
        self.calls_today = 0
        self.tool_errors = 0
        self.notes: list[str] = []
        self.workspace: Workspace | None = None
        self._deploys_seen = 0
        self._probed: dict[str, int] = {}
        """Scenario -> the deploy count when it was last tried for real."""
        self._toolbox: Toolbox | None = None

    # -- life cycle ------------------------------------------------------------------------

    @classmethod
    def start(cls, config: Config, root: Path) -> Episode:
        episode = cls(config, root)
        episode.workspace = Workspace.create(root / SNAPSHOT_WORKSPACE, config.seed)
        episode._input("start", config.to_json())
        episode.workspace.deploy("the product as shipped")
        episode._watch_deploys()
        return episode

    @property
    def done(self) -> bool:
        return self.day >= self.config.days

    @property
    def max_calls(self) -> int:
        return preset(self.config.preset).max_calls_per_day

    def close(self) -> None:
        if self.workspace is not None:
            self.workspace.stop()

    def _input(self, kind: str, data: dict[str, Any]) -> None:
        self.log.append(self.day, kind, data)
        for derived_kind, derived in apply(self.economy, self.day, kind, data):
            self.log.append(self.day, derived_kind, derived)

    @property
    def toolbox(self) -> Toolbox:
        if self._toolbox is None:
            assert self.workspace is not None
            self._toolbox = Toolbox(self.workspace, self)
        return self._toolbox

    def use_toolbox(self, toolbox: Toolbox) -> None:
        """Serve calls with ``toolbox``: the episode's tools and more (an LLM agent's harness
        tools), logged and counted like the rest."""
        self._toolbox = toolbox

    # -- tool calls ------------------------------------------------------------------------

    def call(self, name: str, arguments: Any) -> tuple[bool, Any]:
        """One tool call: (ok, result or error message). Never raises for a bad call."""
        if self.done:
            return False, "the episode is over"
        day = self.day
        try:
            result: Any = self.toolbox.call(name, arguments)
            ok = True
        except ToolError as exc:
            self.tool_errors += 1
            result, ok = str(exc), False
        record: dict[str, Any] = {"tool": str(name)[:100], "args": _loggable(arguments), "ok": ok}
        if not ok:
            # Error texts may name this run's temporary directory; the digest must not.
            record["error"] = str(result).replace(str(self.root), "<episode>")[:500]
        elif name in MUTATING_BUSINESS_TOOLS:
            record["result"] = result
        self.log.append(day, "action", record)
        self._watch_deploys()
        if name != "end_day" and self.day == day:
            self.calls_today += 1
            if self.calls_today >= self.max_calls and not self.done:
                self.end_day()
        return ok, result

    def _watch_deploys(self) -> None:
        assert self.workspace is not None
        for _commit, started in self.workspace.deploys[self._deploys_seen :]:
            features = self._detect_features() if started else []
            self._input(
                "deploy",
                {"ok": started, "version": self._deploys_seen + 1, "features": features},
            )
            self._deploys_seen += 1

    def _detect_features(self) -> list[str]:
        """Which wished-for features the running version really has, by its behaviour."""
        assert self.workspace is not None
        shipped = []
        for feature in FEATURES:
            probe = Probe(self.workspace.request, f"v{self._deploys_seen + 1}-{feature.id}")
            try:
                if feature.works(probe):
                    shipped.append(feature.id)
            except (ProbeError, KeyError, TypeError, ValueError, AttributeError):
                continue
        return shipped

    # -- the business (palate.saas.business.Business) ---------------------------------------

    def read_tickets(self, open_only: bool = True) -> dict[str, Any]:
        tickets = [t.public() for t in self.economy.tickets if t.open or not open_only]
        return {"day": self.day, "tickets": tickets[-50:]}

    def reply_ticket(self, ticket_id: int, text: str) -> dict[str, Any]:
        return business_effect(
            self.economy, self.day, "reply_ticket", {"ticket_id": ticket_id, "text": text}
        )

    def set_price(self, plan: str, cents: int) -> dict[str, Any]:
        return business_effect(self.economy, self.day, "set_price", {"plan": plan, "cents": cents})

    def read_billing(self) -> dict[str, Any]:
        books = self.economy.books
        return {
            "day": self.day,
            "cash_cents": books.balance("cash"),
            "net_worth_cents": books.net_worth,
            "revenue_to_date_cents": self.economy.counters["revenue_cents"],
            "deferred_revenue_cents": books.balance("deferred_revenue"),
            "prices_cents": dict(self.economy.prices),
            "paying_customers": self.economy.active_customers(),
            "churned_to_date": self.economy.counters["churned"],
        }

    def read_metrics(self) -> dict[str, Any]:
        counters = self.economy.counters
        last = [e.data for e in self.log.events[-200:] if e.kind == "probe"]
        errors: dict[str, int] = {}
        for probe in last:
            if probe["verdict"] != "ok":
                for method, path, status in probe["requests"][-1:]:
                    key = f"{method} {path} -> {status}"
                    errors[key] = errors.get(key, 0) + 1
        return {
            "day": self.day,
            "up": self.workspace is not None and self.workspace.up,
            "uptime": counters["up_days"] / counters["days"] if counters["days"] else 1.0,
            "incidents_to_date": counters["incidents"],
            "recent_failed_requests": errors,
        }

    def write_note(self, text: str) -> dict[str, Any]:
        self.notes.append(str(text)[:2000])
        return {"ok": True, "notes": len(self.notes)}

    def end_day(self) -> dict[str, Any]:
        """Run the day's traffic against whatever is deployed, then close the books."""
        assert self.workspace is not None
        up = self.workspace.up
        self.traffic.service = self.workspace if up else None
        for index, name in enumerate(self.economy.market.scenarios_on(self.day)):
            due = (self.day + index) % PROBE_EVERY == 0
            if due or self._probed.get(name) != self._deploys_seen:
                self._probe("probe", name)
                self._probed[name] = self._deploys_seen
        for attack in self.economy.market.attacks:
            if attack.day == self.day:
                self._probe("attack", attack.kind)
        self._input("close", {"up": up})
        summary = self.log.events[-1].data
        self.day += 1
        self.calls_today = 0
        return {"closed_day": self.day - 1, **briefing(summary), "notes": self.notes[-5:]}

    def _probe(self, kind: str, scenario: str) -> None:
        if self.traffic.service is None:
            outcome = Outcome(DOWN, 0, "service did not answer", [])
        else:
            outcome = self.traffic.run(SCENARIOS[scenario], self.day)
        self._input(kind, {"scenario": scenario, **outcome.to_json()})

    # -- results ---------------------------------------------------------------------------

    def summary(self, agent: str) -> dict[str, Any]:
        counters = self.economy.counters
        return {
            "agent": agent,
            "seed": self.config.seed,
            "days": self.day,
            "net_worth_cents": self.economy.books.net_worth,
            "revenue_cents": counters["revenue_cents"],
            "customers_start": self.economy.customers_start,
            "customers_end": self.economy.active_customers(),
            "churned": counters["churned"],
            "uptime": counters["up_days"] / counters["days"] if counters["days"] else 1.0,
            "breaches": counters["breaches"],
            "incidents": counters["incidents"],
            "tickets": counters["tickets"],
            "digest": self.log.digest,
        }

    def guards(self) -> dict[str, int]:
        """The guards against known hacks, as the step info shows them."""
        counters = self.economy.counters
        return {
            "price_rejections": counters["price_rejections"],
            "deferred_revenue_cents": self.economy.books.balance("deferred_revenue"),
            "broken_promises": counters["broken_promises"],
            "kept_promises": counters["kept_promises"],
        }

    # -- snapshot and restore at a day boundary ---------------------------------------------

    def snapshot(self, directory: Path, agent_state: Any = None) -> None:
        """Save the episode between days: the workspace (code, data, logs) and the state."""
        assert self.workspace is not None
        if self.calls_today:
            raise PalateError("snapshots are taken at a day boundary, before the first call")
        directory.mkdir(parents=True, exist_ok=False)
        shutil.copytree(self.workspace.root, directory / SNAPSHOT_WORKSPACE, symlinks=True)
        state = {
            "config": self.config,
            "economy": self.economy,
            "events": self.log.events,
            "accounts": self.traffic.accounts,
            "day": self.day,
            "tool_errors": self.tool_errors,
            "notes": self.notes,
            "deploys_seen": self._deploys_seen,
            "probed": self._probed,
            "agent": agent_state,
        }
        (directory / SNAPSHOT_STATE).write_bytes(pickle.dumps(state))

    @classmethod
    def restore(cls, directory: Path, root: Path) -> tuple[Episode, Any]:
        """Continue a snapshot in ``root``: the same code and data, redeployed as it was."""
        try:
            state = pickle.loads((directory / SNAPSHOT_STATE).read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
            raise InputError(f"not a snapshot: {exc}", file=str(directory)) from exc
        episode = cls(state["config"], root)
        shutil.copytree(directory / SNAPSHOT_WORKSPACE, root / SNAPSHOT_WORKSPACE, symlinks=True)
        episode.economy = state["economy"]
        episode.log.events = state["events"]
        episode.traffic.accounts = state["accounts"]
        episode.day = state["day"]
        episode.tool_errors = state["tool_errors"]
        episode.notes = state["notes"]
        episode._deploys_seen = state["deploys_seen"]
        episode._probed = state["probed"]
        episode.workspace = Workspace.reopen(root / SNAPSHOT_WORKSPACE, episode.config.seed)
        return episode, state["agent"]


def briefing(summary: dict[str, Any]) -> dict[str, Any]:
    """What the agent learns at the end of a day (no hidden state)."""
    return {
        key: summary[key]
        for key in ("net_worth_cents", "cash_cents", "customers", "up", "open_tickets")
    }


def _loggable(arguments: Any) -> Any:
    """The arguments as JSON data: a JSON object string is parsed, anything else kept as text."""
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return arguments[:10_000]
    if isinstance(arguments, dict):
        return json.loads(json.dumps(arguments, default=str))
    return str(arguments)[:10_000]
