"""The reporting API's response shapes (the contract's keys, plus documented extras)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Level = Literal["strong", "fairly_strong", "average", "weak"]
Round = Literal["initial", "final"]


class LevelCounts(BaseModel):
    strong: int
    fairly_strong: int
    average: int
    weak: int


class RoundCounts(BaseModel):
    initial: int
    final: int


class Commitments(BaseModel):
    published: int = Field(description="Branches with a published commitment.")
    approved: int = Field(description="… whose latest revision was approved.")
    returned: int = Field(description="… whose latest revision was returned with guidance.")
    missing: int = Field(description="Branches named for a missing commitment, still without one.")


class TaskCounts(BaseModel):
    total: int
    completed: int
    overdue: int = Field(description="Past deadline and not completed.")


class Summary(BaseModel):
    campaign_id: str
    county_code: str
    name: str | None
    phase: str | None = Field(description="The phase most recently opened.")
    phases: dict[str, dict[str, str]] = Field(description="opened_at / closed_at per phase.")
    branches: int = Field(description="Registered gradable branches of the county.")
    levels: dict[Round, LevelCounts]
    incomplete: RoundCounts
    moved_up: int
    commitments: Commitments
    tasks: TaskCounts
    commendations: int
    activities: int
    updated_at: str | None = Field(description="Time of the latest event applied (UTC+8).")


class BranchRow(BaseModel):
    branch_id: str
    name: str
    unit: str
    township: str | None
    round: Round
    level: Level | None
    total: float | None
    initial_level: Level | None
    final_level: Level | None
    moved_up: bool
    commitment: Literal["pending", "approved", "returned"] | None
    tasks: TaskCounts
    completion_rate: float | None
    commendations: int


class BranchPage(BaseModel):
    items: list[BranchRow]
    page: int
    page_size: int
    total: int


class Grade(BaseModel):
    level: Level
    total: float | None
    basis: str | None
    scores: dict[str, float] | None


class Problem(BaseModel):
    problem_id: str
    description: str
    source: str
    needs_superior: bool
    escalated_to: str | None


class Commitment(BaseModel):
    commitment_id: str
    revision: int | None
    review: Literal["pending", "approved", "returned"] | None
    guidance: str | None


class Task(BaseModel):
    task_id: str
    title: str | None
    responsible: str | None
    deadline: str | None
    kind: str | None
    percent: int
    status: Literal["open", "completed", "overdue"]


class Commendation(BaseModel):
    honour: str
    title: str
    member_name: str | None


class Activity(BaseModel):
    kind: str
    title: str
    held_on: str


class Card(BaseModel):
    campaign_id: str
    branch_id: str
    name: str
    unit: str
    township: str | None
    secretary: str
    grades: dict[Round, Grade | None]
    incomplete: dict[Round, list[str]]
    moved_up: bool
    problems: list[Problem]
    commitment: Commitment | None
    commitment_missing: bool
    tasks: list[Task]
    completion_rate: float | None
    assessment_score: float | None
    commendations: list[Commendation]
    activities: list[Activity]


class LaggingItem(BaseModel):
    branch_id: str
    name: str
    township: str | None
    reasons: list[Literal["task_overdue", "commitment_missing", "grading_incomplete"]]
    overdue_tasks: int
    level: Level | None


class Lagging(BaseModel):
    items: list[LaggingItem]


class Problem4xx(BaseModel):
    detail: str
