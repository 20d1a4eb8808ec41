"""
Browser tests: Playwright for Python driving the system Chromium (Debian's `chromium`)
against pytest-django's live server, at a desktop and a phone viewport.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
import warnings
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls these tests make
# from the same thread are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    # The provider's workspace is checked at a tablet's width instead of a phone's.
    "tablet": {
        "viewport": {"width": 768, "height": 1024},
        "device_scale_factor": 2,
        "has_touch": True,
    },
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


def _chromium_or_fail() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    message = "No Chromium on PATH: install Debian's `chromium` package to run the browser tests."
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


NU_JAR = Path(__file__).resolve().parents[2] / "node_modules/vnu-jar/build/dist/vnu.jar"


# Django's admin/js/inlines.js sets autocomplete="off" on an inline formset's hidden management
# inputs once the page has loaded (so Firefox does not restore stale counts). The HTML Django
# sends is valid; the checker sees the attribute only because it reads the live page.
DJANGO_ADMIN_INLINES_JS = re.compile(
    r'(<input type="hidden"[^>]*?-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS"[^>]*?)'
    r' autocomplete="off"'
)


class NuChecker:
    """The Nu HTML checker as a local web service, started once for the whole session."""

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}/?out=json"

    def errors(self, html: str) -> list[str]:
        request = urllib.request.Request(
            self.url,
            data=html.encode(),
            headers={"Content-Type": "text/html; charset=utf-8"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            messages = json.load(response)["messages"]
        return [
            f"line {m.get('lastLine', '?')}: {m['message']} [{m.get('extract', '').strip()}]"
            for m in messages
            if m["type"] in ("error", "non-document-error")
        ]


@pytest.fixture(scope="session")
def nu_checker():
    """None (and a note) where Java or the jar is missing outside CI; under CI=true a failure."""
    java = shutil.which("java")
    if not java or not NU_JAR.exists():
        message = "The Nu HTML checker needs Java and `make checker` (npm's vnu-jar)."
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message, pytrace=False)
        warnings.warn(message + " Pages are not checked.", stacklevel=1)
        yield None
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            java,
            "-Dnu.validator.servlet.bind-address=127.0.0.1",
            "-cp",
            str(NU_JAR),
            "nu.validator.servlet.Main",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checker = NuChecker(port)
    try:
        # It reads its schemas and the HTML spec first: tens of seconds on a busy machine.
        for _ in range(360):
            try:
                checker.errors("<!doctype html><html lang=en><title>t</title></html>")
                break
            except (OSError, ValueError):
                time.sleep(0.5)
        else:
            pytest.fail("The Nu HTML checker did not start.", pytrace=False)
        yield checker
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def browser():
    executable = _chromium_or_fail()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(params=["desktop", "phone"])
def viewport(request) -> str:
    return request.param


class Visit:
    """One browser tab with the checks every journey makes: console errors, axe, screenshots."""

    def __init__(self, page, base_url: str, viewport: str, test_name: str, checker=None):
        self.checker = checker
        self.page = page
        self.base_url = base_url
        self.viewport = viewport
        self.test_name = re.sub(r"[^\w-]+", "-", test_name).strip("-")
        self.console_errors: list[str] = []
        self.shots = 0
        page.on(
            "console",
            lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))

    def goto(self, path: str):
        return self.page.goto(self.base_url + path)

    def screenshot(self, step: str, page=None) -> Path:
        """Save a full-page screenshot of this tab, or of another `page` of the same test."""
        self.shots += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.test_name}-{self.shots:02d}-{step}.png"
        (page or self.page).screenshot(path=str(path), full_page=True)
        return path

    def assert_accessible(self):
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
        violations = results.response["violations"]
        assert not violations, "axe found WCAG 2.1 A/AA violations on {}:\n{}".format(
            self.page.url,
            "\n".join(
                f"- {v['id']}: {v['help']} ({len(v['nodes'])}x: {v['nodes'][0]['target']})"
                for v in violations
            ),
        )

    def assert_valid_html(self):
        """The page as the browser holds it now (dialogs and swaps included), to the Nu checker."""
        if self.checker is None:
            return
        html = DJANGO_ADMIN_INLINES_JS.sub(r"\1", self.page.content())
        errors = self.checker.errors(html)
        assert not errors, "The Nu HTML checker found errors on {}:\n{}".format(
            self.page.url, "\n".join(f"- {error}" for error in errors)
        )

    def check(self, step: str):
        """Screenshot, axe, valid HTML, and no console errors (a CSP violation is one) so far."""
        self.page.wait_for_load_state("load")
        self.screenshot(step)
        self.assert_accessible()
        self.assert_valid_html()
        assert not self.console_errors, self.console_errors


@pytest.fixture
def visit(browser, live_server, viewport, request, transactional_db, nu_checker):
    context = browser.new_context(**VIEWPORTS[viewport], timezone_id="America/New_York")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield Visit(page, live_server.url, viewport, request.node.name, nu_checker)
    context.close()


def sign_in(visit: Visit, email: str, password: str):
    page = visit.page
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")


def totp_code(device) -> str:
    import time

    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def admin_sign_in(page, base_url: str, email: str, password: str) -> None:
    """Password, then the authenticator code, as a provider does at the admin's door."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from portal.models import User

    user = User.objects.get(email=email)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    device = device or TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page.goto(base_url + "/admin/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit]").click()
    page.get_by_label("Code").fill(totp_code(device))
    page.get_by_role("button", name="Verify").click()
