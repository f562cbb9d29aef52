"""The garbage collector set for a process that applies batches of events."""

from __future__ import annotations

import gc

# CPython's cyclic collector runs a young-generation pass every 700 new container objects, and
# now and then a pass over everything alive. A consumed batch of 2,000 events makes some hundred
# thousand pydantic objects, so with the defaults the collector took more than half of parsing's
# time (13.2 µs an event, 5.7 without it). What start-up leaves alive
# (modules, schemas, the app) is frozen out of collection, and the young generation is
# collected every 50,000 objects: events hold no reference cycles, so reference counting frees
# them anyway, and what cycles there are still go, a little later.
GC_THRESHOLDS = (50_000, 20, 10)


def collect_garbage_for_throughput() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
