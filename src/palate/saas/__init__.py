"""The SaaS harness: a small real web product run as a business by an agent.

Simulated customers and attackers send real requests to the deployed product; money in
double-entry books is the reward; every episode is a hash-chained, replayable event log.
"""

from palate.saas.env import SaasEnv

__all__ = ["SaasEnv"]
