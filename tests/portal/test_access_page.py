"""Account > Access to your record: who opened the client's record and when; nobody else's, ever."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.audit import client_page
from portal.audit.models import Action, Role
from portal.audit.recorder import Entry, record_entries
from portal.keyset import Position
from portal.views import ACCESS_PER_PAGE
from tests.factories import ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db
ACCESS = reverse("account:access")
NOON = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)  # 12:00 PM in New York (EDT)


@pytest.fixture
def office(provider):
    """Someone on the provider's office staff."""
    return UserFactory(email="sam.front@example.com", name="Sam Front", is_staff=True)


@pytest.fixture
def doctor(provider):
    provider.user.name = "Dr. Maya Okafor"
    provider.user.save()
    return provider.user


def seen(client, *, by, practice=None, role=Role.PROVIDER, action=Action.VIEWED, **more):
    """An entry about `client`, as the code that shows or changes a record writes it."""
    more.setdefault("records", ["appointments.appointment:1"])
    return Entry(
        action=action,
        actor_id=by.pk if by else None,
        actor_role=role,
        client_id=client.pk,
        practice_id=practice.pk if practice else None,
        **more,
    )


def entries_in(html: str) -> int:
    return html.count('class="choice choice--static access-entry"')


# --- Who may see it ----------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(ACCESS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("sign-in"))


def test_it_answers_only_get(signed_in):
    assert signed_in.post(ACCESS).status_code == 405


def test_the_account_page_links_to_it(signed_in):
    assert f'href="{ACCESS}"' in signed_in.get(reverse("account:detail")).text


def test_it_lists_the_clients_own_entries_and_never_anothers(
    signed_in, client, client_user, stranger, provider, doctor
):
    record_entries(
        [
            seen(client_user, by=doctor, practice=provider, records=["appointments.appointment:1"]),
            seen(stranger, by=doctor, practice=provider, action=Action.EXPORTED),
        ]
    )
    mine = signed_in.get(ACCESS).text
    assert "Dr. Maya Okafor (provider) viewed your appointment" in mine
    assert "exported" not in mine
    client.force_login(stranger)
    theirs = client.get(ACCESS).text
    assert "Dr. Maya Okafor (provider) exported your appointment" in theirs
    assert "viewed" not in theirs
    assert entries_in(mine) == entries_in(theirs) == 1


def test_what_the_client_did_themself_is_not_listed(signed_in, client_user, provider, doctor):
    record_entries(
        [
            seen(client_user, by=client_user, role=Role.CLIENT, action=Action.DATA_COPY),
            seen(client_user, by=doctor, practice=provider),
        ]
    )
    html = signed_in.get(ACCESS).text
    assert entries_in(html) == 1
    assert "made a copy" not in html


def test_it_says_so_when_no_one_has_opened_the_record(signed_in, client_user):
    record_entries([seen(client_user, by=client_user, role=Role.CLIENT)])
    html = signed_in.get(ACCESS).text
    assert "No one has opened your record yet." in html
    assert entries_in(html) == 0


# --- What it says ------------------------------------------------------------------------------


def test_newest_first_in_the_clients_time_zone(signed_in, client_user, provider, doctor):
    record_entries(
        [
            seen(client_user, by=doctor, practice=provider, at=NOON - timedelta(days=1)),
            seen(client_user, by=doctor, practice=provider, at=NOON, action=Action.CHANGED),
        ]
    )
    html = signed_in.get(ACCESS).text
    assert html.index("Wed 1 Jul 2026, 12:00 PM EDT") < html.index("Tue 30 Jun 2026, 12:00 PM EDT")
    assert html.index("changed your appointment") < html.index("viewed your appointment")
    assert '<time datetime="2026-07-01T16:00:00+00:00">' in html
    assert "Times are shown in" in html

    client_user.time_zone = "Asia/Tokyo"
    client_user.save()
    assert "Thu 2 Jul 2026, 1:00 AM JST" in signed_in.get(ACCESS).text


def test_a_practice_can_show_roles_instead_of_names(
    signed_in, client_user, provider, doctor, office
):
    record_entries(
        [
            seen(client_user, by=doctor, practice=provider),
            seen(client_user, by=office, practice=provider, role=Role.OFFICE_STAFF),
        ]
    )
    html = signed_in.get(ACCESS).text
    assert "Dr. Maya Okafor (provider) viewed your appointment" in html
    assert "Sam Front (office staff) viewed your appointment" in html
    assert "Dr. Maya Okafor&#x27;s practice" in html

    provider.show_staff_names_to_clients = False
    provider.save()
    html = signed_in.get(ACCESS).text
    assert "Sam Front" not in html
    assert "A provider at Dr. Maya Okafor&#x27;s practice viewed your appointment" in html
    assert "Office staff at Dr. Maya Okafor&#x27;s practice viewed your appointment" in html
    assert entries_in(html) == 2  # the list stays; only the names go


def test_the_switch_is_the_practices_own(signed_in, client_user, provider, doctor, office):
    other = ProviderFactory(display_name="Dr. Ana Ruiz", show_staff_names_to_clients=False)
    record_entries(
        [
            seen(client_user, by=doctor, practice=provider),
            seen(client_user, by=office, practice=other, role=Role.OFFICE_STAFF),
        ]
    )
    html = signed_in.get(ACCESS).text
    assert "Dr. Maya Okafor (provider) viewed" in html
    assert "Office staff at Dr. Ana Ruiz&#x27;s practice viewed" in html
    assert "Sam Front" not in html


@pytest.mark.parametrize(
    ("role", "action", "more", "says"),
    [
        (
            Role.OPERATOR,
            Action.EXPORTED,
            {
                "origin": "command:export_appointments",
                "records": [f"appointments.appointment:{pk}" for pk in (1, 2, 3)],
            },
            "An administrator exported 3 of your appointments (from the server)",
        ),
        (
            Role.SYSTEM,
            Action.EMAILED,
            {"origin": "task:send_reminders", "records": []},
            "The portal sent you an email (automatically)",
        ),
        (
            Role.ADMINISTRATOR,
            Action.VIEWED_HISTORY,
            {"origin": "admin", "records": ["appointments.appointment:1"]},
            "A portal administrator looked at the history of your appointment",
        ),
        (
            Role.OFFICE_STAFF,
            Action.ADMIN_ACTION,
            {"records": ["appointments.appointment:1", "appointments.fee:2", "appointments.fee:3"]},
            "Sam Front (office staff) ran an action on your appointment and 2 of your fees",
        ),
        (
            Role.PROVIDER,
            Action.VIEWED,
            {"records": ["chat.conversation:4", "chat.message:7", "chat.message:8"]},
            "Sam Front (provider) viewed your conversation and 2 of your messages",
        ),
        (
            Role.PROVIDER,
            Action.PRINTED,
            {"records": ["elsewhere.thing:1"]},
            "Sam Front (provider) printed your record",
        ),
    ],
)
def test_each_kind_of_entry_reads_plainly(
    signed_in, client_user, provider, office, role, action, more, says
):
    practice = provider if role in {Role.PROVIDER, Role.OFFICE_STAFF} else None
    actor = None if role == Role.SYSTEM else office
    entry = seen(client_user, by=actor, practice=practice, role=role, action=action, **more)
    record_entries([entry])
    assert says in signed_in.get(ACCESS).text


def test_every_action_has_words():
    assert set(client_page.DOING) == set(Action.values)


def test_every_kind_of_record_named_is_a_model():
    """A renamed model would silently read "your record": the names follow the models."""
    from django.apps import apps

    labels = set(client_page._record_nouns)
    assert {"appointments.appointment", "chat.conversation", "portal.user"} <= labels
    for label in labels:
        assert apps.get_model(label)._meta.label_lower == label


def test_staff_of_a_practice_that_is_gone_are_named_by_role(signed_in, client_user, office):
    gone = ProviderFactory()
    record_entries([seen(client_user, by=office, practice=gone, role=Role.OFFICE_STAFF)])
    gone.delete()
    assert "Office staff at a practice viewed" in signed_in.get(ACCESS).text


def test_without_a_practice_lookup_only_roles_show(monkeypatch, client_user, provider, office):
    monkeypatch.setattr(client_page, "_practice_lookup", None)
    record_entries([seen(client_user, by=office, practice=provider, role=Role.OFFICE_STAFF)])
    rows = list(client_page.entries_about(client_user))
    [line] = client_page.lines(rows, client_user.zone)
    assert line.sentence == "Office staff at a practice viewed your appointment"


def test_the_practices_of_a_page_are_one_query(django_assert_num_queries, provider):
    others = ProviderFactory.create_batch(3)
    ids = [provider.pk, *(each.pk for each in others), 999_999]
    with django_assert_num_queries(1):
        found = client_page.practices(ids)
    assert set(found) == set(ids) - {999_999}
    assert found[provider.pk] == client_page.Practice("Dr. Maya Okafor", True)
    with django_assert_num_queries(0):
        assert client_page.practices([None]) == {}


# --- Pages -------------------------------------------------------------------------------------


@pytest.fixture
def many(client_user, provider, doctor):
    """Two pages and five of entries, a minute apart, the newest at NOON."""
    count = ACCESS_PER_PAGE + 5
    record_entries(
        [
            seen(client_user, by=doctor, practice=provider, at=NOON - timedelta(minutes=i))
            for i in range(count)
        ]
    )
    return count


def test_older_and_newer_pages(signed_in, many):
    first = signed_in.get(ACCESS)
    assert entries_in(first.text) == ACCESS_PER_PAGE
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    older = first.context["page"].next_query
    second = signed_in.get(ACCESS + older)
    assert entries_in(second.text) == 5
    assert ">Newer</a>" in second.text and 'rel="next"' not in second.text
    back = signed_in.get(ACCESS + second.context["page"].previous_query)
    assert [line.pk for line in back.context["lines"]] == [
        line.pk for line in first.context["lines"]
    ]


def test_show_older_with_htmx_adds_the_next_entries_and_focuses_the_first(signed_in, many):
    older = signed_in.get(ACCESS).context["page"].next_query
    response = signed_in.get(ACCESS + older, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<h1>" not in response.text  # only the region that is swapped in
    assert entries_in(response.text) == 5
    assert response.text.count("data-swap-focus") == 1
    assert 'tabindex="-1" data-swap-focus' in response.text.split("</li>")[0]
    assert ">Newer</a>" not in response.text  # the newer ones are still above


@pytest.mark.parametrize(
    "query",
    ["?after=nonsense", "?before=1_", "?after=" + "9" * 30 + "_1", "?before=-5_3", "?after=1%0A_2"],
)
def test_a_cursor_we_did_not_make_shows_the_newest_with_a_message(signed_in, many, query):
    response = signed_in.get(ACCESS + query)
    assert response.status_code == 200
    assert "isn't one we know" in response.text
    assert entries_in(response.text) == ACCESS_PER_PAGE


def test_a_place_in_another_clients_list_shows_only_ones_own(
    client, client_user, stranger, provider, doctor, many
):
    record_entries([seen(stranger, by=doctor, practice=provider, at=NOON - timedelta(days=9))])
    newest = Position(NOON + timedelta(hours=1), 10**9)
    client.force_login(stranger)
    for query in (f"?after={newest}", f"?before={newest}", "?page=last"):
        response = client.get(ACCESS + query)
        assert response.status_code == 200
        assert entries_in(response.text) == 1, query


def test_the_query_count_stays_flat_however_many_entries(client_user, signed_in, provider, office):
    practices = [provider, *ProviderFactory.create_batch(2)]

    def make(count, start):
        record_entries(
            [
                seen(
                    client_user,
                    by=office,
                    practice=practices[i % 3],
                    role=Role.OFFICE_STAFF,
                    at=start - timedelta(minutes=i),
                )
                for i in range(count)
            ]
        )

    def queries(query=""):
        signed_in.get(ACCESS)  # the session's first-request writes out of the way
        with CaptureQueriesContext(connection) as captured:
            assert signed_in.get(ACCESS + query).status_code == 200
        return len(captured)

    make(5, NOON)
    few = queries()
    make(195, NOON - timedelta(days=1))
    assert queries() == few
    # A middle page asks once more: whether there are newer ones.
    middle = signed_in.get(ACCESS).context["page"].next_query
    assert queries(middle) == few + 1


def test_the_page_reads_through_the_clients_index(client_user, provider, doctor):
    """
    Filtered on the client and ordered by (at, id) as the (client, at, id) index is: a page is
    read from the index's newest end for that client, never gathered and sorted.
    """
    others = UserFactory.create_batch(20)
    record_entries(
        [
            seen(each, by=doctor, practice=provider, at=NOON - timedelta(minutes=i))
            for i in range(100)
            for each in (client_user, *(others if i < 25 else ()))
        ]
    )
    after = Position(NOON - timedelta(minutes=50), 10**9)
    rows = client_page.entries_about(client_user).order_by("-at", "-pk")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        if connection.vendor == "postgresql":
            # On tables this small the planner may rightly prefer a scan and a sort; this asks
            # whether the query can be answered in the index's order at all.
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("SET LOCAL enable_incremental_sort = off")
    for query in (rows, rows.filter(at__lte=after.at)):
        plan = query[: ACCESS_PER_PAGE + 1].explain()
        assert "audit_entry_client_at" in plan, plan
        assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan


# --- The practice's switch ---------------------------------------------------------------------


def test_the_practice_turns_names_off_on_its_provider_page(staff_browser, client_user):
    from appointments.models import Provider
    from portal.practice import join_practice_staff

    provider = ProviderFactory(display_name="Dr. Ours")
    join_practice_staff(provider.user)
    assert Provider._meta.get_field("show_staff_names_to_clients").default is True
    page = staff_browser(provider.user).get(
        reverse("admin:appointments_provider_change", args=[provider.pk])
    )
    assert page.status_code == 200
    assert 'name="show_staff_names_to_clients"' in page.text
    assert "Show staff names to clients" in page.text
