"""The client's "Download your data" pages: ask for a copy, and the link the email carries."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods

from portal import data_copy
from portal.client_address import client_address
from portal.http import SignedInRequest
from portal.models import DataCopy


@login_required
@require_http_methods(["GET", "POST"])
def data_copy_request(request: SignedInRequest) -> HttpResponse:
    """GET: what a copy holds, and whether one is on its way. POST: ask for one."""
    status = 200
    if request.method == "POST":
        try:
            data_copy.data_copy_request(
                client=request.user, actor=request.user, address=client_address(request) or ""
            )
        except data_copy.AlreadyBuilding as refused:
            messages.info(request, str(refused))
            return redirect("account:data-copy")
        except data_copy.DataCopyRefused as refused:
            messages.error(request, str(refused))
            status = 429
        else:
            messages.success(
                request,
                f"We're preparing your copy. We'll email a link to {request.user.email} "
                "when it is ready.",
            )
            return redirect("account:data-copy")
    context = {"building": data_copy.building(request.user)}
    return render(request, "portal/data_copy.html", context, status=status)


@login_required
@require_GET
def data_copy_download(request: SignedInRequest, token: str) -> HttpResponseBase:
    """
    The emailed link. Only the client it was made for gets anything but a 404; they get the
    ZIP once, then a page saying it was used (or has expired) and offering a new copy.
    """
    copy = data_copy.get_copy_for_link(request.user, token)
    if copy is None:
        raise Http404("No such copy.")
    now = timezone.now()
    content = data_copy.take_download(copy, now=now)
    if content is None:
        used = copy.state == DataCopy.State.USED
        page = render(
            request, "portal/data_copy_link.html", {"copy": copy, "used": used}, status=410
        )
        add_never_cache_headers(page)
        return page
    response = StreamingHttpResponse(data_copy.chunks(content), content_type="application/zip")
    stamp = timezone.localtime(copy.built_at or now, request.user.zone).strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="your-data-{stamp}.zip"'
    response["Content-Length"] = str(len(content))
    add_never_cache_headers(response)  # Cache-Control: no-store among others
    return response
