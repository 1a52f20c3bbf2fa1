"""Named random streams: each concern draws from its own generator, derived from
``sha256(seed:name)``, so adding draws to one concern never shifts another.

The market (arrivals, profiles, attacks, daily usage) draws only from streams whose names do
not depend on anything the agent does; that is what makes paired comparisons fair.
"""

from __future__ import annotations

import hashlib
import random


def stream(seed: int, name: str) -> random.Random:
    """The generator for stream ``name`` of episode ``seed``."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))
