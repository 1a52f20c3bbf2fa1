"""Servers and fixtures that users' own tests can use.

``LoopbackServer`` is a scripted OpenAI-compatible chat endpoint on 127.0.0.1 (in a thread, or
``python -m palate.testing.loopback`` in its own process): a judge run, a retry policy or a
bias probe can be tested end to end without a model or a network. ``build_tiny_model`` writes a
GPT-2 of about 100k parameters (or ``python -m palate.testing.tiny DIR``): a checkpoint for
generation and training dry runs.
"""

from palate.exports import lazy_exports

_LOOPBACK = ["Fault", "LoopbackServer", "Script", "Verdict"]
__all__ = [*_LOOPBACK, "build_tiny_model"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **{name: f"palate.testing.loopback:{name}" for name in _LOOPBACK},
        "build_tiny_model": "palate.testing.tiny:build_tiny_model",
    },
)
