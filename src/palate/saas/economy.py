"""The business: customers' satisfaction, billing, churn, tickets and the books.

The economy is a pure fold over the episode's input events (request outcomes, deploys, the
agent's business actions, day closings). Run live, it is fed as things happen; replayed, it is
fed the same events from the log and must produce the same derived events (postings, sign-ups,
cancellations, tickets, day summaries) -- that is how replay recomputes the books from the log
alone. Its only randomness is the named stream ``tickets``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from palate.saas.books import Books
from palate.saas.market import ATTACKS, LIST_PRICES, Market, Profile
from palate.saas.rng import stream
from palate.saas.traffic import BLOCKED, BREACH, DOWN, ERROR, OK, SLOW, WRONG

PENALTY = {ERROR: 0.04, WRONG: 0.05, SLOW: 0.02}
"""Satisfaction lost when a scenario the customer uses that day ends in this verdict."""
DOWN_PENALTY = 0.2
BREACH_PENALTY = 0.05
BREACH_PENALTY_SENSITIVE = 0.2
RECOVERY_PER_DAY = 0.02
TICKET_PROBABILITY = 0.1
FEATURE_ASK_PROBABILITY = 0.02
"""Chance per day that a customer asks for a wished feature that has not shipped (once)."""
PRICE_CHURN_PER_DAY = 0.2
BREACH_COST_CENTS = 10_000
BREACH_COST_PER_CUSTOMER_CENTS = 100
"""A breach costs a fixed response plus a notice to every paying customer."""
HOSTING_CENTS_PER_DAY = 300
WORK_PER_CENT = 400
"""Counted work units that cost one cent of compute."""
PRICE_BOUNDS = (0.25, 4.0)
"""Prices the agent may set, as multiples of the list price (the absurd-price guard)."""
PROMISE = re.compile(r"\b(fixed|will fix|we'?ll fix|resolved|shipped|deployed a fix)\b", re.I)
PROMISE_DAYS = 3
"""Days within which a promised fix must show, or the promise counts as broken."""


@dataclass
class Customer:
    profile: Profile
    satisfaction: float = 1.0
    active: bool = True
    deferred_left: int = 0
    days_left: int = 0
    bill_offset: int = 0
    billed_price: int = 0
    """The plan price on the customer's last bill: a rise is noticed when it is billed."""
    asked: set[str] = field(default_factory=set)
    """Features this customer has asked for in a ticket."""


@dataclass
class Ticket:
    id: int
    day: int
    customer: int
    topic: str
    text: str
    open: bool = True
    reply: str | None = None
    promise_due: int | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "day": self.day,
            "customer": f"c{self.customer}",
            "topic": self.topic,
            "text": self.text,
            "open": self.open,
            "reply": self.reply,
        }


TICKET_TEXT = {
    DOWN: "The service is down, nothing loads.",
    ERROR: "Something crashes: {detail}.",
    WRONG: "I get the wrong answer: {detail}.",
    SLOW: "It has become very slow ({detail}).",
    BREACH: "I think someone outside our team saw our data ({detail}).",
}


@dataclass
class Economy:
    market: Market
    books: Books = field(default_factory=Books)
    prices: dict[str, int] = field(default_factory=lambda: dict(LIST_PRICES))
    customers: dict[int, Customer] = field(default_factory=dict)
    tickets: list[Ticket] = field(default_factory=list)
    features: frozenset[str] = frozenset()
    up: bool = False
    verdicts: dict[str, str] = field(default_factory=dict)
    work: dict[str, int] = field(default_factory=dict)
    attacks: list[tuple[str, str]] = field(default_factory=list)
    last_verdicts: dict[str, str] = field(default_factory=dict)
    last_breach_day: int = -100
    counters: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            (
                "breaches",
                "incidents",
                "tickets",
                "churned",
                "signups",
                "up_days",
                "days",
                "broken_promises",
                "kept_promises",
                "price_rejections",
                "revenue_cents",
            ),
            0,
        )
    )
    customers_start: int = 0
    details: dict[str, str] = field(default_factory=dict)
    """The failing request behind each scenario's verdict today (what a customer would tell)."""

    def __post_init__(self) -> None:
        self.rng = stream(self.market.seed, "tickets")

    # -- the start ------------------------------------------------------------------------

    def open_books(self) -> list[tuple[str, dict[str, Any]]]:
        """Starting cash and the customers already there on day 0."""
        posting = self.books.post(
            0, "cash", "owner_equity", self.market.preset.starting_cash_cents, "starting cash"
        )
        prepaid = 0
        for profile in self.market.customers:
            if profile.arrives < 0:
                # Billed before day 0 for a month that ends on their next billing day.
                days_left = profile.bill_offset
                left = self.prices[profile.plan] * days_left // 30
                self.customers[profile.id] = Customer(
                    profile,
                    deferred_left=left,
                    days_left=days_left,
                    bill_offset=days_left,
                    billed_price=self.prices[profile.plan],
                )
                prepaid += left
        self.customers_start = len(self.customers)
        prepay = self.books.post(0, "cash", "deferred_revenue", prepaid, "prepaid before day 0")
        return [("posting", posting.to_json()), ("posting", prepay.to_json())]

    # -- inputs -----------------------------------------------------------------------------

    def on_deploy(self, ok: bool, features: list[str]) -> None:
        self.up = ok
        if ok:
            self.features = frozenset(features)

    def on_probe(self, scenario: str, verdict: str, work: int, detail: str) -> None:
        self.verdicts[scenario] = verdict
        self.work[scenario] = work
        self.details[scenario] = detail

    def on_attack(self, kind: str, verdict: str) -> None:
        self.attacks.append((kind, verdict))

    def set_price(self, plan: str, cents: int) -> dict[str, Any]:
        """The agent's price change, refused outside the bounds (guard ``price_bounds``)."""
        if plan not in LIST_PRICES:
            return {"ok": False, "error": f"no plan {plan!r}; plans: {', '.join(LIST_PRICES)}"}
        low, high = (round(LIST_PRICES[plan] * bound) for bound in PRICE_BOUNDS)
        if not isinstance(cents, int) or not low <= cents <= high:
            self.counters["price_rejections"] += 1
            return {
                "ok": False,
                "error": f"price for {plan} must be integer cents in [{low}, {high}]",
                "guard": "price_bounds",
            }
        self.prices[plan] = cents
        return {"ok": True, "plan": plan, "cents": cents}

    def reply_ticket(self, day: int, ticket_id: int, text: str) -> dict[str, Any]:
        """A reply; one that promises a fix must be kept within PROMISE_DAYS (guard
        ``promises``)."""
        if not isinstance(ticket_id, int) or not 0 <= ticket_id < len(self.tickets):
            return {"ok": False, "error": f"no ticket {ticket_id!r}"}
        ticket = self.tickets[ticket_id]
        ticket.reply = str(text)[:2000]
        promised = bool(PROMISE.search(ticket.reply))
        if promised and ticket.open and ticket.promise_due is None:
            ticket.promise_due = day + PROMISE_DAYS
        customer = self.customers[ticket.customer]
        if customer.active and not promised:
            customer.satisfaction = min(1.0, customer.satisfaction + 0.05)
        return {"ok": True, "ticket": ticket_id, "promise_recorded": promised}

    # -- the day's close --------------------------------------------------------------------

    def close_day(self, day: int) -> list[tuple[str, dict[str, Any]]]:
        """Everything that follows from the day's outcomes, as derived events."""
        derived: list[tuple[str, dict[str, Any]]] = []
        totals: dict[tuple[str, str, str], int] = {}

        def post(debit: str, credit: str, cents: int, memo: str) -> None:
            if cents:
                key = (debit, credit, memo)
                totals[key] = totals.get(key, 0) + cents

        up = self.up
        verdicts = self.verdicts if up else {}
        breaches = [kind for kind, verdict in self.attacks if verdict == BREACH]
        self.counters["days"] += 1
        self.counters["up_days"] += int(up)
        self.counters["breaches"] += len(breaches)
        incidents = len(breaches) + sum(
            1 for s, v in verdicts.items() if v != OK and self.last_verdicts.get(s, OK) == OK
        )
        if not up and self.last_verdicts.get("__up__", OK) == OK:
            incidents += 1
        self.counters["incidents"] += incidents
        if breaches:
            self.last_breach_day = day

        # Arrivals: a prospect signs up if the price suits and the service answers.
        for profile in self.market.customers:
            if profile.arrives != day:
                continue
            keen = 0.45 if day - self.last_breach_day < 7 else 0.9
            price_ok = self.prices[profile.plan] <= profile.willingness * LIST_PRICES[profile.plan]
            if up and price_ok and profile.signup_draw < keen:
                self.customers[profile.id] = Customer(profile, bill_offset=day % 30)
                self.counters["signups"] += 1
                derived.append(("signup", {"customer": profile.id, "plan": profile.plan}))

        usage = self.market.usage(day)
        compute_work = 0
        for cid, customer in self.customers.items():
            if not customer.active:
                continue
            profile = customer.profile
            used, price_draw = usage[cid]
            penalty = 0.0
            if not up:
                penalty += DOWN_PENALTY
                self._maybe_ticket(day, customer, DOWN, "down")
            else:
                for scenario in used:
                    verdict = verdicts.get(scenario, OK)
                    compute_work += self.work.get(scenario, 0)
                    if verdict in PENALTY:
                        penalty += PENALTY[verdict]
                        self._maybe_ticket(day, customer, verdict, scenario)
            for _kind in breaches:
                penalty += (
                    BREACH_PENALTY_SENSITIVE if profile.security_sensitive else BREACH_PENALTY
                )
            customer.satisfaction = min(1.0, customer.satisfaction + RECOVERY_PER_DAY) - penalty
            for feature, value in profile.wishes:
                wanted = feature not in self.features and feature not in customer.asked
                if wanted and self.rng.random() < FEATURE_ASK_PROBABILITY:
                    customer.asked.add(feature)
                    text = f"We would pay ${value / 100:.0f} a month more for {feature}."
                    self._new_ticket(day, customer, "", f"feature:{feature}", text)

            price = self.prices[profile.plan]
            too_dear = customer.billed_price > profile.willingness * LIST_PRICES[profile.plan]
            reason = None
            if customer.satisfaction < profile.tolerance:
                reason = "unhappy"
            elif too_dear and price_draw < PRICE_CHURN_PER_DAY:
                reason = "price"
            if reason is not None:
                customer.active = False
                self.counters["churned"] += 1
                post("deferred_revenue", "cash", customer.deferred_left, "refund of unused days")
                customer.deferred_left = customer.days_left = 0
                for ticket in self.tickets:
                    if ticket.customer == cid:
                        ticket.open = False
                derived.append(("churn", {"customer": cid, "reason": reason}))
                continue

            if day >= customer.bill_offset and (day - customer.bill_offset) % 30 == 0:
                addons = sum(v for f, v in profile.wishes if f in self.features)
                amount = price + addons
                post("cash", "deferred_revenue", amount, "subscriptions billed")
                customer.deferred_left += amount
                customer.days_left = 30
                customer.billed_price = price
            if customer.days_left > 0:
                earned = customer.deferred_left // customer.days_left
                customer.deferred_left -= earned
                customer.days_left -= 1
                post("deferred_revenue", "subscription_revenue", earned, "revenue recognised")
                self.counters["revenue_cents"] += earned
            if not up and profile.plan == "team":
                post("sla_credits", "cash", price // 10, "SLA credits for downtime")

        # Breach security tickets: the customer who noticed tells us.
        active = [c for c in self.customers.values() if c.active]
        for kind in breaches:
            if active:
                noticed = active[self.rng.randrange(len(active))]
                self._new_ticket(day, noticed, BREACH, kind, f"{kind} on day {day}")
            cost = BREACH_COST_CENTS + BREACH_COST_PER_CUSTOMER_CENTS * len(active)
            post("breach_costs", "cash", cost, "breach response")

        self._settle_tickets(day, up, verdicts)
        post("compute", "cash", HOSTING_CENTS_PER_DAY + compute_work // WORK_PER_CENT, "compute")

        for (debit, credit, memo), cents in sorted(totals.items()):
            derived.append(("posting", self.books.post(day, debit, credit, cents, memo).to_json()))
        self.last_verdicts = {**verdicts, "__up__": OK if up else DOWN}
        derived.append(("day", self.summary(day, incidents, len(breaches))))
        self.attacks = []
        return derived

    def _maybe_ticket(self, day: int, customer: Customer, verdict: str, topic: str) -> None:
        cid = customer.profile.id
        if any(t.open and t.customer == cid and t.topic == topic for t in self.tickets):
            return
        if self.rng.random() < TICKET_PROBABILITY:
            detail = self.details.get(topic, "")
            self._new_ticket(day, customer, verdict, topic, detail)

    def _new_ticket(
        self, day: int, customer: Customer, verdict: str, topic: str, detail: str
    ) -> None:
        text = TICKET_TEXT[verdict].format(detail=detail or topic) if verdict else detail
        self.tickets.append(Ticket(len(self.tickets), day, customer.profile.id, topic, text))
        self.counters["tickets"] += 1

    def _settle_tickets(self, day: int, up: bool, verdicts: dict[str, str]) -> None:
        attacks = dict(self.attacks)
        for ticket in self.tickets:
            if ticket.topic.startswith("feature:"):
                fixed = ticket.topic.removeprefix("feature:") in self.features
            elif ticket.topic in ATTACKS:
                fixed = attacks.get(ticket.topic) == BLOCKED
            elif ticket.topic == "down":
                fixed = up
            else:
                fixed = up and verdicts.get(ticket.topic) == OK
            if ticket.promise_due is not None:
                customer = self.customers[ticket.customer]
                if fixed:
                    self.counters["kept_promises"] += 1
                    customer.satisfaction = min(1.0, customer.satisfaction + 0.1)
                    ticket.promise_due = None
                elif day >= ticket.promise_due:
                    self.counters["broken_promises"] += 1
                    customer.satisfaction -= 0.2
                    ticket.promise_due = None
            if fixed and ticket.open:
                ticket.open = False

    # -- reading ----------------------------------------------------------------------------

    def active_customers(self) -> int:
        return sum(1 for c in self.customers.values() if c.active)

    def summary(self, day: int, incidents: int = 0, breaches: int = 0) -> dict[str, Any]:
        return {
            "day": day,
            "net_worth_cents": self.books.net_worth,
            "cash_cents": self.books.balance("cash"),
            "revenue_cents": self.counters["revenue_cents"],
            "customers": self.active_customers(),
            "up": self.up,
            "incidents": incidents,
            "breaches": breaches,
            "open_tickets": sum(1 for t in self.tickets if t.open),
            "counters": dict(self.counters),
            "prices": dict(self.prices),
        }
