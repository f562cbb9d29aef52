from grassroots.plumbing.service import run
from intake.app import DEFINITION

run(DEFINITION)
