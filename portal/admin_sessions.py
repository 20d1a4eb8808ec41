"""The workspace's "Signed-in sessions" page: a staff member's own sessions, as a client's."""

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from portal import sessions
from portal.http import SignedInRequest


def session_list(request: SignedInRequest, admin_site: AdminSite) -> HttpResponse:
    context = {
        **admin_site.each_context(request),
        "title": "Signed-in sessions",
        **sessions.signed_in_sessions(request.user, request.session.session_key),
    }
    return TemplateResponse(request, "admin/portal/sessions.html", context)


def session_end(request: SignedInRequest, handle: str) -> HttpResponse:
    current_key = request.session.session_key
    session = sessions.get_other_session_for_user(request.user, handle, current_key)
    sessions.session_end(user=request.user, session=session)
    messages.success(request, f"{session.device or 'That session'} was signed out.")
    return redirect("admin:sessions")


def sessions_end_others(request: SignedInRequest) -> HttpResponse:
    sessions.sessions_end_others(user=request.user, current_key=request.session.session_key)
    messages.success(request, "You were signed out everywhere else.")
    return redirect("admin:sessions")
