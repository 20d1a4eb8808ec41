import factory

from portal.models import User

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Faker("name")
    time_zone = "America/New_York"
    password = factory.django.Password(TEST_PASSWORD)


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "appointments.Provider"

    user = factory.SubFactory(UserFactory, is_staff=True)
    display_name = factory.Faker("name")
    title = "LMFT"
    time_zone = "America/Chicago"
    office_email = "office@practice.example"
    office_phone = "+1 312 555 0100"


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "appointments.AppointmentType"

    provider = factory.SubFactory(ProviderFactory)
    name = "Therapy session"
    duration_minutes = 50
    modality = "video"
    video_link = "https://video.example.com/room"


def give_hours(provider, start="09:00", end="17:00", weekdays=range(7)) -> None:
    from datetime import time

    from appointments.models import WeeklyHours

    WeeklyHours.objects.bulk_create(
        WeeklyHours(
            provider=provider,
            weekday=day,
            start=time.fromisoformat(start),
            end=time.fromisoformat(end),
        )
        for day in weekdays
    )


class AppointmentFactory(factory.django.DjangoModelFactory):
    """An appointment written straight to the table (the booking service is tested apart)."""

    class Meta:
        model = "appointments.Appointment"

    appointment_type = factory.SubFactory(AppointmentTypeFactory)
    provider = factory.SelfAttribute("appointment_type.provider")
    client = factory.SubFactory(UserFactory)
    booked_by = factory.SelfAttribute("client")
    start = factory.LazyFunction(lambda: _next_hour(days=3))
    end = factory.LazyAttribute(lambda o: o.start + o.appointment_type.duration)


def _next_hour(days: int = 0):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    return now + timedelta(days=days, hours=1)


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "appointments.Policy"

    provider = factory.SubFactory(ProviderFactory)
    cancel_notice = factory.LazyFunction(lambda: __import__("datetime").timedelta(hours=24))
    late_cancel = "fee"
    late_cancel_fee = 50
    reschedule_notice = factory.LazyFunction(lambda: __import__("datetime").timedelta(hours=24))
    late_reschedule = "refuse"
    max_reschedules = 2
    text = "Please cancel at least 24 hours ahead; later cancellations cost $50."


def open_slots_after(client, provider, kind, *, days=0, exclude=None):
    """The times `client` could book with `provider` now, from `days` ahead on."""
    from datetime import timedelta

    from django.utils import timezone

    from appointments import selectors

    now = timezone.now()
    return selectors.open_slots(
        provider=provider,
        appointment_type=kind,
        client=client,
        now=now,
        window_start=now + timedelta(days=days),
        exclude_appointment=exclude,
    )


def followed(slots, minutes=30):
    """
    The first of `slots` whose time `minutes` later is open too. The first slot `days` ahead
    is at the hour the tests run, which late in the provider's afternoon is the day's last.
    """
    from datetime import timedelta

    open_times = set(slots)
    return next(slot for slot in slots if slot + timedelta(minutes=minutes) in open_times)


def book(client, provider, kind, *, days=0, booked_days_ago=0, pick=0, room_after=False):
    """
    Book a real open slot through the booking service, as if `booked_days_ago` days ago;
    `room_after`: one with an open time half an hour later (never the day's last).
    """
    from datetime import timedelta

    from django.utils import timezone

    from appointments.services import appointment_book

    slots = open_slots_after(client, provider, kind, days=days)
    start = followed(slots) if room_after else slots[pick]
    return appointment_book(
        client=client,
        provider=provider,
        appointment_type=kind,
        start=start,
        booked_by=client,
        now=timezone.now() - timedelta(days=booked_days_ago),
    )
