"""Servers and fixtures that users' own tests can use.

``LoopbackServer`` is a scripted OpenAI-compatible chat endpoint on 127.0.0.1 (in a thread, or
``python -m palate.testing.loopback`` in its own process): a judge run, a retry policy or a
bias probe can be tested end to end without a model or a network.
"""

from palate.exports import lazy_exports

__all__ = ["Fault", "LoopbackServer", "Script", "Verdict"]

__getattr__, __dir__ = lazy_exports(
    __name__, {name: f"palate.testing.loopback:{name}" for name in __all__}
)
