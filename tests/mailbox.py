"""
The tests' mailbox: Django's in-memory backend, which also fails any test in which an email
is handed to it while a request is being answered. Emails leave through the worker only.
"""

import threading

from django.core.mail.backends.locmem import EmailBackend
from django.core.signals import request_finished, request_started

_state = threading.local()


def _started(**kwargs) -> None:
    _state.requests = getattr(_state, "requests", 0) + 1


def _finished(**kwargs) -> None:
    _state.requests = max(0, getattr(_state, "requests", 0) - 1)


request_started.connect(_started, dispatch_uid="tests.mailbox.started")
request_finished.connect(_finished, dispatch_uid="tests.mailbox.finished")


class RequestGuardedBackend(EmailBackend):
    def send_messages(self, messages):
        if getattr(_state, "requests", 0):
            raise AssertionError("An email was sent while a request was being answered.")
        return super().send_messages(messages)
