from django.urls import path

from chat import views

app_name = "chat"
urlpatterns = [
    path("", views.conversation_list, name="list"),
    path("new/", views.conversation_new, name="new"),
    path("new/<id:provider_id>/", views.conversation_new_with, name="new-with"),
    path("<id:pk>/", views.conversation_detail, name="detail"),
    path("<id:pk>/poll/", views.conversation_poll, name="poll"),
]
