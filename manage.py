#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.project.settings")
    from django.core.management import execute_from_command_line

    from portal.project import process

    # A command (migrate, a crontab job) may wait longer on the database than a web request,
    # the worker as long as its tasks' deadline allows; runserver keeps the web's timeout.
    process.mark(process.kind_of(sys.argv))
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
