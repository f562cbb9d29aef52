from grading.app import DEFINITION
from grassroots.plumbing.service import run

run(DEFINITION)
