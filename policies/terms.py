"""
The terms of a cancellation and rescheduling policy as plain values. An appointment keeps
a copy of the terms in force when it was booked, so later edits never change its rules.
"""

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

# The longest notice and grace period a policy may have. A notice of a year already means
# "not online"; longer ones only overflow when subtracted from an appointment's start.
MAX_NOTICE = timedelta(days=365)
MAX_GRACE_PERIOD = timedelta(days=30)

CURRENCY_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "EUR": "€", "GBP": "£"}


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    @property
    def token(self) -> str:
        """How a page carries the amount it showed back to the server: "50.00 USD"."""
        return f"{self.amount.quantize(Decimal('0.01'))} {self.currency}"

    @classmethod
    def from_token(cls, token: str) -> "Money | None":
        """The amount a page says it showed; None for none, or for anything unreadable."""
        try:
            amount, currency = (token or "").split()
            money = cls(Decimal(amount), currency)
        except (ValueError, ArithmeticError):
            return None
        if not money.amount.is_finite() or money.amount < 0 or len(currency) != 3:
            return None
        return money

    def covers(self, other: "Money | None") -> bool:
        """Whether agreeing to this amount also agrees to `other` (none, or no more of it)."""
        return other is None or (other.currency == self.currency and other.amount <= self.amount)

    def __str__(self) -> str:
        amount = self.amount.quantize(Decimal("0.01"))
        text = f"{amount:,.0f}" if amount == amount.to_integral() else f"{amount:,.2f}"
        symbol = CURRENCY_SYMBOLS.get(self.currency)
        return f"{symbol}{text}" if symbol else f"{text} {self.currency}"


class Late:
    """What happens when a client acts inside the notice window."""

    REFUSE = "refuse"
    FEE = "fee"


@dataclass(frozen=True)
class PolicyTerms:
    clients_may_cancel: bool = True
    clients_may_reschedule: bool = True
    cancel_notice: timedelta = timedelta(hours=24)
    reschedule_notice: timedelta = timedelta(hours=24)
    late_cancel: str = Late.REFUSE
    late_cancel_fee: Decimal = Decimal("0")
    late_reschedule: str = Late.REFUSE
    late_reschedule_fee: Decimal = Decimal("0")
    currency: str = "USD"
    max_reschedules: int | None = None
    grace_period: timedelta = timedelta(minutes=10)
    no_show_fee: Decimal | None = None
    text: str = field(default="", compare=False)

    def as_json(self) -> dict:
        """A JSON-safe copy, for saving with an appointment."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, timedelta):
                data[key] = value.total_seconds()
            elif isinstance(value, Decimal):
                data[key] = str(value)
        return data

    @property
    def token(self) -> str:
        """
        How a page carries the terms it showed back to the server: a digest of every term,
        its words included, so that a booking binds only terms the client was shown. Amounts
        are normalised (50 and 50.00 are the same fee) and durations read in whole seconds.
        """
        canonical = {
            name: (
                f"{value.normalize():f}"
                if isinstance(value, Decimal)
                else round(value.total_seconds())
                if isinstance(value, timedelta)
                else value
            )
            for name, value in asdict(self).items()
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @classmethod
    def from_json(cls, data: dict | None) -> "PolicyTerms":
        """
        The terms saved with a booking. Each field has its own reader: whatever was saved,
        by an older version or by hand, reads as a value of the right kind, never a crash.

        Terms are read once and kept (they are frozen): a page of twenty cards asks for the
        same few terms forty times, and reading them cost more than deciding.
        """
        if isinstance(data, dict):
            try:
                # Each value's type in the key too: True and 1 are equal keys, not equal terms.
                key = frozenset((name, type(value), value) for name, value in data.items())
                return _read_kept(key)
            except TypeError:  # a value no key can hold (a list saved by hand): read afresh
                pass
        return cls._read(data)

    @classmethod
    def _read(cls, data: dict | None) -> "PolicyTerms":
        if not isinstance(data, dict) or not data:
            return cls()
        defaults = cls()
        return cls(
            **{
                name: read(data[name], getattr(defaults, name))
                for name, read in READERS.items()
                if name in data
            }
        )


@lru_cache(maxsize=1024)
def _read_kept(items: frozenset) -> PolicyTerms:
    return PolicyTerms._read({name: value for name, _, value in items})


def _flag(value: object, default: bool) -> bool:
    return value if isinstance(value, bool) else default


def _late(value: object, default: str) -> str:
    return value if isinstance(value, str) and value in (Late.REFUSE, Late.FEE) else default


def _text(value: object, default: str) -> str:
    return value if isinstance(value, str) else default


def _currency(value: object, default: str) -> str:
    return value if isinstance(value, str) and len(value) == 3 and value.isalpha() else default


def _amount(value: object, default: Decimal | None) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return default
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return default
    return amount if amount.is_finite() and amount >= 0 else default


def _optional_amount(value: object, default: Decimal | None) -> Decimal | None:
    return None if value is None else _amount(value, default)


def _count(value: object, default: int | None) -> int | None:
    if value is None:
        return None
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default
    )


def _duration(limit: timedelta):
    def read(seconds: object, default: timedelta) -> timedelta:
        """
        Clamped to [0, limit]: terms saved before the bounds existed may hold millions of
        days; they must still read, never crash a page.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, int | float | str):
            return default
        try:
            value = float(seconds)
        except ValueError:
            return default
        if math.isnan(value):
            return default
        return timedelta(seconds=min(max(value, 0.0), limit.total_seconds()))

    return read


# How each saved field is read back; every field of PolicyTerms has one (a test checks).
READERS = {
    "clients_may_cancel": _flag,
    "clients_may_reschedule": _flag,
    "cancel_notice": _duration(MAX_NOTICE),
    "reschedule_notice": _duration(MAX_NOTICE),
    "late_cancel": _late,
    "late_cancel_fee": _amount,
    "late_reschedule": _late,
    "late_reschedule_fee": _amount,
    "currency": _currency,
    "max_reschedules": _count,
    "grace_period": _duration(MAX_GRACE_PERIOD),
    "no_show_fee": _optional_amount,
    "text": _text,
}
