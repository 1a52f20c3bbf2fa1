"""The SaaS harness: a small real web product run as a business by an agent.

Simulated customers and attackers send real requests to the deployed product; money in
double-entry books is the reward; every episode is a hash-chained, replayable event log.

Names load on first use: a command's ``--help`` imports none of what they need.
"""

from typing import TYPE_CHECKING

from palate.exports import lazy_exports

if TYPE_CHECKING:  # the names as they are, for type checkers
    from palate.saas.env import SaasEnv

__all__ = [
    "SaasEnv",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "SaasEnv": "palate.saas.env:SaasEnv",
    },
)
