from django.contrib import admin
from django.urls import include, path

from portal import converters, views  # noqa: F401  (registers <id:...>)

account_patterns = (
    [
        path("", views.account_detail, name="detail"),
        path("password/", views.password_change, name="password"),
        path("time-zone/", views.account_time_zone, name="time-zone"),
    ],
    "account",
)

# A refusal of bad input (RefusedInput) says why on the 400 page.
handler400 = "portal.views.bad_request"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("password-reset/", views.password_reset, name="password-reset"),
    path("password-reset/sent/", views.password_reset_sent, name="password-reset-sent"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.password_reset_confirm,
        name="password-reset-confirm",
    ),
    path("password-reset/done/", views.password_reset_complete, name="password-reset-complete"),
    path("welcome/<str:token>/", views.welcome, name="welcome"),
    path("account/", include(account_patterns)),
    path("appointments/", include("appointments.urls")),
    path("chat/", include("chat.urls")),
    path("admin/", admin.site.urls),
    path("favicon.ico", views.favicon),
]
