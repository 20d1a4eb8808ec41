"""Account > Download your data in a browser: ask, get the email, download once, and no more."""

import contextlib
import io
import zipfile
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.factories import TEST_PASSWORD
from tests.portal.test_data_copy import link_in
from tests.tasks import sent_mail


def emailed_path() -> str:
    """Let the worker build the copy and send its email; the path the email links to."""
    (message,) = [m for m in sent_mail() if "copy of your" in m.subject]
    return urlsplit(link_in(message)).path


def test_ask_for_a_copy_and_download_it_once(visit, client_user):
    visit.goto("/sign-in/")
    sign_in(visit, client_user.email, TEST_PASSWORD)
    page = visit.page

    visit.goto("/account/")
    page.get_by_role("link", name="Download your data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Download your data")
    visit.check("before")

    page.get_by_role("button", name="Email me a copy of my data").click()
    expect(page.get_by_role("status")).to_contain_text("We're preparing your copy")
    expect(page.get_by_text("Your copy is being prepared")).to_be_visible()
    expect(page.get_by_role("button", name="Email me a copy of my data")).to_have_count(0)
    visit.check("after")

    path = emailed_path()
    # Chromium reports a navigation that became a download as aborted.
    with page.expect_download() as download_info, contextlib.suppress(PlaywrightError):
        visit.goto(path)
    download = download_info.value
    assert download.suggested_filename.startswith("your-data-")
    with open(download.path(), "rb") as file:
        names = zipfile.ZipFile(io.BytesIO(file.read())).namelist()
    assert "appointments.ics" in names and "access.csv" in names

    response = visit.goto(path)
    assert response.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This link was used")
    # The browser logs the 410 it was meant to get; any other console error still fails.
    visit.console_errors.remove(
        "Failed to load resource: the server responded with a status of 410 (Gone)"
    )
    visit.check("used")
    page.get_by_role("link", name="Get a new copy").click()
    expect(page.get_by_role("button", name="Email me a copy of my data")).to_be_visible()


def test_asking_works_with_javascript_off(browser, live_server, transactional_db, client_user):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/?next=/account/")
    page.get_by_label("Email").fill(client_user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Download your data").click()
    page.get_by_role("button", name="Email me a copy of my data").click()
    expect(page.get_by_role("status")).to_contain_text("We're preparing your copy")
    expect(page.get_by_role("button", name="Email me a copy of my data")).to_have_count(0)
    assert emailed_path().startswith("/account/data/")
    context.close()
