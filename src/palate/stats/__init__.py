"""Statistics: win rates, rankings, truth inference, agreement, prediction-powered inference.

The functions below take a store and a dataset name, record what they computed in the ledger
and return a typed result (``palate.stats.reports``); the modules underneath work on arrays.
"""

from palate.exports import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "win_rates": "palate.stats.reports:win_rates",
        "rank": "palate.stats.reports:rank",
        "truth": "palate.stats.reports:truth",
        "ppi": "palate.stats.reports:ppi",
        "agreement": "palate.stats.reports:agreement",
    },
)
