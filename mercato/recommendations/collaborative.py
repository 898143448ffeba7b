"""Collaborative filtering: implicit-feedback ALS (Hu, Koren and Volinsky 2008) through the
``implicit`` library, on the buyer x product matrix of purchase counts.

Products the buyer already bought are kept in its answers: excluding them (the library's
default) is what makes a recommender lose to "buy it again" on repeat-purchase shops.
The library and numpy are imported here only, by the training job, never by a request.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping

FACTORS = 64
REGULARIZATION = 0.05
ITERATIONS = 15
SEED = 7


def scores(
    counts: Mapping[Hashable, Mapping[Hashable, int]], per_buyer: int
) -> dict[Hashable, dict[Hashable, float]]:
    """Per buyer, the ``per_buyer`` products with the highest predicted preference."""
    buyers = sorted(counts, key=str)
    products = sorted({p for bought in counts.values() for p in bought}, key=str)
    if len(buyers) < 2 or len(products) < 2:
        return {}
    # One thread: the worker shares its machine with the API, and BLAS threads on top
    # of the library's own make a small fit slower, not faster.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import numpy as np
    import scipy.sparse as sparse
    from implicit.als import AlternatingLeastSquares

    column = {p: k for k, p in enumerate(products)}
    rows, cols, values = [], [], []
    for row, buyer in enumerate(buyers):
        for product, count in counts[buyer].items():
            rows.append(row)
            cols.append(column[product])
            values.append(count)
    matrix = sparse.csr_matrix(
        (np.asarray(values, dtype=np.float32), (rows, cols)), shape=(len(buyers), len(products))
    )
    model = AlternatingLeastSquares(
        factors=min(FACTORS, len(products) - 1),
        regularization=REGULARIZATION,
        iterations=ITERATIONS,
        random_state=SEED,
        num_threads=1,
    )
    model.fit(matrix, show_progress=False)
    n = min(per_buyer, len(products))
    ids, values = model.recommend(
        np.arange(len(buyers)), matrix, N=n, filter_already_liked_items=False
    )
    return {
        buyer: {products[int(i)]: float(v) for i, v in zip(ids[row], values[row], strict=True)}
        for row, buyer in enumerate(buyers)
    }
