"""consult: multilingual community safety consultation for partnerships.

`create_app` is imported lazily so that `consult.analysis` can be used on its
own with nothing but pandas and numpy installed."""

from __future__ import annotations

from typing import Any


def create_app(config: Any = None) -> Any:
    from .app import create_app as _create_app

    return _create_app(config)
