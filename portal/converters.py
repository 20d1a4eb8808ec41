from django.urls import register_converter

from portal.inputs import ID_PATTERN


class IdConverter:
    """
    A database id in a URL. At most 18 digits, so that an absurd id is a 404 rather than
    an out-of-range integer error from the database.
    """

    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


class SessionHandleConverter:
    """A session's handle in a URL (portal.sessions): anything else is a 404, never a lookup."""

    regex = "[0-9a-f]{64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(SessionHandleConverter, "session")
