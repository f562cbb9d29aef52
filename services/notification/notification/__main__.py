"""`python -m notification [--role all|consume|deliver]`: the service, or one of its roles
(notification/app.py). Every other argument is the service's own (`--help`)."""

import argparse
import sys

from grassroots.plumbing.service import run
from notification.app import Role, definition

parser = argparse.ArgumentParser(prog="python -m notification", add_help=False)
parser.add_argument(
    "--role",
    type=Role,
    choices=list(Role),
    default=Role.ALL,
    help="consume: apply the topics and plan deliveries, send nothing; deliver: only the "
    "delivery worker, sending what is planned; all (default): both in one process",
)
options, rest = parser.parse_known_args(sys.argv[1:])
if {"-h", "--help"} & set(rest):
    parser.print_help()
    print()
run(definition(options.role), rest)
