"""Which address a request is counted against, with and without proxies in front."""

import logging

import pytest
from django.test import RequestFactory

from portal.client_address import client_address

PROXY = "10.0.0.2"


def address(settings, proxies, forwarded=None, remote=PROXY):
    settings.AXES_IPWARE_PROXY_COUNT = proxies
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().post("/sign-in/", **extra))


@pytest.mark.parametrize(
    "forwarded", [None, "198.51.100.9", "198.51.100.9, 203.0.113.7", "garbage", '1.2.3.4, "']
)
def test_without_proxies_the_connection_is_the_client_whatever_the_header_says(settings, forwarded):
    assert address(settings, 0, forwarded, remote="203.0.113.7") == "203.0.113.7"


@pytest.mark.parametrize(
    "forwarded",
    [
        "203.0.113.7",
        "198.51.100.9, 203.0.113.7",
        "198.51.100.9,203.0.113.7",
        "unknown, for=198.51.100.9, 203.0.113.7",
        # An unclosed quote that a lenient parser reads as swallowing the proxy's entry.
        '198.51.100.9, ", 203.0.113.7',
        '198.51.100.9, for="[2001:db8::1], 203.0.113.7',
        "203.0.113.7:51234",
        "::ffff:203.0.113.7",
    ],
)
def test_behind_one_proxy_the_client_is_the_entry_the_proxy_appended(settings, forwarded):
    assert address(settings, 1, forwarded) == "203.0.113.7"


def test_behind_two_proxies_the_client_is_second_from_the_right(settings):
    assert address(settings, 2, "198.51.100.9, 203.0.113.7, 10.0.0.1") == "203.0.113.7"


@pytest.mark.parametrize("forwarded", ["2001:DB8::7", "[2001:db8::7]:443", "2001:db8:0::7"])
def test_ipv6_clients_have_one_spelling(settings, forwarded):
    assert address(settings, 1, forwarded) == "2001:db8::7"


@pytest.mark.parametrize(
    ("proxies", "forwarded"),
    [(1, None), (1, ""), (1, "198.51.100.9, not-an-address"), (2, "203.0.113.7")],
)
def test_a_header_the_proxies_did_not_write_falls_back_to_the_connection_with_a_warning(
    settings, caplog, proxies, forwarded
):
    with caplog.at_level(logging.WARNING, logger="portal.client_address"):
        assert address(settings, proxies, forwarded) == PROXY
    assert "Check AXES_IPWARE_PROXY_COUNT" in caplog.text


def test_a_negative_proxy_count_refuses_to_start():
    from tests.portal.test_security import production_env, run_manage

    result = run_manage("check", env=production_env(AXES_IPWARE_PROXY_COUNT="-1"))
    assert result.returncode != 0
    assert "AXES_IPWARE_PROXY_COUNT must be 0 or more" in result.stderr
