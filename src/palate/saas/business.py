"""The business side of the agent's tools, implemented by the simulator.

The product's tool layer (``palate.saas.tools``) turns these methods into OpenAI function
schemas and calls them; every answer is plain JSON-able data, and nothing here exposes a
customer's hidden profile, the market or the simulator's state.
"""

from __future__ import annotations

from typing import Any, Protocol


class Business(Protocol):
    def read_tickets(self, open_only: bool = True) -> dict[str, Any]:
        """Support tickets customers wrote (open ones unless ``open_only`` is false)."""
        ...

    def reply_ticket(self, ticket_id: int, text: str) -> dict[str, Any]:
        """Answer a ticket. A reply that promises a fix must be kept within three days."""
        ...

    def read_billing(self) -> dict[str, Any]:
        """Cash, revenue, prices and paying customers."""
        ...

    def read_metrics(self) -> dict[str, Any]:
        """Uptime, incidents and the last day's error counts per endpoint."""
        ...

    def set_price(self, plan: str, cents: int) -> dict[str, Any]:
        """Set a plan's monthly price in cents (bounded; existing customers pay it from their
        next bill)."""
        ...

    def write_note(self, text: str) -> dict[str, Any]:
        """Keep a note for yourself; notes are returned in every day's briefing."""
        ...

    def end_day(self) -> dict[str, Any]:
        """End the working day: customers and attackers use the service, the books close."""
        ...
