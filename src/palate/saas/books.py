"""Double-entry books in integer cents.

Every movement of money is a posting that debits one account and credits another by the same
amount, so the books always balance. Subscriptions are billed a month in advance into
``deferred_revenue`` (a liability) and recognised a day at a time: cash collected for service
not yet given is not net worth, which is the guard against an end-of-episode prepay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from palate.errors import PalateError


class Kind(Enum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"


ACCOUNTS: dict[str, Kind] = {
    "cash": Kind.ASSET,
    "deferred_revenue": Kind.LIABILITY,
    "owner_equity": Kind.EQUITY,
    "subscription_revenue": Kind.INCOME,
    "refunds": Kind.EXPENSE,
    "sla_credits": Kind.EXPENSE,
    "compute": Kind.EXPENSE,
    "breach_costs": Kind.EXPENSE,
}
"""The chart of accounts; debits raise assets and expenses, credits raise the others."""


@dataclass(frozen=True)
class Posting:
    day: int
    debit: str
    credit: str
    cents: int
    memo: str

    def to_json(self) -> dict[str, object]:
        return {
            "day": self.day,
            "debit": self.debit,
            "credit": self.credit,
            "cents": self.cents,
            "memo": self.memo,
        }


@dataclass
class Books:
    """Balances per account (debit-positive) and the journal of postings."""

    balances: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACCOUNTS, 0))

    def post(self, day: int, debit: str, credit: str, cents: int, memo: str) -> Posting:
        if debit not in ACCOUNTS or credit not in ACCOUNTS:
            raise PalateError(f"unknown account in posting {debit} / {credit}")
        if not isinstance(cents, int) or cents < 0:
            raise PalateError(f"posting amount must be non-negative integer cents, got {cents!r}")
        self.balances[debit] += cents
        self.balances[credit] -= cents
        return Posting(day, debit, credit, cents, memo)

    def balance(self, account: str) -> int:
        """The natural-sign balance: positive for a normal balance of that account's kind."""
        raw = self.balances[account]
        return raw if ACCOUNTS[account] in (Kind.ASSET, Kind.EXPENSE) else -raw

    @property
    def net_worth(self) -> int:
        """Assets minus liabilities (equals owner equity plus income minus expenses)."""
        assets = sum(self.balance(a) for a, k in ACCOUNTS.items() if k is Kind.ASSET)
        liabilities = sum(self.balance(a) for a, k in ACCOUNTS.items() if k is Kind.LIABILITY)
        return assets - liabilities

    @property
    def balanced(self) -> bool:
        return sum(self.balances.values()) == 0
