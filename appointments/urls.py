from django.urls import path

from appointments import views

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
    path("invitations/<str:token>/", views.invitation_open, name="invitation"),
    path("invitations/<id:pk>/answer/", views.invitation_answer, name="invitation-answer"),
]
