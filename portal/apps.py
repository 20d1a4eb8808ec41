from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    default = True
    name = "portal"
    verbose_name = "Portal and accounts"

    def ready(self) -> None:
        from portal import checks, data_copy, signals  # noqa: F401  (the checks, the receivers)
        from portal.audit import connections  # noqa: F401  (the SQLite chain function)

        data_copy.provide_files("portal", data_copy.access_files)


class PortalAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with the practice workspace's own site (second factor included)."""

    default = False
    default_site = "portal.admin_site.PortalAdminSite"
