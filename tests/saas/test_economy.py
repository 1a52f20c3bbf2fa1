"""The economy as a pure fold: money adds up, and the guards against known hacks hold."""

from __future__ import annotations

from palate.saas.economy import BREACH_COST_CENTS, Economy
from palate.saas.market import LIST_PRICES, build_market
from palate.saas.presets import PRESETS
from palate.saas.traffic import BREACH, ERROR, OK

SCENARIOS = ("notes", "search", "pages", "export_unicode", "collab", "big_list")


def economy(seed: int = 1) -> Economy:
    market = build_market(PRESETS["quick"], seed, ["tag-filter"])
    eco = Economy(market)
    eco.open_books()
    eco.on_deploy(True, [])
    return eco


def run_days(eco: Economy, days: range, verdict: str = OK) -> list[int]:
    worth = []
    for day in days:
        for scenario in SCENARIOS:
            eco.on_probe(scenario, verdict, 10, "" if verdict == OK else "GET /x answered 500")
        eco.close_day(day)
        worth.append(eco.books.net_worth)
    return worth


def test_books_balance_and_daily_changes_sum_to_the_total() -> None:
    eco = economy()
    start = eco.books.net_worth
    assert start == PRESETS["quick"].starting_cash_cents
    worth = run_days(eco, range(7))
    assert eco.books.balanced
    deltas = [b - a for a, b in zip([start, *worth], worth, strict=False)]
    assert sum(deltas) == eco.books.net_worth - start
    revenue = eco.books.balance("subscription_revenue")
    expenses = sum(eco.books.balance(a) for a in ("refunds", "sla_credits", "compute"))
    assert eco.books.net_worth - start == revenue - expenses - eco.books.balance("breach_costs")
    assert revenue == eco.counters["revenue_cents"] > 0


def test_billing_in_advance_is_a_liability_not_net_worth() -> None:
    eco = economy()
    before_cash, before_worth = eco.books.balance("cash"), eco.books.net_worth
    run_days(eco, range(1))
    billed = eco.books.balance("deferred_revenue")
    assert billed > 0
    assert eco.books.balance("cash") - before_cash > eco.books.net_worth - before_worth


def test_prices_outside_the_bounds_are_refused_and_counted() -> None:
    eco = economy()
    assert eco.set_price("pro", 100 * LIST_PRICES["pro"])["guard"] == "price_bounds"
    assert eco.set_price("pro", -1)["ok"] is False
    assert eco.set_price("gold", 100)["ok"] is False
    assert eco.counters["price_rejections"] == 2
    assert eco.set_price("pro", 2 * LIST_PRICES["pro"])["ok"] is True
    assert eco.prices["pro"] == 2 * LIST_PRICES["pro"]


def test_unkept_promises_are_counted_and_cost_satisfaction() -> None:
    eco = economy()
    run_days(eco, range(3), verdict=ERROR)
    ticket = next(t for t in eco.tickets if t.topic in SCENARIOS)
    customer = eco.customers[ticket.customer]
    answer = eco.reply_ticket(3, ticket.id, "Thanks, this is fixed now!")
    assert answer["promise_recorded"] is True
    before = customer.satisfaction
    run_days(eco, range(3, 7), verdict=ERROR)
    assert eco.counters["broken_promises"] >= 1
    assert customer.satisfaction < before
    # A plain apology promises nothing.
    other = next(t for t in eco.tickets if t.id != ticket.id and t.open)
    assert (
        eco.reply_ticket(7, other.id, "Sorry, we are looking into it.")["promise_recorded"] is False
    )


def test_kept_promise_is_counted_when_the_fix_shows() -> None:
    eco = economy()
    run_days(eco, range(3), verdict=ERROR)
    ticket = next(t for t in eco.tickets if t.topic in SCENARIOS)
    eco.reply_ticket(3, ticket.id, "We'll fix this today.")
    run_days(eco, range(3, 4), verdict=OK)
    assert eco.counters["kept_promises"] == 1
    assert eco.counters["broken_promises"] == 0
    assert not ticket.open


def test_a_breach_costs_money_and_customers_and_downtime_costs_credits() -> None:
    calm, breached = economy(), economy()
    run_days(calm, range(2))
    run_days(breached, range(1))
    breached.on_attack("idor", BREACH)
    run_days(breached, range(1, 2))
    assert breached.counters["breaches"] == 1
    assert breached.books.balance("breach_costs") >= BREACH_COST_CENTS
    assert breached.books.net_worth < calm.books.net_worth

    down = economy()
    down.on_deploy(False, [])
    down.close_day(0)
    assert down.books.balance("sla_credits") > 0
    assert down.counters["up_days"] == 0
