"""Team notes: a small multi-user notes service (accounts, workspaces, notes, search, export).

The service host calls ``startup(db, settings)`` once and then ``handle(db, ...)`` for every
HTTP request; ``db`` runs SQL for us (see ``teamnotes.db``).
"""

from teamnotes.app import handle, startup

__all__ = ["handle", "startup"]
