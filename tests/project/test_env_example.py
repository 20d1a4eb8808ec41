"""`.env.example` shows every setting the settings module reads from the environment."""

import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_every_environment_setting_is_in_the_example():
    source = (PROJECT / "portal/project/settings.py").read_text()
    read = set(re.findall(r"""env(?:\.\w+|_bool|_seconds)\(\s*["']([A-Z_]+)["']""", source))
    example = {
        line.split("=", 1)[0]
        for line in (PROJECT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert len(read) > 20  # the pattern still finds them
    assert read - example == set()
