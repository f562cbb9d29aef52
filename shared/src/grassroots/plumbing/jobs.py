"""Work a service does on its own, declared in its `app.py` and run by the plumbing, each run
in one unit of work (so what it emits and defers reaches the outbox with its writes):

- `PeriodicJob`: every interval (the sweep interval by default), at the service's clock —
  reminders, overdue tasks. Runs again at the next interval when it fails. With
  `piecewise=True` its run does one piece of the work (a campaign's) and returns how much it
  found; it is run again at once, in a new unit of work, until a run finds nothing — so a
  province's sweep is a hundred small transactions, not one holding every county's events.
- `BarrierJob`: once per key (a closed phase, a round) after the phase-close barrier: it
  snapshots the end offsets of the topics the work depends on, waits until this service's
  consumer group has committed past them — committed means applied — and then runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from grassroots.plumbing import metrics, tracing
from grassroots.plumbing.offsets import OffsetsProbe
from grassroots.plumbing.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from grassroots.plumbing.service import Runtime

log = logging.getLogger(__name__)

S = TypeVar("S")
K = TypeVar("K")
POLL_SECONDS = 0.2
RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class PeriodicJob(Generic[S]):
    name: str
    run: Callable[[UnitOfWork[S]], Awaitable[object]]
    interval_seconds: float | None = None  # None: the service's sweep interval
    piecewise: bool = False  # run returns how much it found; again at once until nothing

    async def run_forever(self, runtime: Runtime[S]) -> None:
        interval = self.interval_seconds or runtime.settings.sweep_interval_seconds
        succeeded = metrics.JOB_LAST_SUCCESS.labels(runtime.definition.name, self.name)
        while True:
            started = time.time()
            try:
                await self.run_once(runtime)
                succeeded.set(started)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; retrying at the next interval", self.name)
            await asyncio.sleep(interval)

    async def run_once(self, runtime: Runtime[S]) -> None:
        """One pass: one unit of work, or, piecewise, units until one finds nothing."""
        while True:
            # Its own trace: what it emits (overdue tasks, reminders) carries it.
            with tracing.span(f"{runtime.definition.name} job {self.name}"):
                async with runtime.unit_of_work() as uow:
                    found = await self.run(uow)
            if not (self.piecewise and isinstance(found, int) and found > 0):
                return


Snapshot = Mapping[str, int]
"""{"topic:partition": end offset} when the key's phase closed."""


@dataclass(frozen=True)
class BarrierJob(Generic[S, K]):
    name: str
    topics: Sequence[str]  # what the work depends on
    # Every key waiting for its work, with its saved snapshot (None: not taken yet).
    waiting: Callable[[S], Awaitable[Sequence[tuple[K, Snapshot | None]]]]
    save_snapshot: Callable[[S, K, dict[str, int]], Awaitable[None]]
    # The work itself; it locks its key and does nothing when the key is done already
    # (by another replica, or before a restart).
    run: Callable[[UnitOfWork[S], K], Awaitable[object]]

    async def run_forever(self, runtime: Runtime[S]) -> None:
        probe = OffsetsProbe(
            runtime.settings.kafka_bootstrap_servers, group_id=runtime.definition.name
        )
        await probe.start()
        try:
            while True:
                try:
                    await self._pass(runtime, probe)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s behind the phase-close barrier failed; retrying", self.name)
                    await asyncio.sleep(RETRY_SECONDS)
                await asyncio.sleep(POLL_SECONDS)
        finally:
            await probe.stop()

    async def _pass(self, runtime: Runtime[S], probe: OffsetsProbe) -> None:
        async with runtime.unit_of_work() as uow:
            pending = await self.waiting(uow.store)
        for key, snapshot in pending:
            if snapshot is None:
                snapshot = await probe.end_offsets(self.topics)
                async with runtime.unit_of_work() as uow:
                    await self.save_snapshot(uow.store, key, dict(snapshot))
            if await probe.caught_up(snapshot):
                # One trace per key's work (a round's results, a phase's circular draft).
                with tracing.span(
                    f"{runtime.definition.name} job {self.name}", attributes={"job.key": str(key)}
                ):
                    async with runtime.unit_of_work() as uow:
                        await self.run(uow, key)


Job = PeriodicJob[S] | BarrierJob[S, Any]
