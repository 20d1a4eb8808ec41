"""
`manage.py db_worker`, with one function of the project made a pause point: when the worker
calls it, it says so (a file appears) and waits there to be killed. For the tests of a worker
that dies in the middle of a task on SQLite, where no row lock can hold it:

    PAUSE_IN=appointments.waitlist:pass_on PAUSED_FILE=/tmp/x python tests/worker_harness.py ...

`module:function#2` pauses at the second call instead (the first one runs as usual).

The worker is the real one; only the function named is replaced, and only in this process.
"""

import importlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.project.settings")


def pause_in(where: str, marker: str) -> None:
    place, _, nth = where.partition("#")
    module_name, name = place.split(":")
    module = importlib.import_module(module_name)
    real = getattr(module, name)
    calls = 0

    def paused(*args, **kwargs):
        nonlocal calls
        calls += 1
        if calls < int(nth or 1):
            return real(*args, **kwargs)
        Path(marker).write_text(where)
        time.sleep(3600)  # until the test kills the process

    setattr(module, name, paused)


if __name__ == "__main__":
    import django
    from django.core.management import execute_from_command_line

    from portal.project import process

    process.mark("worker")  # as manage.py marks db_worker
    django.setup()
    pause_in(os.environ["PAUSE_IN"], os.environ["PAUSED_FILE"])
    execute_from_command_line(["manage.py", *sys.argv[1:]])
