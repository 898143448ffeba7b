"""Attribution models over synthetic journeys: time and peak memory per model.

Generates (fixed seed) 10,000 and 1,000,000 journeys over 12 channels, each touch with
its days before the conversion, aggregates identical journeys, and runs every model;
also the journeys file round trip (write, then read back) and Shapley summed over all
coalitions (the definition, to check the exact formula). Times are wall seconds of one
run; peak memory (KiB) is what tracemalloc saw during a second run of the same call.

On the 10k set, the Markov model is also run through ChannelAttribution, when it is
installed, for a side-by-side comparison. It is GPL and a development-only comparison,
never a dependency of Mercato:

    pip install channelattribution matplotlib   # into a development virtualenv only

    python bench/attribution.py                   # 10k and 1M
    python bench/attribution.py --sizes 10000     # quicker
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mercato.analytics.attribution import MODELS, attribute  # noqa: E402
from mercato.analytics.journeys import Journey, aggregate  # noqa: E402
from mercato.analytics.journeys_file import read_journeys  # noqa: E402
from mercato.analytics.shapley import by_coalitions  # noqa: E402

CHANNELS = [
    "facebook", "instagram", "tiktok", "pinterest", "snapchat", "google_ads",
    "organic_search", "email", "whatsapp", "affiliate", "display", "direct",
]  # fmt: skip


def generate(n: int, seed: int = 19) -> list[Journey]:
    """Journeys of 1 to 8 touches; popular channels more often; some channels raise the
    odds of buying more than others, so that the models disagree. Identical journeys are
    merged as they are made (as the file format has them)."""
    rng = random.Random(seed)
    popularity = [12, 10, 8, 3, 2, 9, 11, 7, 4, 2, 5, 9]
    lift = [1.0, 1.2, 0.8, 0.6, 0.5, 1.6, 1.3, 1.8, 1.4, 0.9, 0.4, 1.1]
    merged: dict[tuple, list] = {}
    for _ in range(n):
        length = min(1 + int(rng.expovariate(0.6)), 8)
        idx = rng.choices(range(12), weights=popularity, k=length)
        days = tuple(sorted((int(rng.random() * 30) for _ in range(length)), reverse=True))
        key = (tuple([CHANNELS[i] for i in idx]), days)
        p = min(0.02 * sum(lift[i] for i in set(idx)) * (1 + 0.1 * length), 0.9)
        counts = merged.get(key)
        if counts is None:
            counts = merged[key] = [0, 0.0, 0]
        if rng.random() < p:
            counts[0] += 1
            counts[1] += rng.randrange(500, 20000) / 100
        else:
            counts[2] += 1
    return [Journey(path, c, v, nulls, days) for (path, days), (c, v, nulls) in merged.items()]


def measure(call):
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak


def write_file(journeys: list[Journey], file: Path) -> None:
    with file.open("w") as out:
        out.write("path;total_conversions;total_conversion_value;total_null;days_before\n")
        for j in journeys:
            days = ">".join(str(d) for d in j.days_before)
            out.write(f"{'>'.join(j.path)};{j.conversions};{j.value};{j.nulls};{days}\n")


def compare_with_channelattribution(journeys: list[Journey]) -> None:
    try:
        import pandas as pd
        from ChannelAttribution import markov_model
    except ImportError as exc:
        print(f"\nChannelAttribution comparison skipped: not installed ({exc.name}).")
        return
    # Their input: the same journeys, without touch times (first-order Markov ignores them).
    paths = aggregate(Journey(j.path, j.conversions, j.value, j.nulls) for j in journeys)
    frame = pd.DataFrame(
        {
            "path": [">".join(j.path) for j in paths],
            "total_conversions": [j.conversions for j in paths],
            "total_conversion_value": [j.value for j in paths],
            "total_null": [j.nulls for j in paths],
        }
    )

    def theirs(**settings):
        start = time.perf_counter()
        out = markov_model(
            frame,
            "path",
            "total_conversions",
            var_value="total_conversion_value",
            var_null="total_null",
            out_more=True,
            verbose=False,
            flg_pro=False,
            **settings,
        )
        return out, time.perf_counter() - start

    default, their_seconds = theirs()
    start = time.perf_counter()
    ours = attribute(journeys, "markov")
    ours_seconds = time.perf_counter() - start
    effects = ours.details["removal_effects"]
    result = default["result"].set_index("channel_name")
    their_effects = default["removal_effects"].set_index("channel_name").iloc[:, 0]
    print("\nMarkov, 10k journeys: Mercato (exact) | ChannelAttribution (simulated, defaults)")
    print(f"{'channel':16} {'conv':>10} {'conv CA':>10} {'removal':>9} {'removal CA':>10}")
    for c in ours.credits:
        their_conversions = result.loc[c.channel, "total_conversions"]
        print(
            f"{c.channel:16} {c.conversions:10.3f} {their_conversions:10.3f}"
            f" {float(effects[c.channel]):9.4f} {their_effects[c.channel]:10.4f}"
        )
    print(
        f"time: Mercato {ours_seconds * 1000:.1f} ms, ChannelAttribution "
        f"{their_seconds * 1000:.1f} ms: Mercato {their_seconds / ours_seconds:.1f}x faster"
    )

    # Their estimate converges on the exact removal effects as simulations grow (with
    # walks long enough not to be cut short).
    for simulations in (1e5, 1e6, 1e7):
        out, seconds = theirs(nsim_start=simulations, max_step=200)
        estimated = out["removal_effects"].set_index("channel_name").iloc[:, 0]
        worst = max(abs(estimated[c] - float(e)) for c, e in effects.items())
        print(
            f"ChannelAttribution, {simulations:.0e} simulations: largest removal effect "
            f"difference {worst:.4f} ({seconds:.1f} s)"
        )


def run(size: int) -> None:
    start = time.perf_counter()
    journeys = generate(size)
    made = time.perf_counter() - start
    conversions = sum(j.conversions for j in journeys)
    print(
        f"\n{size:,} journeys ({len(journeys):,} distinct with their touch times, "
        f"{conversions:,} conversions), generated in {made:.1f} s"
    )
    print(f"{'model':24} {'seconds':>8} {'peak KiB':>9}")
    for model in MODELS:
        _, seconds, peak = measure(lambda m=model: attribute(journeys, m))
        print(f"{model:24} {seconds:8.3f} {peak / 1024:9,.0f}")
    _, seconds, peak = measure(lambda: by_coalitions(journeys))
    print(f"{'shapley over coalitions':24} {seconds:8.3f} {peak / 1024:9,.0f}")
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "journeys.csv"
        write_file(journeys, file)
        _, seconds, peak = measure(lambda: read_journeys(file))
        print(f"{'read journeys file':24} {seconds:8.3f} {peak / 1024:9,.0f}")
    if size <= 10_000:
        compare_with_channelattribution(journeys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    for size in parser.parse_args().sizes:
        run(size)


if __name__ == "__main__":
    main()
