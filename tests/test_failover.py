"""The short failover run, on the three-broker cluster (deploy/cluster.sh, started here): the
partition leaders' broker is SIGKILLed and brought back, then another broker is paused
(SIGSTOP) past its session timeout, while a seeded campaign is published. Nothing is lost or
doubled, and publishing resumes. The full run (three rounds, 30 s pauses) is `make failover`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.failover import KILL_LEADERS, PAUSE, cluster_for_tests, failover
from tests.harness import REPO


@pytest.fixture(scope="module")
def on_the_cluster(request: pytest.FixtureRequest) -> Iterator[None]:
    """This module's environment is deploy/cluster-env.sh's (services, watchers, database)."""
    environment = cluster_for_tests(request.config)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        yield


@pytest.mark.usefixtures("on_the_cluster")
def test_a_broker_killed_and_one_paused_lose_and_double_nothing() -> None:
    report = failover(
        REPO / ".local" / "logs" / "tests" / "failover",
        faults=[KILL_LEADERS, PAUSE],
        seed=11,
        branches=8,
        seconds=60,
        pause_seconds=10,
        down_seconds=4,
    )
    print(report.table())  # shown with -s, and in the failure message below
    assert report.clean, report.table()
    assert report.effects.checked["grading.results"] == 16, "8 branches, two rounds each"
    assert [fault.kind for fault in report.faults] == [KILL_LEADERS, PAUSE]
    killed, paused = report.faults
    assert killed.led > 0, "the broker killed led partitions"
    assert paused.broker != killed.broker
    for fault in report.faults:
        # The dead broker is fenced after 6 s without a heartbeat (broker.session.timeout.ms).
        assert fault.election_seconds < 20, report.table()
        assert fault.stall_seconds is not None and fault.stall_seconds < 45, report.table()
