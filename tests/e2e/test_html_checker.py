"""The Nu HTML checker the browser tests run on every page can see what it is there to catch."""

import pytest

PAGE = '<!DOCTYPE html><html lang="en"><head><title>t</title></head><body>{}</body></html>'


@pytest.mark.parametrize(
    "fragment",
    [
        '<a href="/" hx-get="/">an htmx attribute without data-</a>',
        '<time datetime="2026-11-28T10:00:00.123456+00:00">microseconds</time>',
    ],
)
def test_the_checker_reports_what_the_pages_must_not_have(nu_checker, fragment):
    if nu_checker is None:
        pytest.fail("No Nu HTML checker: `make checker` and Java are needed.")
    assert nu_checker.errors(PAGE.format(fragment))


def test_the_checker_accepts_what_the_pages_use(nu_checker):
    if nu_checker is None:
        pytest.fail("No Nu HTML checker: `make checker` and Java are needed.")
    fragment = (
        '<a href="/" data-hx-get="/">htmx</a>'
        '<time datetime="2026-11-28T10:00:00+00:00">seconds</time>'
        '<dialog aria-label="Appointment"></dialog>'
    )
    assert nu_checker.errors(PAGE.format(fragment)) == []
