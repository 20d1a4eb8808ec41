"""
Chat's statements written by hand, each where a page would otherwise miss its goal (what each
buys stands above it), each registered against the read the ORM gives from the rules' one
definitions (portal.mirrors; tests/test_mirrors.py holds the two equal). Every value is bound.
"""

from django.db import connection
from django.http import Http404

from chat.models import Conversation, Message, ReadState
from chat.selectors import PollState
from portal.mirrors import mirrors
from portal.models import User

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
    with connection.cursor() as cursor:
        cursor.execute(_UNREAD, [client.pk] * 3)
        return cursor.fetchone()[0]


@mirrors("chat.selectors.poll_state_defined")
def poll_state(client: User, pk: int, after: int) -> PollState:
    """Whether the client's conversation `pk` has news after `after`; a 404 if not theirs."""
    with connection.cursor() as cursor:
        cursor.execute(_POLL, [after, *[client.pk] * 3, pk, client.pk])
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such conversation.")
    return PollState(newer=bool(row[0]), unread_total=row[1])
