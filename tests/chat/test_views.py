import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.models import CareTeamMember, OfficeStaff
from chat.models import Message, ReadState
from chat.services import conversation_start, message_send
from tests.factories import AppointmentFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(client_user, provider):
    return conversation_start(client=client_user, provider=provider)


def say(conversation, sender, body="Hello"):
    return message_send(
        conversation=conversation, sender=sender, body=body, client_key=uuid.uuid4()
    )


def post_message(browser, url, body="Hello there", **extra):
    return browser.post(url, {"body": body, "client_key": str(uuid.uuid4()), **extra})


def detail(conversation):
    return reverse("chat:detail", args=[conversation.pk])


def poll(conversation, after):
    return reverse("chat:poll", args=[conversation.pk]) + f"?after={after}"


# --- Access ---------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, conversation):
    for url in [
        reverse("chat:list"),
        reverse("chat:new"),
        detail(conversation),
        poll(conversation, 0),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("sign-in")), url


def test_a_stranger_gets_404_for_the_conversation_its_poll_and_its_post(
    client, stranger, conversation, client_user
):
    say(conversation, client_user, "private")
    client.force_login(stranger)
    assert client.get(detail(conversation)).status_code == 404
    assert client.get(poll(conversation, 0)).status_code == 404
    assert post_message(client, detail(conversation)).status_code == 404
    assert Message.objects.count() == 1


def test_a_stranger_cannot_start_a_chat_with_someone_elses_provider(client, stranger, provider):
    client.force_login(stranger)
    assert client.get(reverse("chat:new-with", args=[provider.pk])).status_code == 404


def test_the_owner_sees_their_pages(signed_in, conversation, provider):
    for url in [reverse("chat:list"), reverse("chat:new"), detail(conversation)]:
        assert signed_in.get(url).status_code == 200


@pytest.mark.parametrize("name", ["list", "new"])
def test_list_pages_refuse_post(signed_in, name):
    assert signed_in.post(reverse(f"chat:{name}")).status_code == 405


def test_the_poll_refuses_post(signed_in, conversation):
    assert signed_in.post(poll(conversation, 0)).status_code == 405


# --- Pages ----------------------------------------------------------------------------------


def test_the_list_shows_each_conversation_with_preview_and_unread(
    signed_in, conversation, provider, client_user
):
    say(conversation, client_user, "Hi")
    say(conversation, provider.user, "Hello Jordan, how are you feeling this week?")
    html = signed_in.get(reverse("chat:list")).text
    assert "Dr. Maya Okafor" in html
    assert "Hello Jordan, how are you feeling this week?" in html
    assert '<span class="badge">1<span class="visually-hidden"> unread</span></span>' in html


def test_newest_activity_comes_first(signed_in, client_user, provider, conversation):
    other = ProviderFactory(display_name="Dr. Second")
    CareTeamMember.objects.create(provider=other, client=client_user)
    second = conversation_start(client=client_user, provider=other)
    say(conversation, client_user, "older")
    say(second, client_user, "newer")
    html = signed_in.get(reverse("chat:list")).text
    assert html.index("Dr. Second") < html.index("Dr. Maya Okafor")


def test_new_chat_opens_the_existing_conversation(signed_in, conversation, provider):
    response = signed_in.get(reverse("chat:new-with", args=[provider.pk]))
    assert response.status_code == 302 and response.url == detail(conversation)


def test_new_chat_sends_the_first_message(signed_in, provider, client_user):
    response = post_message(
        signed_in, reverse("chat:new-with", args=[provider.pk]), "First message"
    )
    conversation = client_user.conversations.get()
    assert response.status_code == 302 and response.url == detail(conversation)
    assert conversation.messages.get().body == "First message"


def test_a_provider_without_chat_shows_the_office_and_refuses_a_post(signed_in, provider):
    provider.uses_chat = False
    provider.save()
    url = reverse("chat:new-with", args=[provider.pk])
    page = signed_in.get(url)
    assert "doesn&#x27;t use Chat" in page.text or "doesn't use Chat" in page.text
    assert "office@practice.example" in page.text
    assert post_message(signed_in, url).status_code == 403
    assert not Message.objects.exists()


def test_an_earlier_conversation_turns_read_only(signed_in, conversation, provider, client_user):
    say(conversation, client_user, "Earlier")
    provider.uses_chat = False
    provider.save()
    html = signed_in.get(detail(conversation)).text
    assert "Earlier" in html and "This conversation is read-only" in html
    assert 'id="compose"' not in html
    response = post_message(signed_in, detail(conversation))
    assert response.status_code == 400
    assert conversation.messages.count() == 1


def test_a_message_from_an_appointment_starts_with_a_draft_and_keeps_the_link(
    signed_in, provider, session_type, client_user
):
    appointment = AppointmentFactory(appointment_type=session_type, client=client_user)
    url = reverse("chat:new-with", args=[provider.pk]) + f"?appointment={appointment.pk}"
    html = signed_in.get(url).text
    local = appointment.start.astimezone(client_user.zone)
    assert f"About my appointment on {local:%a} {local.day} {local:%b}, " in html
    post_message(
        signed_in, url, "About my appointment: can we move it?", appointment=appointment.pk
    )
    message = Message.objects.get()
    assert message.appointment == appointment
    html = signed_in.get(detail(message.conversation)).text
    assert f"#appointment-{appointment.pk}" in html


def test_someone_elses_appointment_never_becomes_a_draft(
    signed_in, provider, session_type, stranger
):
    theirs = AppointmentFactory(appointment_type=session_type, client=stranger)
    html = signed_in.get(
        reverse("chat:new-with", args=[provider.pk]) + f"?appointment={theirs.pk}"
    ).text
    assert "About my appointment" not in html


def test_the_reply_shows_who_wrote_it(signed_in, conversation, provider):
    staff = UserFactory(name="Alex Kim")
    OfficeStaff.objects.create(provider=provider, user=staff)
    say(conversation, staff, "I booked it.")
    html = signed_in.get(detail(conversation)).text
    assert "Alex Kim, for Dr. Maya Okafor</span>" in html


def test_html_in_a_message_shows_as_text(signed_in, conversation, client_user):
    say(conversation, client_user, "<script>alert(1)</script><b>bold</b>")
    html = signed_in.get(detail(conversation)).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<b>bold</b>" not in html


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"body": "   "}, "Write a message first"),
        ({"body": "x" * 2001}, "at most 2,000 characters"),
        ({"body": "hi", "client_key": "not-a-uuid"}, "This page is out of date"),
    ],
)
def test_bad_input_gets_a_message_and_sends_nothing(signed_in, conversation, data, text):
    payload = {"client_key": str(uuid.uuid4())} | data
    response = signed_in.post(detail(conversation), payload)
    assert response.status_code == 400
    assert text in response.text
    assert not Message.objects.exists()


def test_a_double_submit_sends_once(signed_in, conversation):
    data = {"body": "Only once", "client_key": str(uuid.uuid4())}
    signed_in.post(detail(conversation), data)
    signed_in.post(detail(conversation), data)
    assert Message.objects.filter(body="Only once").count() == 1


def test_an_htmx_send_answers_with_a_fresh_form_and_the_message(signed_in, conversation):
    response = signed_in.post(
        detail(conversation),
        {"body": "Via htmx", "client_key": str(uuid.uuid4())},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    message = Message.objects.get()
    assert '<form id="compose"' in response.text
    assert 'data-hx-swap-oob="beforeend:#message-list"' in response.text
    assert f'id="message-{message.pk}"' in response.text
    assert f"?after={message.pk}" in response.text


# --- Polling --------------------------------------------------------------------------------


def test_the_poll_answers_nothing_new_with_204_and_no_body(signed_in, conversation, client_user):
    message = say(conversation, client_user)
    response = signed_in.get(poll(conversation, message.pk))
    assert response.status_code == 204
    assert response.content == b""


def test_the_poll_returns_new_messages_and_marks_them_read(
    signed_in, conversation, client_user, provider
):
    first = say(conversation, client_user)
    reply = say(conversation, provider.user, "A reply")
    response = signed_in.get(poll(conversation, first.pk), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "A reply" in response.text and f"?after={reply.pk}" in response.text
    from chat.selectors import unread_total

    assert unread_total(client_user) == 0


@pytest.mark.parametrize("after", ["", "abc", "-1", "9" * 30, "²", "١٢", "１２", "1%0A"])
def test_the_poll_refuses_a_bad_cursor(signed_in, conversation, after):
    url = reverse("chat:poll", args=[conversation.pk]) + f"?after={after}"
    response = signed_in.get(url)
    assert response.status_code == 400
    assert "A message id is needed" in response.text


@pytest.mark.parametrize("raw", ["²", "١٢", "9" * 30])
def test_an_unreadable_older_cursor_shows_the_newest_messages(
    signed_in, conversation, client_user, raw
):
    say(conversation, client_user, "The newest")
    response = signed_in.get(detail(conversation), {"before": raw})
    assert response.status_code == 200
    assert "The newest" in response.text


# The appointment's own id in other scripts' digits: str.isdigit() accepted them and int()
# read them, so "?appointment=١٢" linked appointment 12.
OTHER_DIGITS = {"arabic-indic": "٠١٢٣٤٥٦٧٨٩", "fullwidth": "０１２３４５６７８９"}


@pytest.mark.parametrize("digits", ["arabic-indic", "fullwidth", "superscript"])
def test_an_appointment_id_in_other_digits_is_not_an_id(
    signed_in, conversation, provider, session_type, client_user, digits
):
    appointment = AppointmentFactory(appointment_type=session_type, client=client_user)
    raw = (
        "²"
        if digits == "superscript"
        else str(appointment.pk).translate(str.maketrans("0123456789", OTHER_DIGITS[digits]))
    )
    for url in (detail(conversation), reverse("chat:new-with", args=[provider.pk])):
        response = signed_in.get(url, {"appointment": raw}, follow=True)
        assert response.status_code == 200
        assert "About my appointment" not in response.text
    post_message(signed_in, detail(conversation), "Hello", appointment=raw)
    assert not Message.objects.filter(appointment__isnull=False).exists()


def test_polling_does_not_keep_an_idle_session_alive(signed_in, conversation, client_user):
    import time

    from portal.middleware import SESSION_SEEN_KEY

    session = signed_in.session
    session[SESSION_SEEN_KEY] = time.time() - 10 * 60
    session.save()
    signed_in.get(poll(conversation, 0))
    assert time.time() - signed_in.session[SESSION_SEEN_KEY] >= 10 * 60 - 5


# --- Query counts ---------------------------------------------------------------------------


def count(browser, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(url).status_code == 200
    return len(queries)


def test_the_list_runs_a_fixed_number_of_queries(signed_in, client_user, provider, conversation):
    say(conversation, provider.user)
    baseline = count(signed_in, reverse("chat:list"))
    for _ in range(8):
        other = ProviderFactory()
        CareTeamMember.objects.create(provider=other, client=client_user)
        say(conversation_start(client=client_user, provider=other), other.user)
    assert count(signed_in, reverse("chat:list")) == baseline


def test_a_conversation_with_thousands_of_messages_stays_flat(
    signed_in, conversation, client_user, provider
):
    say(conversation, provider.user)
    count(signed_in, detail(conversation))  # the first visit creates the read marker
    say(conversation, provider.user)
    baseline = count(signed_in, detail(conversation))  # and this one moves it
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            sender=provider.user if i % 2 else client_user,
            body=f"m{i}",
            client_key=uuid.uuid4(),
        )
        for i in range(3000)
    )
    assert count(signed_in, detail(conversation)) == baseline
    html = signed_in.get(detail(conversation)).text
    assert html.count('class="msg ') == 50
    assert "Show older messages" in html


def test_older_messages_load_on_demand(signed_in, conversation, client_user):
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            sender=client_user,
            body=f"number {i}",
            client_key=uuid.uuid4(),
        )
        for i in range(120)
    )
    ids = list(conversation.messages.order_by("id").values_list("id", flat=True))
    page = signed_in.get(detail(conversation)).text
    assert "number 119" in page and "number 69" not in page
    older = signed_in.get(
        detail(conversation) + f"?before={ids[70]}", headers={"HX-Request": "true"}
    )
    assert "number 69" in older.text and "number 20" in older.text and "number 19" not in older.text
    assert 'data-hx-swap-oob="afterbegin:#message-list"' in older.text
    assert "Show older messages" in older.text


def test_the_poll_brings_the_menus_count_when_another_conversation_gets_a_message(
    signed_in, conversation, client_user, provider
):
    message = say(conversation, client_user)
    other = ProviderFactory(display_name="Dr. Other")
    CareTeamMember.objects.create(provider=other, client=client_user)
    elsewhere = conversation_start(client=client_user, provider=other)
    quiet = signed_in.get(poll(conversation, message.pk) + "&unread=0")
    assert quiet.status_code == 204
    say(elsewhere, other.user)
    response = signed_in.get(poll(conversation, message.pk) + "&unread=0")
    assert response.status_code == 200
    assert 'id="chat_unread-side" class="badge" data-hx-swap-oob="true">1<' in response.text
    assert (
        'id="chat_unread-bottom" class="badge badge--dot" data-hx-swap-oob="true">1<'
        in response.text
    )
    assert "&amp;unread=1" in response.text  # the next poll compares with what is now shown


def test_a_quiet_poll_is_one_query_after_the_session_however_long_the_threads(
    signed_in, conversation, client_user, provider
):
    message = say(conversation, client_user)
    url = poll(conversation, message.pk) + "&unread=0"

    def quiet_poll() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert signed_in.get(url).status_code == 204
        return [query["sql"] for query in queries]

    queries = quiet_poll()
    # The session, the user, and one statement: is there anything newer here, and how many
    # are unread everywhere.
    assert len(queries) == 3
    Message.objects.bulk_create(
        Message(
            conversation=conversation, sender=client_user, body=f"m{i}", client_key=uuid.uuid4()
        )
        for i in range(500)
    )
    newest = conversation.messages.order_by("-id").first()
    url = poll(conversation, newest.pk) + "&unread=0"
    assert len(quiet_poll()) == 3


def test_reading_a_conversation_again_writes_nothing(signed_in, conversation, provider):
    say(conversation, provider.user, "One")
    signed_in.get(detail(conversation))  # read: the marker moves to "One"
    with CaptureQueriesContext(connection) as queries:
        assert signed_in.get(detail(conversation)).status_code == 200
    sql = [query["sql"] for query in queries]
    assert not [statement for statement in sql if statement.startswith(("UPDATE", "INSERT"))]
    # Nor does it ask again for the newest message: the page has just read it. Nor for the
    # marker, nor for the page: they come with the conversation.
    reads_messages = r'\s*SELECT [^()]*? FROM "?chat_message\b'  # as its main table
    assert not [statement for statement in sql if re.match(reads_messages, statement)]
    assert not [statement for statement in sql if statement.startswith('SELECT "chat_readstate"')]
    # The session, the user, the conversation with its newest page, the menus' unread count.
    assert len(sql) == 4


def test_the_first_read_and_a_read_of_new_messages_move_the_marker(
    signed_in, conversation, client_user, provider
):
    first = say(conversation, provider.user, "One")
    signed_in.get(detail(conversation))  # no marker yet: it is made
    assert ReadState.objects.get(conversation=conversation, user=client_user).last_read_id == (
        first.pk
    )
    second = say(conversation, provider.user, "Two")
    signed_in.get(detail(conversation))  # the marker was behind: it moves
    assert ReadState.objects.get(conversation=conversation, user=client_user).last_read_id == (
        second.pk
    )


def test_the_marker_moves_to_the_newest_message_the_page_shows(
    signed_in, conversation, client_user, provider
):
    say(conversation, provider.user, "One")
    newest = say(conversation, provider.user, "Two")
    signed_in.get(detail(conversation))
    assert ReadState.objects.get(conversation=conversation, user=client_user).last_read_id == (
        newest.pk
    )


def test_the_thread_page_in_sql_agrees_with_the_orms_page(client_user, provider, conversation):
    """
    thread_page is hand-written SQL; message_page and bubbles (the admin's) are the
    definition: the same messages, senders, times and appointments, newest, before and after
    an id, with and without older ones. Senders: the client, the provider, office staff
    with and without a name.
    """
    import random

    from django.utils import timezone

    from chat import selectors

    staff = UserFactory(name="Sam Reed")
    nameless = UserFactory(name="")
    for who in (staff, nameless):
        OfficeStaff.objects.create(provider=provider, user=who)
    appointment = AppointmentFactory(client=client_user, appointment_type__provider=provider)
    chance = random.Random(3)
    for number in range(120):
        Message.objects.create(
            conversation=conversation,
            sender=chance.choice([client_user, provider.user, staff, nameless]),
            body=f"Line {number}\nand <b>{chance.random()}</b>",
            client_key=uuid.uuid4(),
            appointment=appointment if chance.random() < 0.2 else None,
        )
    ids = list(conversation.messages.order_by("id").values_list("id", flat=True))
    timezone.activate("Asia/Kolkata")
    try:
        for place in [{}, {"before": ids[100]}, {"before": ids[30]}, {"after": ids[10]}]:
            page, more = selectors.message_page(conversation, **place)
            got, got_more = selectors.thread_page(conversation, **place)
            assert got == selectors.bubbles(page, conversation), place
            assert got_more == more, place
        for place in [{"after": ids[-1]}, {"before": ids[0]}]:
            assert selectors.thread_page(conversation, **place) == ([], False)
    finally:
        timezone.deactivate()
