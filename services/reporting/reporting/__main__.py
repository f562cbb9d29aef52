from grassroots.plumbing.service import run
from reporting.app import DEFINITION

run(DEFINITION)
