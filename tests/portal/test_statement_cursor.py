"""
The cursor the hand-written statements run on: counted like any query, and on PostgreSQL each
statement planned once per connection, unless DATABASE_PREPARED_STATEMENTS turns that off.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import sql
from portal.sql import statement_cursor
from tests.factories import UserFactory
from tests.project.test_database_timeouts import report_of

pytestmark = pytest.mark.django_db

POSTGRES = connection.vendor == "postgresql"
PREPARED = "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s"


def prepared_unread_counts() -> int:
    """How many prepared statements on this connection count unread messages."""
    if not POSTGRES:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(PREPARED, ["%COUNT(*) FROM chat_conversation theirs%"])
        return len(cursor.fetchall())


def test_its_statements_are_counted_and_answer_as_the_orms_cursor_would():
    client = UserFactory()
    with CaptureQueriesContext(connection) as queries:
        assert sql.unread_total(client) == 0
    assert len(queries) == 1
    assert "theirs.client_id" in queries[0]["sql"]
    with statement_cursor() as cursor:
        cursor.execute("SELECT %s, %s", [client.pk, "text"])
        assert cursor.fetchone() == (client.pk, "text")


def test_on_postgresql_a_statement_is_planned_once_per_connection():
    client = UserFactory()
    assert prepared_unread_counts() == 0
    for _ in range(3):
        sql.unread_total(client)
    # SQLite has nothing to prepare: statements are compiled by the library in process.
    assert prepared_unread_counts() == (1 if POSTGRES else 0)


# A web process's database options: psycopg's prepare_threshold (None: never prepare).
THRESHOLD = [
    "-c",
    "import portal.project.wsgi\n"
    "from django.conf import settings\n"
    "print(settings.DATABASES['default']['OPTIONS']['prepare_threshold'])\n",
]


def test_the_prepared_statements_can_be_turned_off_for_a_pooler():
    assert report_of(*THRESHOLD) == ["0"]
    assert report_of(*THRESHOLD, DATABASE_PREPARED_STATEMENTS="false") == ["None"]
