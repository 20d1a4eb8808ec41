"""
SQLite computes each entry's link hash inside the INSERT by calling back into Python: the
trigger of migration 0006 calls `portal_audit_link`, registered here on every connection as
it opens (PostgreSQL computes the same formula in PL/pgSQL and needs nothing).
"""

from django.db.backends.signals import connection_created
from django.dispatch import receiver

from portal.audit.chain import link


@receiver(connection_created, dispatch_uid="portal.audit.sqlite_link")
def register_link_function(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("portal_audit_link", 4, link, deterministic=True)
