"""
Chat's statements written by hand, each where a page would otherwise miss its goal (what each
buys stands above it), each registered against the read the ORM gives from the rules' one
definitions (portal.mirrors; tests/test_mirrors.py holds the two equal). Every value is bound.
"""

from typing import TYPE_CHECKING, cast

from django.http import Http404

from appointments.models import Appointment, Provider
from chat.models import Conversation, Message, ReadState
from chat.selectors import PAGE_SIZE, Marker, Opened, PollState, thread_bubbles
from portal.mirrors import mirrors
from portal.models import User
from portal.rows import Columns, convert

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations
from portal.sql import statement_cursor

# chat.selectors.unread_in, in SQL: from anyone but the viewer, after the viewer's read
# marker in the message's conversation. The marker is a subquery, not a join, so that the
# messages are searched from it on: the cost follows what is unread, not the thread's length.
_UNREAD = f"""
    SELECT COUNT(*) FROM {Conversation._meta.db_table} theirs
    JOIN {Message._meta.db_table} unread ON unread.conversation_id = theirs.id
    WHERE theirs.client_id = %s AND unread.sender_id <> %s AND unread.id > COALESCE((
        SELECT marker.last_read_id FROM {ReadState._meta.db_table} marker
        WHERE marker.conversation_id = theirs.id AND marker.user_id = %s
    ), 0)
"""

# The poll of an open conversation, every few seconds per open tab: anything newer than
# `after` in this conversation, if it is the client's, and their unread total, in one round
# trip. What it buys: three round trips (the conversation's owner, the newer messages, the
# total) become one, on the request every open conversation makes most often. No row: not
# their conversation.
_POLL = f"""
    SELECT EXISTS (
        SELECT 1 FROM {Message._meta.db_table} newer
        WHERE newer.conversation_id = this.id AND newer.id > %s
    ), ({_UNREAD})
    FROM {Conversation._meta.db_table} this WHERE this.id = %s AND this.client_id = %s
"""


# The unread count the menus show, on every client page but the floor. What it buys: the ORM
# spent about 1 ms composing the nested subqueries of its definition (1.2 ms with the database's
# 0.15 ms, at 1,000,000 appointments and 300,000 messages), which put the Appointments tab
# below its goal (0.52x the floor page, against 0.6).
@mirrors("chat.selectors.unread_total")
def unread_total(client: User) -> int:
    """Unread messages in all the client's conversations."""
    with statement_cursor() as cursor:
        cursor.execute(_UNREAD, [client.pk] * 3)
        return cursor.fetchone()[0]


@mirrors("chat.selectors.poll_state_defined")
def poll_state(client: User, pk: int, after: int) -> PollState:
    """Whether the client's conversation `pk` has news after `after`; a 404 if not theirs."""
    with statement_cursor() as cursor:
        cursor.execute(_POLL, [after, *[client.pk] * 3, pk, client.pk])
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such conversation.")
    return PollState(newer=bool(row[0]), unread_total=row[1])


# An open conversation: the client's conversation with its provider and their read marker,
# and its newest page of messages, in one statement instead of two. What it buys: composing
# the two (a subquery, two joins, three outer joins) cost the ORM 2.4 ms against the
# database's 0.6 ms, on the page a client opens most after the overview, which stood at 0.54x
# the floor page against 0.6. The parts are selectors.get_conversation_to_read and
# selectors.thread_page: no row, not the client's conversation. The page is read newest first
# from the (conversation, id) index, so a long thread costs what a short one does.
_OPENED = (Columns(Conversation, "c"), Columns(Provider, "p"))
_OPENED_SQL = f"""
    SELECT {", ".join(columns.sql for columns in _OPENED)}, marker.last_read_id,
        m.id, m.sender_id, sender.name, sender.email, m.created_at, m.body, m.appointment_id,
        about."start"
    FROM {Conversation._meta.db_table} c
    JOIN {Provider._meta.db_table} p ON p.id = c.provider_id
    LEFT JOIN {ReadState._meta.db_table} marker
        ON marker.conversation_id = c.id AND marker.user_id = %s
    LEFT JOIN (
        SELECT * FROM {Message._meta.db_table} newest
        WHERE newest.conversation_id = %s ORDER BY newest.id DESC LIMIT %s
    ) m ON m.conversation_id = c.id
    LEFT JOIN {User._meta.db_table} sender ON sender.id = m.sender_id
    LEFT JOIN {Appointment._meta.db_table} about ON about.id = m.appointment_id
    WHERE c.id = %s AND c.client_id = %s
    ORDER BY m.id
"""
_SENT_AT = Message._meta.get_field("created_at")
_ABOUT = Appointment._meta.get_field("start")


@mirrors("chat.selectors.opened_conversation_defined")
def opened_conversation(client: User, pk: int, size: int = PAGE_SIZE) -> Opened:
    """
    The client's conversation `pk` to read, and its newest `size` messages as bubbles; a 404
    if it is not theirs.
    """
    with statement_cursor() as cursor:
        cursor.execute(_OPENED_SQL, [client.pk, pk, size + 1, pk, client.pk])
        rows = cursor.fetchall()
    if not rows:
        raise Http404("No such conversation.")
    conversation_columns, provider_columns = _OPENED
    values = iter(rows[0])
    conversation = cast(
        "WithAnnotations[Conversation, Marker]", conversation_columns.build_next(values)
    )
    conversation.provider = provider_columns.build_next(values)
    conversation.client = client
    conversation.last_read = next(values)
    shown = len(conversation_columns) + len(provider_columns) + 1
    messages = [
        (
            *row[shown : shown + 4],
            convert(_SENT_AT, row[shown + 4]),
            *row[shown + 5 : shown + 7],
            convert(_ABOUT, row[shown + 7]),
        )
        for row in rows
        if row[shown] is not None
    ]
    return Opened(
        conversation=conversation,
        bubbles=thread_bubbles(conversation, messages[-size:]),
        older=len(messages) > size,
    )
