"""The fast paths of the API give the answers of the straightforward ones (issue 21)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any

from openpyxl import load_workbook
from pydantic_core import to_json

from reporting import exports, schemas, views

ROW: dict[str, Any] = {
    "branch_id": "610526-b1",
    "name": "=HYPERLINK(1)",
    "unit": "城关小学",
    "township": None,
    "initial_level": "strong",
    "initial_total": 91.5,
    "final_level": None,
    "final_total": None,
    "moved_up": False,
    "commitment_id": "c1",
    "review": "approved",
    "commitment_missing": False,
    "tasks_total": 3,
    "tasks_completed": 1,
    "tasks_overdue": 0,
    "settled_rate": 0.5,
    "commendations": 0,
    "initial_scores": {"leadership": 18.5},
    "final_scores": None,
}


def _cells(data: bytes) -> list[list[tuple[Any, str]]]:
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    return [[(cell.value, cell.number_format) for cell in row] for row in sheet.iter_rows()]


def _openpyxl(rows: Sequence[dict[str, Any]]) -> bytes:
    """The export as it was written before (openpyxl, the whole book in memory)."""
    return exports.workbook("党组织", exports.HEADERS, exports.table(rows), (exports.RATE_COLUMN,))


def test_the_streamed_export_has_the_cells_of_the_workbook_written_in_memory() -> None:
    rows = [ROW | {"branch_id": f"610526-b{n}"} for n in range(5)]

    async def batches() -> AsyncIterator[list[dict[str, Any]]]:
        yield rows[:2]
        yield rows[2:]

    async def streamed() -> bytes:
        return b"".join([piece async for piece in exports.xlsx_stream(batches())])

    expected = _cells(_openpyxl(rows))
    assert _cells(asyncio.run(streamed())) == expected
    assert _cells(exports.xlsx(rows)) == expected
    assert expected[1][exports.RATE_COLUMN - 1] == (0.5, "0.00%")


def test_a_branch_row_encoded_as_it_is_is_what_the_response_model_gives() -> None:
    for row in (ROW, ROW | {"initial_total": None, "township": "城关镇", "commitment_id": None}):
        for round_, following in (("initial", None), ("final", "610526-b1")):
            page = {"items": [views.branch_row(row, round_)], "page": 1, "page_size": 50}
            page |= {"total": 1, "next": following}
            expected = schemas.BranchPage.model_validate(page).model_dump_json()
            assert to_json(page) == expected.encode()
