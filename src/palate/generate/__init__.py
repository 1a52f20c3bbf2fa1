"""Generating responses from a model: a local transformers checkpoint or an OpenAI-compatible
endpoint, stored as ``Generation`` records, resumable, recorded in the ledger.

Names load on first use: a command's ``--help`` imports none of what they need.
"""

from typing import TYPE_CHECKING

from palate.exports import lazy_exports

if TYPE_CHECKING:  # the names as they are, for type checkers
    from palate.generate.endpoint import EndpointConfig, EndpointGenerator
    from palate.generate.local import LocalGenerator
    from palate.generate.run import GenerateResult, generate

__all__ = [
    "EndpointConfig",
    "EndpointGenerator",
    "GenerateResult",
    "LocalGenerator",
    "generate",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "EndpointConfig": "palate.generate.endpoint:EndpointConfig",
        "EndpointGenerator": "palate.generate.endpoint:EndpointGenerator",
        "GenerateResult": "palate.generate.run:GenerateResult",
        "LocalGenerator": "palate.generate.local:LocalGenerator",
        "generate": "palate.generate.run:generate",
    },
)
