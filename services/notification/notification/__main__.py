from grassroots.plumbing.service import run
from notification.app import DEFINITION

run(DEFINITION)
