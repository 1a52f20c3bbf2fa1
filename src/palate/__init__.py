"""Palate: taste-driven post-training.

Subjective judgement in, calibrated scores, reward signals and release decisions out. The
front door is this package::

    import palate
    store = palate.Store("sqlite:///palate.db")
    store.import_file("annotations.json", dataset="ae")
    palate.stats.win_rates(store, "ae", baseline="gpt4_1106_preview")

Names are loaded on first use, so ``import palate`` imports neither scipy nor torch.
See ``shared/DESIGN.md`` for the architecture; each subpackage owns one step of the flow.
"""

from palate.exports import lazy_exports

__version__ = "0.1.0"

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Store": "palate.store.store:Store",
        "PalateError": "palate.errors:PalateError",
        "judges": "palate.judges",
        "ledger": "palate.ledger",
        "routing": "palate.routing",
        "stats": "palate.stats",
        "testing": "palate.testing",
    },
)
