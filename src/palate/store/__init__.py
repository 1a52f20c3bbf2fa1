"""The store: the only part of palate that talks to a database (SQLite or PostgreSQL)."""

from palate.store.store import DatasetInfo, Store, default_url

__all__ = ["DatasetInfo", "Store", "default_url"]
