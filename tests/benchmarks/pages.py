"""
How fast the signed-in client's pages are on a big database, next to the cheapest page.

    make benchmark-pages
    BENCH_DATABASE_URL=postgres://... make benchmark-pages ARGS="--appointments 20000 --seconds 5"

Builds (or re-uses) the data set of tests/benchmarks/bigdata.py in the PostgreSQL database
BENCH_DATABASE_URL names, serves it with gunicorn (2 sync workers, DEBUG off, production
settings except that it speaks plain http on a free local port), signs in the client with
20 upcoming and 200 past appointments, and measures each page with wrk: every page for
--seconds with --connections connections, the pages one after another, --rounds times.
The floor is the cheapest signed-in page through the same middleware, the password form.
The table shows the median over the rounds of requests a second, the 50th and 95th
percentile latency, the requests a second as a share of the floor's, and the database
queries the page makes (counted in process, once, against the same database).

Then the booking run: 16 signed-in clients at once book free times with 4 providers through
the real form (picker, review, confirm), and the password form is read at the same
concurrency; it prints both 95th percentiles and their ratio, and how many bookings
succeeded. Last, when Lighthouse is installed (make benchmark-pages installs it), its scores
for each page.
"""

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# First: it sets Django up on the bench database (development settings, for the in-process
# work); the server gets production settings of its own.
from tests.benchmarks import bigdata, processes  # noqa: E402, I001

WORKERS = 2

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from appointments import selectors  # noqa: E402
from appointments.models import (  # noqa: E402
    Appointment,
    AppointmentType,
    Provider,
    WaitlistEntry,
    WaitlistOffer,
)
from chat.models import Conversation  # noqa: E402
from chat.selectors import unread_total  # noqa: E402
from portal.models import User  # noqa: E402

FLOOR = "Floor (password form)"
# The device portal.two_factor keeps a staff member's recovery codes on (bigdata makes it).
RECOVERY_CODES = "Recovery codes"


@dataclass
class Page:
    name: str
    path: str
    status: int = 200
    # Whose page: the special client's, or their first provider's (the practice's week).
    who: str = "client"
    queries: int = 0
    # Milliseconds the page takes in process, without the server, the load generator and the
    # network: on a two-core machine those share the cores with the page under test.
    in_process_ms: float = 0.0
    runs: list[dict] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.runs)


def client_pages() -> list[Page]:
    """The pages the issue names, as the special client sees them."""
    client = User.objects.get(email=bigdata.CLIENT_EMAIL)
    first = Provider.objects.get(user__email="bench-provider-0@example.com")
    conversation = Conversation.objects.get(client=client, provider=first)
    last_id = conversation.messages.order_by("-id").values_list("id", flat=True).first()
    kind = AppointmentType.objects.get(provider=first, name="Session")
    # The poll as the conversation page writes it once the thread is read: nothing new here,
    # and the menus' unread count (the other conversation's) still stands, so 204.
    poll = reverse("chat:poll", args=[conversation.pk])
    poll += f"?after={last_id}&unread={unread_total(client)}"
    upcoming = (
        Appointment.objects.active()
        .filter(client=client, start__gt=timezone.now())
        .order_by("start")
        .first()
    )
    entry = WaitlistEntry.objects.filter(client=client, status="active").first()
    offer = WaitlistOffer.objects.filter(entry=entry, status="offered").first()
    lists = [
        (name, reverse(f"appointments:{name.lower()}"))
        for name in ["Upcoming", "Past", "Cancelled", "Fees"]
    ]
    return [
        Page(FLOOR, reverse("account:password")),
        Page("Appointments", reverse("appointments:list")),
        Page("Account", reverse("account:detail")),
        Page("Conversation", reverse("chat:detail", args=[conversation.pk])),
        Page("Booking picker", reverse("appointments:book-time", args=[first.pk, kind.pk])),
        Page("Chat list", reverse("chat:list")),
        Page("Chat poll (204)", poll, status=204),
        Page("Appointment", reverse("appointments:detail", args=[upcoming.pk])),
        *(Page(f"{name}, first page", path) for name, path in lists),
        *(Page(f"{name}, last page", f"{path}?page=last") for name, path in lists),
        Page("Waitlist entry", reverse("appointments:waitlist-entry", args=[entry.pk])),
        Page("Waitlist offer", reverse("appointments:waitlist-offer", args=[offer.token])),
        Page("Provider's week", reverse("admin:index"), who="provider"),
    ]


def provider_of_the_week() -> User:
    return User.objects.get(email="bench-provider-0@example.com")


def provider_browser() -> Client:
    """The special client's first provider in the admin, past the second step, in process."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_static.models import StaticDevice

    user = provider_of_the_week()
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_CODES)
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(user)
    session = browser.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return browser


def browsers_in_process() -> dict[str, Client]:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(email=bigdata.CLIENT_EMAIL))
    return {"client": client, "provider": provider_browser()}


IN_PROCESS_RUNS = 40


def count_queries(pages: list[Page]) -> None:
    """Each page once in process, after a first visit, with its queries counted."""
    browsers = browsers_in_process()
    for page in pages:
        browser = browsers[page.who]
        browser.get(page.path)
        with CaptureQueriesContext(connection) as queries:
            response = browser.get(page.path)
        assert response.status_code == page.status, (page.path, response.status_code)
        page.queries = len(queries)
    connection.close()


def time_in_process() -> dict[str, float]:
    """
    Run under the server's own settings (see Server.in_process): each page's median time of
    IN_PROCESS_RUNS requests, taken in turns with the other pages, in milliseconds.
    """
    pages = client_pages()
    browsers = browsers_in_process()
    times: dict[str, list[float]] = {page.name: [] for page in pages}
    for page in pages:
        browsers[page.who].get(page.path)
    for _ in range(IN_PROCESS_RUNS):
        for page in pages:
            started = time.perf_counter()
            browsers[page.who].get(page.path)
            times[page.name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(samples) for name, samples in times.items()}


# --- The server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn with the production settings, over plain http on a free local port."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        # The real settings with the static files collected into this run's directory: the
        # settings fix STATIC_ROOT beside manage.py, which a deploy owns.
        (workdir / "bench_settings.py").write_text(
            "from portal.project.settings import *  # noqa: F403\n"
            f"STATIC_ROOT = {str(workdir / 'static')!r}\n"
        )
        self.env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "bench_settings",
            "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "AUDIT_SIGNING_KEYS": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": bigdata.BENCH_DATABASE_URL,
            # Plain http on the loopback address: no redirect to https, cookies without
            # Secure (a browser would not send them back over http). The rest as deployed.
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "EMAIL_URL": "consolemail://",
            "LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen | None = None

    def in_process(self, pages: list[Page]) -> None:
        """Each page's time in process, with the production settings the server runs."""
        output = subprocess.run(
            [sys.executable, __file__, "--in-process"],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        times = json.loads(output.strip().splitlines()[-1])
        for page in pages:
            page.in_process_ms = times[page.name]

    def start(self) -> None:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"],
            env=self.env,
            check=True,
        )
        self.log = open(self.workdir / "gunicorn.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.project.wsgi:application",
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{self.port}",
            ],  # fmt: skip
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(100):
            try:
                if Browser(self.port).get("/sign-in/")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer; see {self.workdir / 'gunicorn.log'}")

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process)


class Browser:
    """One signed-in visitor: keeps its connection open and its cookies."""

    def __init__(self, port: int):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {"Cookie": self.cookie_header()}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        began = time.perf_counter()
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        took = (time.perf_counter() - began) * 1000
        for value in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(value).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, text, took

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, form: dict):
        token = self.cookies[settings.CSRF_COOKIE_NAME]
        return self.request("POST", path, {"csrfmiddlewaretoken": token, **form})

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def sign_in_to_the_admin(self, user: User) -> "Browser":
        """Password, then a recovery code made for the run: the second step as staff pass it."""
        from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

        device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_CODES)
        code = StaticToken.random_token()
        StaticToken.objects.create(device=device, token=code)
        index, sign_in = reverse("admin:index"), reverse("admin:login")
        self.get(f"{sign_in}?next={index}")
        # With the `next` the form carries: without it the sign-in goes to the client's pages.
        form = {"username": user.email, "password": bigdata.PASSWORD, "next": index}
        status, headers, _, _ = self.post(sign_in, form)
        # Followed as a browser does: the index sends staff who have not passed the second
        # step through the sign-in page, which sends them on to it.
        path = sign_in
        for _ in range(3):
            if status != 302:
                break
            path = headers.get("Location", "")
            status, headers, _, _ = self.get(path)
        if status != 200 or not path.startswith(reverse("admin:two-factor")):
            raise RuntimeError(f"signing in to the admin ended at {path} ({status})")
        status, headers, _, _ = self.post(path, {"code": code, "next": index})
        if status != 302 or headers.get("Location") != index:
            raise RuntimeError(f"the admin's second step answered {status}")
        return self

    def sign_in(self, email: str) -> "Browser":
        self.get("/sign-in/")
        status, headers, _, _ = self.post(
            "/sign-in/", {"username": email, "password": bigdata.PASSWORD}
        )
        if status != 302 or settings.SESSION_COOKIE_NAME not in self.cookies:
            raise RuntimeError(f"signing in as {email} answered {status}")
        return self


# --- Pages under wrk -------------------------------------------------------------------------

WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) expected = tonumber(args[1]); unexpected = 0 end
function response(status, headers, body)
  if status ~= expected then unexpected = unexpected + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("unexpected") end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p95_us=%d errors=%d unexpected=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    e.connect + e.read + e.write + e.status + e.timeout, bad))
end
"""


def wrk(port: int, page: Page, cookie: str, seconds: int, connections: int, script: Path):
    command = [
        "wrk", f"--threads={min(connections, os.cpu_count() or 1)}",
        f"--connections={connections}", f"--duration={seconds}s", "--timeout=30s",
        f"--script={script}", f"--header=Cookie: {cookie}",
        f"http://127.0.0.1:{port}{page.path}", "--", str(page.status),
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^BENCH (.*)$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result for {page.name}:\n{out}")
    values = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}
    if values["errors"] or values["unexpected"]:
        raise RuntimeError(f"{page.name}: {values} (a signed-out session answers 302)")
    return {
        "rps": values["requests"] / (values["duration_us"] / 1e6),
        "p50": values["p50_us"] / 1000,
        "p95": values["p95_us"] / 1000,
    }


def measure_pages(
    port: int, pages: list[Page], cookies: dict[str, str], args, workdir: Path
) -> None:
    script = workdir / "bench.lua"
    script.write_text(WRK_SCRIPT)
    for number in range(1, args.rounds + 1):
        for page in pages:  # interleaved: a drift in the machine's load hits every page alike
            cookie = cookies[page.who]
            page.runs.append(wrk(port, page, cookie, args.seconds, args.connections, script))
            run = page.runs[-1]
            print(f"  round {number}: {page.name:<22} {run['rps']:8.1f} req/s", flush=True)


def print_table(pages: list[Page]) -> None:
    floor = pages[0]
    print(
        f"\n{'page':<24}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'vs floor':>10}{'queries':>9}"
        f"{'in-process ms':>15}{'vs floor':>10}"
    )
    for page in pages:
        # Each round's page against the same round's floor, then the median: the machine's
        # load drifts between rounds much more than within one.
        ratio = statistics.median(
            run["rps"] / base["rps"] for run, base in zip(page.runs, floor.runs, strict=True)
        )
        print(
            f"{page.name:<24}{page.median('rps'):>9.1f}{page.median('p50'):>9.1f}"
            f"{page.median('p95'):>9.1f}{ratio:>10.2f}{page.queries:>9}"
            f"{page.in_process_ms:>15.1f}{floor.in_process_ms / page.in_process_ms:>10.2f}"
        )


# --- Booking under concurrency ---------------------------------------------------------------


def booking_plan(per_client: int) -> list[tuple[str, int, int, list[datetime]]]:
    """
    (email, provider id, type id, start times) for each booker: free times of their provider,
    none overlapping another booker's, so every booking can succeed.
    """
    bookers = list(
        User.objects.filter(email__in=[bigdata.booker_email(n) for n in range(bigdata.BOOKERS)])
    )
    # The previous runs' bookings are cancelled (a conditional update) to free their times.
    Appointment.objects.active().filter(client__in=bookers).update(
        status=Appointment.Status.CANCELLED
    )
    plan = []
    by_provider: dict[int, list[User]] = {}
    for booker in sorted(bookers, key=lambda user: user.email):
        provider = Provider.objects.get(careteammember__client=booker)
        by_provider.setdefault(provider.pk, []).append(booker)
    now = timezone.now() + timedelta(minutes=5)
    for provider_id, clients in by_provider.items():
        provider = Provider.objects.get(pk=provider_id)
        kind = AppointmentType.objects.get(provider=provider, name="Session")
        slots = selectors.open_slots(
            provider=provider, appointment_type=kind, client=clients[0], now=now
        )
        apart = []
        for start in slots:
            if not apart or start >= apart[-1] + kind.duration:
                apart.append(start)
        need = per_client * len(clients)
        if len(apart) < need:
            raise SystemExit(f"{provider} has {len(apart)} free times, {need} needed.")
        for n, client in enumerate(clients):
            plan.append((client.email, provider.pk, kind.pk, apart[n : need : len(clients)]))
    connection.close()
    return plan


def run_together(jobs) -> None:
    threads = [threading.Thread(target=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)]


def measure_booking(port: int, per_client: int) -> None:
    plan = booking_plan(per_client)
    browsers = [Browser(port).sign_in(email) for email, *_ in plan]
    floor_path = reverse("account:password")
    for browser, (_, provider_id, type_id, starts) in zip(browsers, plan, strict=True):
        # The journey before the POST, once each: the picker, then the review of a time.
        picker = reverse("appointments:book-time", args=[provider_id, type_id])
        assert browser.get(picker)[0] == 200
        review = reverse("appointments:book-review", args=[provider_id, type_id])
        assert browser.get(f"{review}?{urlencode({'start': starts[0].isoformat()})}")[0] == 200

    # The policy each review page showed, as its form carries it back.
    terms = {
        kind.pk: selectors.terms_in_force(kind.provider, kind).token
        for kind in AppointmentType.objects.select_related("provider").filter(
            pk__in={type_id for _, _, type_id, _ in plan}
        )
    }
    floor: list[float] = []
    posts: list[float] = []
    outcomes: dict[int, int] = {}
    lock = threading.Lock()

    def read_floor(browser: Browser) -> None:
        for _ in range(per_client):
            status, _, _, took = browser.get(floor_path)
            assert status == 200, status
            with lock:
                floor.append(took)

    def book(browser: Browser, provider_id: int, type_id: int, starts: list[datetime]) -> None:
        url = reverse("appointments:book-review", args=[provider_id, type_id])
        for start in starts:
            status, _, _, took = browser.post(
                url, {"start": start.isoformat(), "expected_terms": terms[type_id]}
            )
            with lock:
                posts.append(took)
                outcomes[status] = outcomes.get(status, 0) + 1

    # The floor before and after the bookings, at the same concurrency, on the same server.
    run_together([lambda b=b: read_floor(b) for b in browsers])
    run_together([lambda b=b, s=s: book(b, *s[1:]) for b, s in zip(browsers, plan, strict=True)])
    run_together([lambda b=b: read_floor(b) for b in browsers])
    booked = outcomes.get(302, 0)
    taken = outcomes.get(409, 0)
    other = sum(outcomes.values()) - booked - taken
    print(f"\nBooking POST, {len(browsers)} clients at once with {len(set(p[1] for p in plan))}"
          f" providers, {per_client} bookings each:")  # fmt: skip
    print(f"  booked {booked}, taken {taken}, other {other} {outcomes if other else ''}")
    print(f"  booking POST p95 {p95(posts):8.1f} ms  (p50 {statistics.median(posts):.1f} ms)")
    print(f"  floor page   p95 {p95(floor):8.1f} ms  (p50 {statistics.median(floor):.1f} ms)")
    print(f"  ratio of p95s    {p95(posts) / p95(floor):8.2f}")


# --- Lighthouse ------------------------------------------------------------------------------


def lighthouse_command() -> list[str] | None:
    lighthouse = ROOT / ".benchmark-tools" / "node_modules" / ".bin" / "lighthouse"
    return [str(lighthouse)] if lighthouse.exists() else None


def measure_lighthouse(
    port: int, pages: list[Page], cookies: dict[str, str], workdir: Path
) -> None:
    command, chromium = lighthouse_command(), shutil.which("chromium")
    if command is None or chromium is None:
        print("\nLighthouse skipped: make benchmark-pages installs it (with npm; Chromium too).")
        return
    print(f"\nLighthouse (its default mobile profile), {chromium}:")
    print(f"{'page':<24}{'perf':>6}{'a11y':>6}{'best':>6}{'CLS':>8}")
    for page in pages:
        if page.status != 200:
            continue  # the poll is not a page
        report = workdir / "lighthouse.json"
        command_line = [
            *command, f"http://127.0.0.1:{port}{page.path}", "--quiet",
            "--output=json", f"--output-path={report}",
            "--only-categories=performance,accessibility,best-practices",
            "--chrome-flags=--headless=new --no-sandbox",
            f"--extra-headers={json.dumps({'Cookie': cookies[page.who]})}",
        ]  # fmt: skip
        # Headless Chromium now and then loses a trace (NO_NAVSTART): try again, twice.
        for _ in range(3):
            report.unlink(missing_ok=True)
            env = os.environ | {"CHROME_PATH": chromium}
            if subprocess.run(command_line, env=env, cwd=ROOT).returncode == 0:
                break
        else:
            print(f"{page.name:<24}  Lighthouse failed three times")
            continue
        result = json.loads(report.read_text())
        final = result.get("finalDisplayedUrl") or result.get("finalUrl", "")
        if not final.endswith(page.path):
            raise RuntimeError(f"Lighthouse ended at {final}, not {page.path}: signed out?")
        scores = [round(result["categories"][c]["score"] * 100) for c in
                  ("performance", "accessibility", "best-practices")]  # fmt: skip
        cls = result["audits"]["cumulative-layout-shift"]["numericValue"]
        print(f"{page.name:<24}{scores[0]:>6}{scores[1]:>6}{scores[2]:>6}{cls:>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--appointments", type=int, default=bigdata.DEFAULT_APPOINTMENTS)
    parser.add_argument("--rebuild", action="store_true", help="build the data set again")
    parser.add_argument("--seconds", type=int, default=20, help="per page and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--bookings", type=int, default=10, help="per client in the booking run")
    parser.add_argument("--no-booking", action="store_true")
    parser.add_argument("--no-lighthouse", action="store_true")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.in_process:
        print(json.dumps(time_in_process()))
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk was not found: apt-get install wrk (make benchmark-pages does).")

    bigdata.ensure(args.appointments, rebuild=args.rebuild)
    pages = client_pages()
    count_queries(pages)
    with tempfile.TemporaryDirectory(prefix="pages-bench-") as tmp:
        server = Server(Path(tmp))
        try:
            server.start()
            server.in_process(pages)
            browser = Browser(server.port).sign_in(bigdata.CLIENT_EMAIL)
            staff = Browser(server.port).sign_in_to_the_admin(provider_of_the_week())
            signed_in = {"client": browser, "provider": staff}
            for page in pages:
                status = signed_in[page.who].get(page.path)[0]
                assert status == page.status, f"{page.name} answered {status}"
            print(
                f"\ngunicorn ({WORKERS} sync workers) on port {server.port}, {os.cpu_count()} "
                f"CPUs; wrk, {args.connections} connections, {args.seconds} s a page, "
                f"{args.rounds} round(s), pages interleaved; signed in as {bigdata.CLIENT_EMAIL}"
            )
            cookies = {who: each.cookie_header() for who, each in signed_in.items()}
            measure_pages(server.port, pages, cookies, args, Path(tmp))
            print_table(pages)
            if not args.no_booking:
                measure_booking(server.port, args.bookings)
            if not args.no_lighthouse:
                measure_lighthouse(server.port, pages, cookies, Path(tmp))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
