"""
Links from one app's pages to another's, without either importing the other. The app that
answers owns the function that builds its link and provides it here when it starts (in its
AppConfig.ready); an app that links asks by name and gets None when nothing answers (that app
is not installed), so it can offer another way.
"""

from collections.abc import Callable

_builders: dict[str, Callable[..., str]] = {}


def provide(name: str, builder: Callable[..., str]) -> None:
    _builders[name] = builder


def link(name: str, **kwargs: object) -> str | None:
    builder = _builders.get(name)
    return builder(**kwargs) if builder else None
