"""Time a page two ways on a shared, noisy machine: in turns, compared by their medians."""

import statistics
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def timed(browser: Client, url: str) -> float:
    started = time.perf_counter()
    response = browser.get(url)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, url
    return elapsed


def queries(browser: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        browser.get(url)
    return len(captured)


def ratio_of_medians(big: Client, small: Client, url: str, runs: int) -> float:
    """
    How many times longer `url` takes for the `big` browser's user than for the `small`
    one's: each asked `runs` times in turns, so that a drift in the machine's load hits both.
    """
    times: dict[str, list[float]] = {"big": [], "small": []}
    for _ in range(runs):
        times["big"].append(timed(big, url))
        times["small"].append(timed(small, url))
    return statistics.median(times["big"]) / statistics.median(times["small"])
