from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from portal.forms import time_zone_choices
from portal.models import User


class PortalUserChangeForm(UserChangeForm):
    time_zone = forms.TypedChoiceField(
        choices=lambda: [("", "Not chosen yet (the site default)"), *time_zone_choices()],
        required=False,
    )

    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class PortalUserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "name")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = PortalUserChangeForm
    add_form = PortalUserCreationForm
    ordering = ("email",)
    list_display = ("email", "name", "time_zone", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "name")
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal", {"fields": ("name", "time_zone")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "usable_password", "password1", "password2"),
            },
        ),
    )
