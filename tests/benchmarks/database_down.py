"""
What a signed-in client of a real gunicorn gets when PostgreSQL is locked, silent or refusing,
and how long it takes: the operator's measurement, repeated.

    .venv/bin/python tests/benchmarks/database_down.py

BENCH_DATABASE_URL names the database (default
postgres://postgres@127.0.0.1:5432/portal_dbdown_bench; made and migrated when missing). For
each case gunicorn (one sync worker, its default 30 s timeout, the production settings but
plain http) is started against it and asked for the Appointments page with a session made
beforehand:

- locked: another connection holds django_session in ACCESS EXCLUSIVE mode, so the first read
  of the request waits. Once with DATABASE_STATEMENT_TIMEOUT=0 (no timeout: as before), then
  with the default;
- silent: DATABASE_URL points at a server that accepts connections and never answers;
- refused: DATABASE_URL points at a closed port.
"""

import http.client
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.benchmarks import processes  # noqa: E402
from tests.smtp import SilentServer, free_port  # noqa: E402

BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_dbdown_bench"
)
EMAIL = "bench-dbdown@example.com"


def libpq_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, f"{netloc[0]}@{host}" if len(netloc) == 2 else host,
                       parts.path, parts.query, ""))  # fmt: skip


def ensure_database(env: dict) -> None:
    name = urlsplit(BENCH_DATABASE_URL).path.lstrip("/")
    maintenance = urlsplit(libpq_url(BENCH_DATABASE_URL))._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    manage("migrate", "--noinput", "-v0", env=env)


def manage(*args: str, env: dict) -> str:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def session_cookie(env: dict) -> str:
    """A signed-in session for the bench client, made in the database beforehand."""
    code = (
        "from django.test import Client\n"
        "from portal.models import User\n"
        f"user = User.objects.filter(email={EMAIL!r}).first()\n"
        f"user = user or User.objects.create_user({EMAIL!r}, None)\n"
        "client = Client()\n"
        "client.force_login(user)\n"
        "print(client.cookies['sessionid'].value)\n"
    )
    return manage("shell", "--no-imports", "-c", code, env=env).split()[-1]


class Gunicorn:
    def __init__(self, env: dict, workdir: Path):
        self.port = free_port()
        self.log = open(workdir / f"gunicorn-{self.port}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "portal.project.wsgi:application",
             "--workers", "1", "--timeout", "30", "--bind", f"127.0.0.1:{self.port}"],
            env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        for _ in range(100):
            try:
                if self.get("/sign-in/", "")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer; see {self.log.name}")

    def get(self, path: str, cookie: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
            response = conn.getresponse()
            response.read()
            return response.status, response.getheader("Retry-After") or ""
        finally:
            conn.close()

    def stop(self) -> None:
        processes.stop(self.process)
        self.log.close()


def measure(label: str, env: dict, cookie: str, workdir: Path) -> None:
    server = Gunicorn(env, workdir)
    try:
        began = time.monotonic()
        try:
            status, retry_after = server.get("/appointments/", cookie)
            outcome = f"{status}" + (f", Retry-After: {retry_after}" if retry_after else "")
        except (http.client.HTTPException, OSError) as error:
            outcome = f"no answer ({type(error).__name__})"
        print(f"{label:<44}{time.monotonic() - began:6.1f} s   {outcome}", flush=True)
    finally:
        server.stop()


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="portal-dbdown-"))
    (workdir / "bench_settings.py").write_text(
        "from portal.project.settings import *  # noqa: F403\n"
        f"STATIC_ROOT = {str(workdir / 'static')!r}\n"
    )
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "AUDIT_SIGNING_KEYS": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": BENCH_DATABASE_URL,
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "EMAIL_URL": "consolemail://",
        "LOG_LEVEL": "CRITICAL",
    }
    ensure_database(env)
    manage("collectstatic", "--noinput", "-v0", env=env)
    cookie = session_cookie(env)
    print(f"gunicorn, 1 sync worker, --timeout 30; logs in {workdir}")
    measure("database answering", env, cookie, workdir)

    with psycopg.connect(libpq_url(BENCH_DATABASE_URL)) as holder:
        holder.execute("LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE")
        measure("locked, no statement timeout (as before)", env | {
            "DATABASE_STATEMENT_TIMEOUT": "0"}, cookie, workdir)  # fmt: skip
        measure("locked, DATABASE_STATEMENT_TIMEOUT=5", env, cookie, workdir)
        holder.rollback()

    silent = SilentServer()
    try:
        url = with_port(BENCH_DATABASE_URL, silent.port)
        measure("silent server, DATABASE_CONNECT_TIMEOUT=3", env | {"DATABASE_URL": url},
                cookie, workdir)  # fmt: skip
    finally:
        silent.close()
    refused = with_port(BENCH_DATABASE_URL, free_port())
    measure("refused connection", env | {"DATABASE_URL": refused}, cookie, workdir)


if __name__ == "__main__":
    main()
