"""
The 503 of a database that cannot answer, as a browser draws it: the real answer, made by the
test client while the database is out of reach, is handed to the browser for the page's address
with its headers (the policy included); the stylesheet and scripts come from the live server.
"""

from django.test import Client
from playwright.sync_api import expect

from tests.database_down import UNREACHABLE, unreachable


def test_a_database_that_cannot_answer_gets_a_plain_page_in_the_portals_look(visit, client_user):
    browser = Client(raise_request_exception=False)
    browser.force_login(client_user)
    with unreachable(UNREACHABLE[0]):
        answer = browser.get("/appointments/")
    assert answer.status_code == 503
    visit.page.route(
        visit.base_url + "/appointments/",
        lambda route: route.fulfill(status=503, headers=dict(answer.headers), body=answer.content),
    )
    assert visit.goto("/appointments/").status == 503
    # Chromium notes the status in the console; anything else there (a CSP violation) still fails.
    visit.console_errors.remove(
        "Failed to load resource: the server responded with a status of 503 (Service Unavailable)"
    )
    page = visit.page
    expect(
        page.get_by_role("heading", name="We can't reach your records right now")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Go to your appointments")).to_be_visible()
    visit.check("database-unavailable")
