"""The root URLs: the kernel's pages, each app's, and the practice workspace."""

from django.contrib import admin
from django.urls import include, path

# A refusal of bad input (RefusedInput) says why on the 400 page.
handler400 = "portal.views.bad_request"
# A database that cannot answer is a 503 with Retry-After; anything else the plain 500 page.
handler500 = "portal.views.server_error"

urlpatterns = [
    path("", include("portal.urls")),
    path("appointments/", include("appointments.urls")),
    path("chat/", include("chat.urls")),
    path("admin/", admin.site.urls),
]
