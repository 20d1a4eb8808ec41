from django.urls import path

from appointments import series_views, views, waitlist_views

app_name = "appointments"
urlpatterns = [
    path("", views.appointment_list, name="list"),
    path("upcoming/", views.upcoming_list, name="upcoming"),
    path("past/", views.appointment_archive, {"which": "past"}, name="past"),
    path("cancelled/", views.appointment_archive, {"which": "cancelled"}, name="cancelled"),
    path("fees/", views.fee_list, name="fees"),
    path("book/", views.book_provider, name="book"),
    path("book/<id:provider_id>/", views.book_type, name="book-type"),
    path("book/<id:provider_id>/<id:type_id>/", views.book_time, name="book-time"),
    path("book/<id:provider_id>/<id:type_id>/review/", views.book_review, name="book-review"),
    path(
        "book/<id:provider_id>/<id:type_id>/repeat/",
        series_views.book_repeat,
        name="book-repeat",
    ),
    path("series/<id:pk>/", series_views.series_detail, name="series"),
    path("<id:pk>/cancel-following/", series_views.cancel_following, name="cancel-following"),
    path("<id:pk>/", views.appointment_detail, name="detail"),
    path("<id:pk>/cancel/", views.appointment_cancel, name="cancel"),
    path("<id:pk>/reschedule/", views.appointment_reschedule, name="reschedule"),
    path(
        "<id:pk>/reschedule/review/",
        views.appointment_reschedule_review,
        name="reschedule-review",
    ),
    path("<id:pk>/contact/", views.appointment_contact, name="contact"),
    path("<id:pk>/calendar.ics", views.appointment_ics, name="calendar"),
    path("series/<id:pk>/calendar.ics", views.series_ics, name="series-calendar"),
    path(
        "book/<id:provider_id>/<id:type_id>/waitlist/",
        waitlist_views.waitlist_join,
        name="waitlist-join",
    ),
    path("<id:pk>/earlier/", waitlist_views.waitlist_move_up, name="waitlist-move-up"),
    path("waitlist/<id:pk>/", waitlist_views.waitlist_entry, name="waitlist-entry"),
    path("waitlist/<id:pk>/leave/", waitlist_views.waitlist_leave, name="waitlist-leave"),
    path("waitlist/offers/<str:token>/", waitlist_views.waitlist_offer, name="waitlist-offer"),
    path(
        "waitlist/offers/<str:token>/decline/",
        waitlist_views.waitlist_decline,
        name="waitlist-decline",
    ),
    path("invitations/<str:token>/", views.invitation_open, name="invitation"),
    path("invitations/<id:pk>/answer/", views.invitation_answer, name="invitation-answer"),
]
