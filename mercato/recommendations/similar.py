"""Similar products: alike in what they are (type, category, brand, tags, title words)
and in who buys them (bought by the same orders).

Content: each product is a set of tokens; two products score the sum of the IDF weights
of the tokens they share over the square root of the product of their own sums (a cosine
over IDF-weighted token sets). Co-purchase: orders holding both / sqrt(orders holding
each). The two are averaged. Candidates come from an inverted index over the tokens; a
token held by more than ``MAX_POSTINGS`` products is left out of the index (it says little
of any two products, and would make the work grow with the square of the catalog), though
it still counts in each product's norm.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

MAX_POSTINGS = 300
WORD = re.compile(r"[^\W\d_]{3,}")


@dataclass(frozen=True)
class Described:
    id: str
    tokens: frozenset[str] = field(default_factory=frozenset)


def tokens_of(
    title: str, product_type: str | None, vendor: str | None, tags: Iterable[str], category
) -> frozenset[str]:
    found = {f"word:{w}" for w in WORD.findall(title.lower())}
    if product_type:
        found.add(f"type:{product_type.lower()}")
    if vendor:
        found.add(f"vendor:{vendor.lower()}")
    if category:
        found.add(f"category:{category}")
    found.update(f"tag:{t.lower()}" for t in tags if t)
    return frozenset(found)


def similar(
    products: Iterable[Described],
    together: Mapping[tuple[Hashable, Hashable], int],
    bought: Mapping[Hashable, int],
    per_product: int,
) -> dict[str, list[tuple[str, float]]]:
    """Per product, its ``per_product`` most similar products, most similar first."""
    products = list(products)
    df = Counter(t for p in products for t in p.tokens)
    n = len(products)
    idf = {t: math.log((1 + n) / (1 + c)) + 1 for t, c in df.items()}
    norm = {p.id: math.sqrt(sum(idf[t] for t in p.tokens)) or 1.0 for p in products}
    postings: dict[str, list[str]] = defaultdict(list)
    for p in products:
        for t in p.tokens:
            if df[t] <= MAX_POSTINGS:
                postings[t].append(p.id)
    co: dict[Hashable, dict[Hashable, float]] = defaultdict(dict)
    for (a, b), both in together.items():
        value = both / math.sqrt(bought[a] * bought[b])
        co[a][b] = co[b][a] = value
    result = {}
    for p in products:
        shared: dict[str, float] = defaultdict(float)
        for t in p.tokens:
            for other in postings[t]:
                if other != p.id:
                    shared[other] += idf[t]
        scores = {o: w / (norm[p.id] * norm[o]) / 2 for o, w in shared.items()}
        for other, value in co.get(p.id, {}).items():
            scores[other] = scores.get(other, 0.0) + value / 2
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:per_product]
        if best:
            result[p.id] = best
    return result
