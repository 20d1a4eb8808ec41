from django.urls import path

from appointments import views

app_name = "appointments"
urlpatterns = [
    path("", views.appointment_list, name="list"),
    path("book/", views.book_provider, name="book"),
    path("book/<id:provider_id>/", views.book_type, name="book-type"),
    path("book/<id:provider_id>/<id:type_id>/", views.book_time, name="book-time"),
    path("book/<id:provider_id>/<id:type_id>/review/", views.book_review, name="book-review"),
    path("<id:pk>/calendar.ics", views.appointment_ics, name="calendar"),
]
