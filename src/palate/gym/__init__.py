"""The taste gym behind ``palate demo``: moon poems, simulated experts with hidden tastes, cheap
checkbox judges, a small policy, and the closed loop in two arms (checkbox-only and anchored)."""

from palate.gym.config import GymConfig
from palate.gym.demo import run_demo
from palate.gym.loop import Gym, GymResult

__all__ = ["Gym", "GymConfig", "GymResult", "run_demo"]
