from grassroots.plumbing.service import run
from rectification.app import DEFINITION

run(DEFINITION)
