"""Servers and fixtures that users' own tests can use.

``LoopbackServer`` is a scripted OpenAI-compatible chat endpoint on 127.0.0.1 (in a thread, or
``python -m palate.testing.loopback`` in its own process): a judge run, a retry policy or a
bias probe can be tested end to end without a model or a network.
"""

from palate.testing.loopback import Fault, LoopbackServer, Script, Verdict

__all__ = ["Fault", "LoopbackServer", "Script", "Verdict"]
