"""Killing the intake (SIGKILL) while county systems are sending loses nothing it answered 202
for: it answers only after the broker acknowledged every accepted event (acks=all), so an
answered event is on Kafka, and the consumers apply it exactly once."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx

from tests.harness import Platform, eventually
from tests.intake_client import Intake, credential, inbox_ids
from tests.scenario import County

SENDERS = 4
BATCH = 10
KILLS = 3


async def test_nothing_answered_202_is_lost_when_the_intake_is_killed(platform: Platform) -> None:
    c = County()
    url = platform.services["intake"].url
    secret = credential(c.county, f"故障测试-{c.county}", rate="10000/second")
    answered: list[str] = []  # ids of events answered 202
    interrupted = 0  # requests cut off by a kill (no answer): nothing is promised for them
    lock = threading.Lock()
    stop = threading.Event()
    numbers = iter(range(10**9))

    def send() -> None:
        nonlocal interrupted
        intake = Intake(url, secret)
        while not stop.is_set():
            with lock:
                keys = [str(next(numbers)) for _ in range(BATCH)]
            events = [c.register(key) for key in keys]
            try:
                answer = intake.batch(events)
            except httpx.TransportError:
                with lock:
                    interrupted += 1
                time.sleep(0.05)  # the intake is restarting
                continue
            if answer.status_code == 202:
                with lock:
                    answered.extend(r["id"] for r in answer.json()["results"])
            else:
                assert answer.status_code == 503, answer.text  # broker trouble: send again

    senders = [threading.Thread(target=send) for _ in range(SENDERS)]
    for thread in senders:
        thread.start()
    try:
        for _ in range(KILLS):
            await asyncio.sleep(1.5)
            platform.restart("intake")  # SIGKILL, start, wait until healthy
        await asyncio.sleep(1.5)
    finally:
        stop.set()
        for thread in senders:
            thread.join(timeout=60)
    assert interrupted >= 1, "no request was in flight when the intake was killed"
    assert len(answered) >= 100
    source = c.register("x")["source"]

    async def all_applied() -> dict[str, int] | None:
        ids = await inbox_ids("grading", source)
        return ids if all(i in ids for i in answered) else None

    ids = await eventually(all_applied, within=120, interval=1)
    assert {ids[i] for i in answered} == {1}  # each applied once
    print(f"{len(answered)} events answered 202, {interrupted} requests cut off by {KILLS} kills")
