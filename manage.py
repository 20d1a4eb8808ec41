#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.project.settings")
    from django.core.management import execute_from_command_line

    from portal.project import process

    # A command (migrate, a crontab job, the worker) may wait longer on the database than a
    # web request; runserver answers web requests and keeps their timeout.
    if not process.serves_requests(sys.argv):
        process.mark_command()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
