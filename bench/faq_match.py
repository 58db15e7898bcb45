"""How long matching one customer message takes against FAQs of growing size (prints figures).

Run: python bench/faq_match.py
"""

from __future__ import annotations

import random
import time

from bot.faq import library, matching
from bot.settings import Settings

QUERIES = [
    "when will my ordr arive",
    "متى يصل طلبي",
    "do you sell gift cards",
    "الإرجاع خلال ١٤ يوم",
    "refund",
]


def main() -> None:
    sample = library.load_file(Settings(_env_file=None).faq_file)
    rng = random.Random(7)  # noqa: S311  (reproducible sample of questions, not security)
    for size in (16, 100, 500):
        rows = []
        for number in range(size):
            entry = sample[number % len(sample)]
            noise = " ".join(
                rng.choice(["blue", "large", "gift", "store", "app", "كبير", "متجر"]) for _ in range(2)
            )
            rows.append((number, f"{entry.question} {noise}", entry.phrasings))
        started = time.perf_counter()
        pool = matching.candidates(rows)
        prepared_ms = (time.perf_counter() - started) * 1000
        rounds = 50
        started = time.perf_counter()
        for _ in range(rounds):
            for query in QUERIES:
                matching.decide(query, pool, threshold=70, margin=5)
        per_query_ms = (time.perf_counter() - started) * 1000 / (rounds * len(QUERIES))
        print(
            f"{size:4d} entries: prepare {prepared_ms:6.1f} ms once, match {per_query_ms:6.2f} ms per message"
        )


if __name__ == "__main__":
    main()
