"""
Email never leaves inside a request. `queue_email` renders a message and saves it, with a task
for the worker (`manage.py db_worker`), in the transaction of the change it reports: if the
change commits, the email is on its way; if it rolls back, so does the email. (A change to an
appointment queues one task instead, which writes its two emails: appointments/emails.py.)

`deliver_email` hands one email to the mail server, in the worker's `email` lane (a stalled
server holds up no other work), within one deadline for the whole attempt (EMAIL_TIMEOUT). Its
status moves only by conditional updates (queued -> sending -> sent), so two workers, or a task
run twice, send it once; a failure that may pass puts the same task back for a later attempt
(portal.worker.Retry). Where at-least-once and at-most-once conflict (a worker killed after the
server accepted the email but before it was recorded), we choose at most once: the email stays
"sending" and is never retried by itself; a superuser can see it in the admin and send it
again.

An email about a client (`client_id`, to them or to their provider about them) is logged in
the client's access log when it is marked sent, in that update's transaction: once per email
that went, never for an attempt that failed, and not again when its task runs twice.
"""

import contextlib
import logging
import smtplib
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from email.policy import SMTP as SMTP_POLICY
from email.policy import Policy
from email.policy import default as DEFAULT_POLICY
from typing import Any

from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends import smtp
from django.db import transaction
from django.tasks import task
from django.template import Context, Engine
from django.template.loader import render_to_string
from django.utils import timezone

from portal.audit import buffer, scope
from portal.audit.models import Action
from portal.audit.recorder import Entry
from portal.models import Email
from portal.worker import Retry, retry_delay

logger = logging.getLogger(__name__)

# A queued email this far past its next attempt has lost its task (a worker died holding it).
LOST_AFTER = timedelta(minutes=15)
# An email still "sending" after this long was cut off: it may or may not have arrived.
SENDING_TOO_LONG = timedelta(minutes=5)
# Work that ends in emails before it is an email (an appointment change queues a task that
# writes its two). requeue_lost_work calls each with `now` and `dry_run`: it queues again what
# a stopped worker lost and answers what it counted and how many. Apps add theirs when ready.
LostWork = Callable[[datetime, bool], tuple[str, int]]
LOST_EMAIL_WORK: list[LostWork] = []


class DeliveryFailed(Exception):
    """One attempt did not deliver; the email records whether another will follow."""


def render_subject(name: str, context: dict) -> str:
    """
    templates/emails/<name>-subject.txt as one line of plain text. A header is not HTML: it is
    rendered without autoescaping, or a name such as O'Brien would arrive as O&#x27;Brien.
    """
    template = Engine.get_default().get_template(f"emails/{name}-subject.txt")
    return " ".join(template.render(Context(context, autoescape=False)).split())


def render_email(name: str, context: dict) -> tuple[str, str, str]:
    """templates/emails/<name>-subject.txt, -body.txt and -body.html."""
    subject = render_subject(name, context)
    body = render_to_string(f"emails/{name}-body.txt", context)
    html = render_to_string(f"emails/{name}-body.html", context)
    return subject, body, html


def queue_email(
    name: str,
    context: dict,
    *,
    to: str,
    attachments: list[tuple[str, bytes | str, str]] | tuple = (),
    send_before: datetime | None = None,
    key: uuid.UUID | None = None,
    client_id: int | None = None,
    practice_id: int | None = None,
    about: Sequence[str] = (),
) -> Email:
    """
    Render the email now and queue it for the worker, in the transaction of what it reports.
    `send_before`: not worth sending after this instant (a reminder once the appointment has
    started). `key`: its Message-ID, when it must be written once only (a new one otherwise).
    `client_id`, `practice_id` (a Provider's pk) and `about` (its records, "app.model:pk"):
    whose record it speaks of, whoever it goes to; the client's access log says when it went.
    """
    subject, body, html = render_email(name, context)
    # The email and its task together. Inside the change's transaction no savepoint: a
    # failure here fails the change, and a booking writes two emails, four round trips less.
    with transaction.atomic(savepoint=False):
        email = Email.objects.create(
            key=key or uuid.uuid4(),
            kind=name,
            to=to,
            subject=subject[:255],
            body=body,
            html=html,
            attachments=[
                {
                    "filename": filename,
                    "content": content.decode() if isinstance(content, bytes) else content,
                    "mimetype": mimetype,
                }
                for filename, content, mimetype in attachments
            ],
            send_before=send_before,
            client_id=client_id,
            practice_id=practice_id,
            about=sorted(about),
        )
        deliver_email.enqueue(email.pk)
    return email


class PortalEmailMessage(EmailMultiAlternatives):
    """
    Lines up to the 998 characters RFC 5322 allows instead of the 78 it suggests: a link in the
    plain text then goes as it is, on one line, instead of cut by quoted-printable soft breaks
    that show in the console and in some mail clients.
    """

    def message(self, *, policy: Policy | None = DEFAULT_POLICY) -> Any:
        return super().message(policy=(policy or DEFAULT_POLICY).clone(max_line_length=998))


def message_for(email: Email) -> EmailMultiAlternatives:
    message = PortalEmailMessage(
        subject=email.subject,
        body=email.body,
        to=[email.to],
        # The same Message-ID on every attempt: a receiving server that saw it may drop a copy.
        # The key is random (or derived from a random value its change stored), so no other
        # database's email has it, whatever the domain.
        headers={"Message-ID": f"<{email.key}@{settings.PORTAL_CALENDAR_DOMAIN}>"},
    )
    if email.html:
        message.attach_alternative(email.html, "text/html")
    for attachment in email.attachments:
        message.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    return message


def is_permanent(error: BaseException) -> bool:
    """
    Only the server's 5xx refusal of this recipient or of this message is final. A 5xx to the
    sender or to the sign-in is the portal's own configuration, which someone will fix: those,
    4xx answers, timeouts and refused connections are retried.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPDataError):
        return 500 <= error.smtp_code < 600
    return False


def describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{address} refused: {code} {reply.decode(errors='replace')}"
            for address, (code, reply) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return f"{type(error).__name__}: {error.smtp_code} {text}"
    return f"{type(error).__name__}: {error}"


def _give_up(email: Email, now: datetime, reason: str) -> None:
    Email.objects.filter(pk=email.pk, status=Email.Status.QUEUED).update(
        status=Email.Status.FAILED, last_error=reason, last_attempt_at=now
    )


def _claim(email: Email, now: datetime) -> bool:
    """The one step that lets a single worker send: queued -> sending, counted as an attempt."""
    email.attempts += 1
    email.first_attempt_at = email.first_attempt_at or now
    return bool(
        Email.objects.filter(pk=email.pk, status=Email.Status.QUEUED).update(
            status=Email.Status.SENDING,
            attempts=email.attempts,
            first_attempt_at=email.first_attempt_at,
            last_attempt_at=now,
        )
    )


def _record_sent(email: Email, now: datetime) -> None:
    """
    Sending -> sent, and the client's access log told, in one transaction: only the attempt
    that makes this change logs the send, so an email is logged once however many tasks tried
    it, and never while a failed attempt waits to be retried.
    """
    with transaction.atomic():
        sent = Email.objects.filter(pk=email.pk, status=Email.Status.SENDING).update(
            status=Email.Status.SENT, sent_at=now, last_error=""
        )
        if sent and email.client_id is not None:
            buffer.note(emailed(email))
            buffer.flush_now()


def emailed(email: Email) -> Entry:
    """The access-log entry of a sent email: whose, which, and its kind (the template)."""
    return scope.entry(
        Action.EMAILED,
        client_id=email.client_id,
        practice_id=email.practice_id,
        records=[scope.record_name("portal.email", email.pk), *email.about],
        detail=email.kind,
    )


def _record_failure(
    email: Email, error: BaseException, now: datetime, *, claimed: bool
) -> tuple[bool, datetime | None]:
    """
    Record a failed attempt, and when the next one is due unless it is final. Returns
    (recorded, next attempt). Conditional on the state this attempt started from, so a
    duplicate task that failed alongside schedules nothing more.
    """
    before: dict[str, object] = {"status": Email.Status.SENDING}
    if not claimed:
        before = {"status": Email.Status.QUEUED, "attempts": email.attempts}
        email.attempts += 1
        email.first_attempt_at = email.first_attempt_at or now
    first_attempt_at = email.first_attempt_at or now
    wanted = now + retry_delay(email.attempts)
    retry_until = first_attempt_at + settings.PORTAL_EMAIL_RETRY_FOR
    message = describe(error)
    next_at: datetime | None = None
    if is_permanent(error):
        pass
    elif email.send_before and wanted >= email.send_before:
        message = f"{message} (not retried: it would arrive too late)"
    elif now >= retry_until:
        message = f"{message} (gave up after {email.attempts} attempts)"
    else:
        next_at = min(wanted, retry_until)  # one last try at the end of the window
    recorded = Email.objects.filter(pk=email.pk, **before).update(
        status=Email.Status.QUEUED if next_at else Email.Status.FAILED,
        attempts=email.attempts,
        first_attempt_at=first_attempt_at,
        last_attempt_at=now,
        next_attempt_at=next_at or now,
        last_error=message[:2000],
    )
    return bool(recorded), next_at


class AttemptTimedOut(TimeoutError):
    """The whole attempt took longer than EMAIL_TIMEOUT allows."""


class SMTPBackend(smtp.EmailBackend):
    """
    Django's SMTP backend, split where SMTP stops being safe to retry. Until the server has
    taken the sender and the recipient, nothing was delivered; once DATA starts, it may have
    been. `before_data`, when set, runs at that point and may say no (another worker has it).

    Its timeout bounds the whole conversation, from connecting to the answer to the message,
    not each wait: a server that answers every command just inside the timeout would otherwise
    hold an attempt for several times it. When the time is up the socket is shut, and whatever
    waits on it fails at once.
    """

    before_data: Callable[[], bool] | None = None
    timed_out = False
    _cutoff: threading.Timer | None = None

    def open(self) -> bool | None:
        if self.connection is None and self.timeout:
            self.timed_out = False
            self._cutoff = threading.Timer(self.timeout, self._cut_off)
            self._cutoff.daemon = True
            self._cutoff.start()
        return super().open()

    def close(self) -> None:
        if self._cutoff is not None:
            self._cutoff.cancel()
            self._cutoff = None
        super().close()

    def _cut_off(self) -> None:
        self.timed_out = True
        server = self.connection
        sock = getattr(server, "sock", None) if server is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing is waiting on it
                sock.shutdown(socket.SHUT_RDWR)

    def send_messages(self, email_messages: Any) -> int:
        """With `before_data`, on a connection already open (deliver opens and closes it)."""
        if self.before_data is None:
            return super().send_messages(email_messages)
        return sum(self._send_in_phases(message, self.before_data) for message in email_messages)

    def _send_in_phases(self, email_message: Any, before_data: Callable[[], bool]) -> bool:
        server = self.connection
        if server is None:
            raise smtplib.SMTPServerDisconnected("The connection is not open.")
        sender = self.prep_address(email_message.from_email)
        recipients = [self.prep_address(address) for address in email_message.recipients()]
        content = email_message.message(policy=SMTP_POLICY).as_bytes()
        server.ehlo_or_helo_if_needed()
        code, reply = server.mail(sender)
        if code != 250:
            server.rset()
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused = {}
        for recipient in recipients:
            code, reply = server.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, reply)
        if len(refused) == len(recipients):
            server.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        if not before_data():
            server.rset()
            return False
        code, reply = server.data(content)
        if code != 250:
            server.rset()
            raise smtplib.SMTPDataError(code, reply)
        return True


def deliver(email_id: int, *, now: datetime | None = None) -> str:
    """
    One attempt at one email. Returns what happened; raises DeliveryFailed when the attempt
    did not deliver (the task is then recorded as failed, with the reason).
    """
    now = now or timezone.now()
    email = Email.objects.filter(pk=email_id).first()
    if email is None:
        return "no such email"
    if email.status != Email.Status.QUEUED:
        return f"nothing to do: {email.get_status_display().lower()}"
    if email.send_before and now >= email.send_before:
        _give_up(email, now, "Not sent: it would have arrived too late.")
        return "too late"
    connection: Any = mail.mailers.default
    claimed = False

    def claim() -> bool:
        nonlocal claimed
        claimed = _claim(email, now)
        return claimed

    phased = isinstance(connection, SMTPBackend)
    try:
        # Connecting and signing in send nothing yet: a failure here is safely retried.
        connection.open()
        if phased:
            connection.before_data = claim
        elif not claim():
            return "another worker is sending it"
        delivered = connection.send_messages([message_for(email)]) == 1
    except Exception as caught:
        error: BaseException = caught
        if getattr(connection, "timed_out", False):
            error = AttemptTimedOut(
                f"Timed out: no answer within the {connection.timeout:g} s an attempt may take "
                f"(after {type(caught).__name__})"
            )
        if claimed and phased and not isinstance(error, smtplib.SMTPResponseException):
            # The server went quiet or away while it was receiving the email: it may have
            # arrived. At most once: it stays "sending" for a person to judge.
            _record_unknown(email, error)
            raise DeliveryFailed(f"{describe(error)}; it may have arrived, not retried") from error
        return _failed(email, error, now, claimed=claimed)
    finally:
        _close_quietly(connection)
    if not claimed:
        return "another worker is sending it"
    if not delivered:
        return _failed(
            email, smtplib.SMTPException("The mail backend accepted nothing."), now, claimed=True
        )
    _record_sent(email, now)
    return "sent"


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # the email's fate is already decided; a failed QUIT changes nothing
        logger.warning("Closing the mail connection failed", exc_info=True)


def _record_unknown(email: Email, error: BaseException) -> None:
    Email.objects.filter(pk=email.pk, status=Email.Status.SENDING).update(
        last_error=f"{describe(error)} while the server was receiving it: it may have arrived."
    )


def _failed(email: Email, error: BaseException, now: datetime, *, claimed: bool) -> str:
    recorded, next_at = _record_failure(email, error, now, claimed=claimed)
    if not recorded:
        return "another attempt recorded the outcome"
    if next_at:
        # The same task runs again then (portal.worker): one row in the queue per email.
        raise Retry(f"{describe(error)} (attempt {email.attempts})", at=next_at)
    raise DeliveryFailed(f"{describe(error)}; not retried")


def email_send_again(*, email: Email, actor: Any, now: datetime | None = None) -> bool:
    """
    A person's decision to try an email again now: a failed one, one still waiting for its
    next retry, or one left "sending" (which may then arrive twice). A fresh retry window
    starts. Only superusers may; a sent email is left alone. Returns whether it was queued.
    """
    if not getattr(actor, "is_superuser", False):
        raise PermissionError("Only a superuser can send an email again.")
    now = now or timezone.now()
    with transaction.atomic():
        requeued = Email.objects.filter(
            pk=email.pk,
            status__in=[Email.Status.QUEUED, Email.Status.FAILED, Email.Status.SENDING],
        ).update(status=Email.Status.QUEUED, first_attempt_at=None, next_attempt_at=now)
        if requeued:
            deliver_email.enqueue(email.pk)
    return bool(requeued)


def lost_emails(now: datetime):
    """Queued emails whose attempt is long overdue: no worker holds a task for them."""
    return Email.objects.filter(
        status=Email.Status.QUEUED, next_attempt_at__lt=now - LOST_AFTER
    ).order_by("next_attempt_at")


def cut_off_emails(now: datetime):
    """Emails left "sending" by a worker that stopped: they may or may not have arrived."""
    return Email.objects.filter(
        status=Email.Status.SENDING, last_attempt_at__lt=now - SENDING_TOO_LONG
    )


def requeue_lost_emails(*, now: datetime | None = None) -> int:
    """
    Give each lost email a new task. Harmless if the old one was only slow: the claim lets one
    of them send. Emails cut off while sending are left for a person (at most once).
    """
    now = now or timezone.now()
    requeued = 0
    for email_id in lost_emails(now).values_list("pk", flat=True).iterator():
        with transaction.atomic():
            if Email.objects.filter(
                pk=email_id, status=Email.Status.QUEUED, next_attempt_at__lt=now - LOST_AFTER
            ).update(next_attempt_at=now):
                deliver_email.enqueue(email_id)
                requeued += 1
    return requeued


def prunable_emails(older_than: datetime):
    return Email.objects.filter(
        status__in=[Email.Status.SENT, Email.Status.FAILED], created_at__lt=older_than
    ).exclude(body="", html="", attachments=[])


def prune_email_content(*, older_than: datetime) -> int:
    """
    Blank what sent and failed emails said (links in them open accounts); who, what kind,
    when and how it went stay for the record.
    """
    return prunable_emails(older_than).update(body="", html="", attachments=[])


@task(queue_name="email")
def deliver_email(email_id: int) -> str:
    """The worker's side of `queue_email`."""
    return deliver(email_id)
