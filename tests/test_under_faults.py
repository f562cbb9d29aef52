"""The short chaos run of `make test`: one fault of each kind while a seeded campaign is
published; the checker finds nothing lost and nothing doubled. (`make chaos` runs 24.)"""

from __future__ import annotations

from tests.chaos import FAULT_KINDS, run
from tests.harness import Platform


async def test_nothing_is_lost_or_doubled_under_faults(platform: Platform) -> None:
    report = await run(platform, faults=len(FAULT_KINDS), seed=11, branches=20, seconds=40)
    print(report.table())
    assert sorted(f.kind for f in report.faults) == sorted(FAULT_KINDS)
    assert report.published > 300
    assert report.lost == dict.fromkeys(report.checked, 0), report.table()
    assert not any(report.duplicated.values()), report.table()
