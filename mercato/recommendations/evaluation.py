"""How good a model is: hold out each buyer's last order, ask the model for ten products
from what came before, and count how many the buyer really bought.

precision@10 = hits / 10; recall@10 = hits / products in the held-out order; NDCG@10 =
sum of 1/log2(rank + 1) over the hits, divided by the same sum for a perfect list;
coverage = distinct products recommended to anyone / distinct products in the training
orders. Each is the mean over buyers with at least two orders.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

from mercato.recommendations.repurchase import Purchase

K = 10


@dataclass(frozen=True)
class Split:
    """Each buyer's orders before the last (oldest first), and the last one's products."""

    train: dict[Hashable, list[Purchase]]
    held_out: dict[Hashable, frozenset[Hashable]]
    held_out_at: dict[Hashable, object]


def hold_out_last(histories: Mapping[Hashable, Sequence[Purchase]]) -> Split:
    train, held, at = {}, {}, {}
    for buyer, history in histories.items():
        if len(history) >= 2:
            train[buyer] = list(history[:-1])
            held[buyer] = history[-1].products
            at[buyer] = history[-1].at
    return Split(train, held, at)


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    ndcg: float
    coverage: float
    buyers: int

    def as_dict(self) -> dict[str, float]:
        return {
            "precision_at_10": round(self.precision, 4),
            "recall_at_10": round(self.recall, 4),
            "ndcg_at_10": round(self.ndcg, 4),
            "coverage": round(self.coverage, 4),
            "buyers": self.buyers,
        }


def evaluate(split: Split, recommend: Callable[[Hashable], Sequence[Hashable]]) -> Scores:
    precision = recall = ndcg = 0.0
    shown: set = set()
    catalog = {p for history in split.train.values() for o in history for p in o.products}
    for buyer, truth in split.held_out.items():
        top = list(recommend(buyer))[:K]
        shown.update(top)
        hits = [1 if p in truth else 0 for p in top]
        precision += sum(hits) / K
        recall += sum(hits) / len(truth)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(K, len(truth))))
        ndcg += sum(h / math.log2(r + 2) for r, h in enumerate(hits)) / ideal
    n = len(split.held_out) or 1
    return Scores(
        precision / n,
        recall / n,
        ndcg / n,
        len(shown & catalog) / (len(catalog) or 1),
        len(split.held_out),
    )
