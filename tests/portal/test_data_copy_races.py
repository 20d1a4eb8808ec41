"""
A client's copy of their data under requests sent at the same instant: threads, each with its
own database connection, through the real views (PostgreSQL in CI, SQLite on a file).
"""

import pytest
from django.test import Client
from django.urls import reverse

from portal import data_copy
from portal.models import DataCopy, Email
from tests.concurrency import race
from tests.portal.test_data_copy import ask_and_build
from tests.tasks import queued_task_count

pytestmark = pytest.mark.django_db(transaction=True)
RACERS = 8


def results(outcomes) -> list:
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    return [result for _, result in outcomes]


def test_requests_sent_at_once_queue_one_build(client_user):
    def ask(i):
        browser = Client()
        browser.force_login(client_user)
        return browser.post(reverse("account:data-copy")).status_code

    statuses = results(race(ask, RACERS))
    # Refused as "already being prepared" (a redirect with that message), or as over the day's
    # limit: never an error, and never a second copy.
    assert set(statuses) <= {302, 429} and 302 in statuses
    assert DataCopy.objects.count() == 1
    assert queued_task_count() == 1


def test_builds_run_at_once_make_one_copy_and_one_email(client_user):
    copy = data_copy.data_copy_request(client=client_user, actor=client_user)
    outcomes = results(race(lambda i: data_copy.build(copy.pk), 4))
    assert sum(outcome.startswith("built,") for outcome in outcomes) == 1
    assert Email.objects.filter(kind="data-copy-ready").count() == 1


def test_downloads_sent_at_once_give_the_zip_once(client_user):
    browser = Client()
    browser.force_login(client_user)
    path = ask_and_build(browser)

    def download(i):
        response = browser.get(path)
        if response.streaming:
            return response.status_code, len(b"".join(response.streaming_content))
        return response.status_code, 0

    answers = results(race(download, RACERS))
    assert sorted(status for status, _ in answers) == [200] + [410] * (RACERS - 1)
    assert all(size > 0 for status, size in answers if status == 200)
