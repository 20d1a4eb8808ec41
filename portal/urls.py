"""The shared kernel's own pages: sign-in, passwords, the account, the favicon."""

from django.urls import include, path

from portal import converters, data_copy_views, views  # noqa: F401  (registers <id:...>, <session:...>)

account_patterns = (
    [
        path("", views.account_detail, name="detail"),
        path("password/", views.password_change, name="password"),
        path("time-zone/", views.account_time_zone, name="time-zone"),
        path("sessions/", views.account_sessions, name="sessions"),
        path("sessions/<session:handle>/end/", views.account_session_end, name="session-end"),
        path("sessions/end-others/", views.account_sessions_end_others, name="sessions-end-others"),
        path("access/", views.account_access, name="access"),
        path("data/", data_copy_views.data_copy_request, name="data-copy"),
        path("data/<str:token>/", data_copy_views.data_copy_download, name="data-copy-download"),
    ],
    "account",
)

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
    path("favicon.ico", views.favicon),
]
