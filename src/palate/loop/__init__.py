"""One declarative iteration on a real model: generate, judge, route, rate, train, evaluate,
gate; resumable stage by stage, every stage in the ledger."""

from palate.loop.config import LoopConfig, load_loop
from palate.loop.run import LoopResult, LoopRunner

__all__ = ["LoopConfig", "LoopResult", "LoopRunner", "load_loop"]
