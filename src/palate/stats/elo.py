"""Online Elo, exactly as Chatbot Arena computes it.

Reproduces ``compute_elo`` in FastChat's ``fastchat/serve/monitor/elo_analysis.py``
(lm-sys/FastChat): every rating starts at 1000; comparisons are replayed in the given order;
with E_a = 1 / (1 + 10^((R_b − R_a)/400)) and E_b = 1 / (1 + 10^((R_a − R_b)/400)) the update is
R_a += K (S_a − E_a), R_b += K (1 − S_a − E_b), K = 4, S_a = 1, 0 or 0.5 for a tie (a soft
preference in between is used as it stands). The arithmetic follows theirs operation for
operation, so the ratings agree to the last bit.

The bootstrap reproduces FastChat's ``get_bootstrap_result``: each replicate replays N
comparisons drawn with replacement, in the order drawn. We replay all replicates at once, one
comparison per step across a vector of replicates, instead of one Python loop per replicate,
and use E_b = 1 − E_a there (equal to FastChat's E_b up to rounding).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from palate.stats.intervals import FloatArray, check_comparisons

K_FACTOR = 4.0
SCALE = 400.0
BASE = 10.0
INIT_RATING = 1000.0
# Draws for this many steps of all replicates are made at once, bounding memory at B × chunk.
_STEP_CHUNK = 1024


def online_elo(
    model_a: npt.ArrayLike,
    model_b: npt.ArrayLike,
    outcome: npt.ArrayLike,
    n_models: int,
    *,
    k: float = K_FACTOR,
    scale: float = SCALE,
    base: float = BASE,
    init: float = INIT_RATING,
) -> FloatArray:
    """Ratings after replaying the comparisons in order (FastChat ``compute_elo``).

    Models that never play keep ``init``. Updates are zero-sum, so the mean stays at ``init``.
    """
    a, b, y, _ = check_comparisons(model_a, model_b, outcome, n_models)
    rating = [float(init)] * n_models
    # A plain loop over Python floats: the recursion is sequential, and this is ~1 µs a step.
    for i, j, sa in zip(a.tolist(), b.tolist(), y.tolist(), strict=True):
        ra = rating[i]
        rb = rating[j]
        ea = 1 / (1 + base ** ((rb - ra) / scale))
        eb = 1 / (1 + base ** ((ra - rb) / scale))
        rating[i] += k * (sa - ea)
        rating[j] += k * (1 - sa - eb)
    return np.array(rating)


def bootstrap_elo(
    model_a: npt.ArrayLike,
    model_b: npt.ArrayLike,
    outcome: npt.ArrayLike,
    n_models: int,
    *,
    n_bootstrap: int = 1000,
    rng: np.random.Generator | int | None = 0,
    k: float = K_FACTOR,
    scale: float = SCALE,
    base: float = BASE,
    init: float = INIT_RATING,
) -> FloatArray:
    """(n_bootstrap, n_models) online Elo ratings of resampled, reordered comparisons.

    Cost is one vectorised step per comparison, whatever ``n_bootstrap`` is.
    """
    a, b, y, _ = check_comparisons(model_a, model_b, outcome, n_models)
    gen = np.random.default_rng(rng)
    n = a.size
    rating = np.full(n_bootstrap * n_models, float(init))  # replicate r, model i at r·M + i
    offset = np.arange(n_bootstrap) * n_models
    rate = np.log(base) / scale  # base^(x/scale) = e^(x·rate), and E_b = 1 − E_a
    for start in range(0, n, _STEP_CHUNK):
        picks = gen.integers(0, n, size=(min(_STEP_CHUNK, n - start), n_bootstrap))
        for ia, ib, sa in zip(a[picks] + offset, b[picks] + offset, y[picks], strict=True):
            ra = rating[ia]
            rb = rating[ib]
            delta = k * (sa - 1 / (1 + np.exp((rb - ra) * rate)))
            rating[ia] = ra + delta
            rating[ib] = rb - delta
    return rating.reshape(n_bootstrap, n_models)
