"""
Django for a benchmark script, imported before anything of the project's: the development
settings, and a SQLite file of its own in a temporary folder unless DATABASE_URL names a
database. The scripts run as files (`python tests/benchmarks/slots.py`), so this is found
beside them and puts the project on the path.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.project.settings")
os.environ.setdefault(
    "DATABASE_URL", f"sqlite:///{tempfile.mkdtemp(prefix='portal-bench-')}/bench.sqlite3"
)
django.setup()


def timed(fn, runs: int = 50) -> tuple[float, float, object]:
    """The median and 95th percentile milliseconds of `runs` calls, and the last result."""
    samples = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], result
