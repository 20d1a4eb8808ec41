from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """
    The composition root: settings, the root URLs, WSGI and the demo data. The only part of the
    code that knows every app; the rest of `portal/` is the shared kernel and imports none.
    """

    name = "portal.project"
    label = "project"
    verbose_name = "Client portal"
