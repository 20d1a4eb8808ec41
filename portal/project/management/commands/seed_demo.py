import uuid
from datetime import time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from appointments import selectors, services
from appointments.models import (
    Appointment,
    AppointmentType,
    CareTeamMember,
    Modality,
    OfficeStaff,
    Provider,
    WeeklyHours,
)
from chat.models import Conversation, Message
from policies.terms import Late
from portal.models import User
from portal.practice import join_practice_staff

# Known, printed passwords: this command is for demos and local development only.
DEMO_ACCOUNTS: list[dict[str, Any]] = [
    {
        "role": "client",
        "email": "client@example.com",
        "password": "demo-client-2026",
        "name": "Jordan Lee",
        "time_zone": "America/New_York",
    },
    {
        "role": "provider",
        "email": "provider@example.com",
        "password": "demo-provider-2026",
        "name": "Dr. Maya Okafor",
        "time_zone": "America/Chicago",
        "is_staff": True,
    },
    {
        "role": "provider",
        "email": "provider2@example.com",
        "password": "demo-provider-2026",
        "name": "Sam Rivera",
        "time_zone": "Europe/London",
        "is_staff": True,
    },
    {
        "role": "staff",
        "email": "office@example.com",
        "password": "demo-office-2026",
        "name": "Alex Kim",
        "time_zone": "America/Chicago",
        "is_staff": True,
    },
    {
        "role": "admin",
        "email": "admin@example.com",
        "password": "demo-admin-2026",
        "name": "Portal Admin",
        "time_zone": "UTC",
        "is_staff": True,
        "is_superuser": True,
    },
]

WEEKDAYS = range(0, 5)
DEMO_PROVIDERS: list[dict[str, Any]] = [
    {
        "email": "provider@example.com",
        "display_name": "Dr. Maya Okafor",
        "title": "PsyD, Licensed Psychologist",
        "time_zone": "America/Chicago",
        "office_email": "office@okafor-practice.example",
        "office_phone": "+1 312 555 0142",
        "uses_chat": True,
        # The demo shows the waitlist: a freed time goes to whoever waits for it.
        "waitlist_enabled": True,
        "bio": "Cognitive behavioural therapy for anxiety, stress and sleep.",
        "hours": {day: [(time(9), time(12)), (time(13), time(17))] for day in range(4)}
        | {4: [(time(9), time(13))]},
        "types": [
            ("Therapy session", 50, Modality.VIDEO),
            ("First consultation", 30, Modality.VIDEO),
            ("In-person session", 50, Modality.IN_PERSON),
        ],
        "address": "Suite 400, 233 North Michigan Avenue, Chicago, IL 60601",
        "video_link": "https://video.example.com/okafor",
        "policy": {
            "cancel_notice": timedelta(hours=24),
            "late_cancel": Late.FEE,
            "late_cancel_fee": Decimal("75"),
            "reschedule_notice": timedelta(hours=24),
            "late_reschedule": Late.REFUSE,
            "max_reschedules": 2,
            "no_show_fee": Decimal("75"),
            "text": (
                "Please cancel or reschedule at least 24 hours before your session. Later "
                "cancellations and missed sessions are charged $75. Sessions can be moved "
                "online up to twice; after that, please message me."
            ),
        },
    },
    {
        "email": "provider2@example.com",
        "display_name": "Sam Rivera",
        "title": "RD, Registered Dietitian",
        "time_zone": "Europe/London",
        "office_email": "hello@rivera-nutrition.example",
        "office_phone": "+44 20 7946 0958",
        "uses_chat": False,
        "bio": "Nutrition plans for busy lives, by video or phone.",
        "hours": {day: [(time(8), time(12)), (time(13), time(16))] for day in (1, 2, 3)},
        "types": [
            ("Nutrition check-in", 30, Modality.VIDEO),
            ("Nutrition consultation", 60, Modality.PHONE),
        ],
        "address": "",
        "video_link": "https://video.example.com/rivera",
        "policy": {
            "cancel_notice": timedelta(hours=48),
            "reschedule_notice": timedelta(hours=48),
            "currency": "GBP",
            "text": (
                "Cancel or reschedule online up to 48 hours before your appointment. After "
                "that, please phone the office."
            ),
        },
    },
]


class Command(BaseCommand):
    help = (
        "Create demo accounts (a client, two providers in different time zones, an admin) with "
        "known passwords, the providers' hours and appointment types, and the client's "
        "upcoming and past appointments. Safe to run again: what exists is left as it is."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be created, create nothing."
        )
        parser.add_argument(
            "--i-know-this-is-not-production",
            action="store_true",
            dest="not_production",
            help="Run even though DEBUG is off (a demo or staging server, never real clients).",
        )

    def handle(self, *args, dry_run: bool = False, not_production: bool = False, **options):
        if not settings.DEBUG and not not_production:
            raise CommandError(
                "seed_demo makes accounts with known passwords, an admin among them, so it "
                "refuses to run while DEBUG is off: that is how production runs. On a demo or "
                "staging server with no real clients, run it with --i-know-this-is-not-production."
            )
        created = sum(
            not User.objects.filter(email=account["email"]).exists() for account in DEMO_ACCOUNTS
        )
        verb = "would create" if dry_run else "created"
        if not dry_run:
            with transaction.atomic():
                users = {account["email"]: self.account(account) for account in DEMO_ACCOUNTS}
                client = users["client@example.com"]
                providers = [self.provider(spec, users[spec["email"]]) for spec in DEMO_PROVIDERS]
                OfficeStaff.objects.get_or_create(
                    provider=providers[0], user=users["office@example.com"]
                )
                for account in DEMO_ACCOUNTS:
                    if account["role"] in ("provider", "staff"):
                        join_practice_staff(users[account["email"]])
                appointments = self.appointments(client, providers)
                self.conversation(client, providers[0])
        else:
            appointments = 0
        self.stdout.write(
            f"Demo accounts: {created} {verb}, {len(DEMO_ACCOUNTS) - created} already there; "
            f"{appointments} demo appointments {verb}."
        )
        if not settings.DEBUG:
            self.stdout.write("Demo passwords are printed only when DEBUG is on.")
            return
        self.stdout.write("Demo sign-ins (password unchanged if the account already existed):")
        for account in DEMO_ACCOUNTS:
            self.stdout.write(
                f"  {account['role']:<9} {account['email']:<24} {account['password']}"
            )

    def account(self, account: dict) -> User:
        user = User.objects.filter(email=account["email"]).first()
        if user is None:
            fields = {k: v for k, v in account.items() if k not in ("role", "password")}
            user = User.objects.create_user(password=account["password"], **fields)
        return user

    def provider(self, spec: dict, user: User) -> Provider:
        existing = Provider.objects.filter(user=user).first()
        if existing is not None:
            return existing
        provider = services.provider_create(
            email=user.email,
            name=spec["display_name"],
            time_zone=spec["time_zone"],
            title=spec["title"],
            actor=None,
            profile={
                key: spec[key]
                for key in ("office_email", "office_phone", "uses_chat", "bio", "waitlist_enabled")
                if key in spec
            },
            policy=spec["policy"],
        ).provider
        WeeklyHours.objects.bulk_create(
            WeeklyHours(provider=provider, weekday=day, start=start, end=end)
            for day, ranges in spec["hours"].items()
            for start, end in ranges
        )
        for name, minutes, modality in spec["types"]:
            AppointmentType.objects.create(
                provider=provider,
                name=name,
                duration_minutes=minutes,
                modality=modality,
                address=spec["address"] if modality == Modality.IN_PERSON else "",
                video_link=spec["video_link"] if modality == Modality.VIDEO else "",
            )
        return provider

    def appointments(self, client: User, providers: list[Provider]) -> int:
        """
        Two upcoming appointments and two past ones, each booked through the booking service
        a week before its time (so each has its history), the past ones then completed.
        """
        for provider in providers:
            CareTeamMember.objects.get_or_create(provider=provider, client=client)
        if client.appointments.exists():
            return 0
        now = timezone.now()
        made = 0
        for provider, days_ahead in zip(providers, (3, 9), strict=True):
            kind = provider.appointment_types.order_by("pk").first()
            upcoming = self.book(client, provider, kind, around=now + timedelta(days=days_ahead))
            past = self.book(client, provider, kind, around=now - timedelta(days=days_ahead * 4))
            made += bool(upcoming) + bool(past)
            if past is not None:
                services.appointment_complete(appointment=past, actor=provider.user, now=past.end)
        return made

    def book(self, client, provider, kind, *, around) -> Appointment | None:
        """A free time from `around` on, booked by the practice a week before (or before now)."""
        booked_at = min(around, timezone.now()) - timedelta(days=7)
        slots = selectors.open_slots(
            provider=provider,
            appointment_type=kind,
            client=client,
            now=booked_at,
            window_start=around,
        )
        if not slots:
            return None
        return services.appointment_book(
            client=client,
            provider=provider,
            appointment_type=kind,
            start=slots[len(slots) // 20],
            booked_by=provider.user,
            now=booked_at,
        )

    def conversation(self, client: User, provider: Provider) -> None:
        conversation, made = Conversation.objects.get_or_create(provider=provider, client=client)
        if not made:
            return
        now = timezone.now()
        for minutes_ago, sender, body in [
            (60 * 26, client, "Hi Dr. Okafor, is it fine to join the video session from my phone?"),
            (
                60 * 25,
                provider.user,
                "Yes, a phone works well. Find a quiet spot and use headphones.",
            ),
        ]:
            Message.objects.create(
                conversation=conversation,
                sender=sender,
                body=body,
                client_key=uuid.uuid4(),
                created_at=now - timedelta(minutes=minutes_ago),
            )
        conversation.last_message_at = now - timedelta(minutes=60 * 25)
        conversation.save(update_fields=["last_message_at"])
