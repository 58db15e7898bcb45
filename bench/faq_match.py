"""How long matching one customer message takes against FAQs of growing size (prints figures).

    python bench/faq_match.py            # 16, 100 and 500 entries
    python bench/faq_match.py --smoke    # 16 and 100 entries, fewer rounds

Pure CPU: no database (--postgres is accepted, like every bench, and not used).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common as common
from bot.faq import library, matching
from bot.settings import Settings

QUERIES = [
    "when will my ordr arive",
    "متى يصل طلبي",
    "do you sell gift cards",
    "الإرجاع خلال ١٤ يوم",
    "refund",
]
BASELINE = 16  # entries: a small shop's FAQ; larger ones are compared to it


async def main(args) -> None:
    print("database: none" + (" (--postgres not used)" if args.postgres else ""))
    sample = library.load_file(Settings(_env_file=None).faq_file)
    rng = random.Random(7)  # noqa: S311  (reproducible sample of questions, not security)
    baseline = None
    for size in sorted({BASELINE, min(100, args.entries), args.entries}):
        rows = []
        for number in range(size):
            entry = sample[number % len(sample)]
            noise = " ".join(
                rng.choice(["blue", "large", "gift", "store", "app", "كبير", "متجر"]) for _ in range(2)
            )
            rows.append((number, f"{entry.question} {noise}", entry.phrasings))
        with common.timed() as prepared:
            pool = matching.candidates(rows)
        with common.timed() as matched:
            for _ in range(args.rounds):
                for query in QUERIES:
                    matching.decide(query, pool, threshold=70, margin=5)
        per_query_ms = matched.ms / (args.rounds * len(QUERIES))
        baseline = baseline or per_query_ms
        versus = f"{common.ratio(per_query_ms, baseline)} {BASELINE} entries"
        print(
            f"{size:4d} entries: prepare {prepared.ms:6.1f} ms once, "
            f"match {per_query_ms:6.2f} ms per message ({versus})"
        )


if __name__ == "__main__":
    parser = common.BenchParser(__doc__)
    parser.add_size("--entries", 500, 100, "the largest FAQ measured")
    parser.add_size("--rounds", 50, 5, "times each test message is matched")
    common.run(main, parser.parse_args())
