from grassroots.plumbing.service import run

from grading.app import DEFINITION

run(DEFINITION)
