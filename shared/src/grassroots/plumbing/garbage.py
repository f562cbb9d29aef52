"""The garbage collector set for a process that applies batches of events."""

from __future__ import annotations

import gc

# CPython's cyclic collector runs a young-generation pass every 700 new container objects, and
# now and then a pass over everything alive. A consumed batch of 2,000 events makes some hundred
# thousand pydantic objects, so with the defaults the collector took about half of parsing's
# time (11.5 µs an event). What start-up leaves alive (modules, schemas, the app) is frozen out
# of collection: that alone brings parsing to 6.7 µs. The young generation is then collected
# every 10,000 objects, not 700 (6.7 µs at 2,000, 10,000 or 50,000 alike: the threshold is kept
# low, so cyclic garbage — a refusal's traceback — goes soon and memory stays flat).
GC_THRESHOLDS = (10_000, 10, 10)


def collect_garbage_for_throughput() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
