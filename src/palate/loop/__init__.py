"""One declarative iteration on a real model: generate, judge, route, rate, train, evaluate,
gate; resumable stage by stage, every stage in the ledger.

Names load on first use: a command's ``--help`` imports none of what they need.
"""

from typing import TYPE_CHECKING

from palate.exports import lazy_exports

if TYPE_CHECKING:  # the names as they are, for type checkers
    from palate.loop.config import LoopConfig, load_loop
    from palate.loop.run import LoopResult, LoopRunner

__all__ = [
    "LoopConfig",
    "LoopResult",
    "LoopRunner",
    "load_loop",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "LoopConfig": "palate.loop.config:LoopConfig",
        "LoopResult": "palate.loop.run:LoopResult",
        "LoopRunner": "palate.loop.run:LoopRunner",
        "load_loop": "palate.loop.config:load_loop",
    },
)
