"""
Typed requests for views, as django-htmx's example project types them: every request carries
`htmx` (the middleware sets it), and a view behind `login_required` has a portal User.
"""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from portal.models import User


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


class SignedInRequest(HtmxRequest):
    user: User
