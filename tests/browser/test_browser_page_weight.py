"""Page weight as a resident's phone sees it: what reaches the server while a
real Chromium opens a survey and answers two questions. The first page loads
the page and its static files; every later page is one request, because the
static files are fingerprinted and immutable. Sizes are what a proxy's gzip
would send (measured here by compressing each body, level 6 as nginx does).

Run with -s to see the figures."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from .conftest import LiveServer

pytestmark = pytest.mark.browser

SLUG = "feeling-safe"
REPEAT_PAGE_LIMIT = 12 * 1024
FIRST_PAGE_LIMIT = 60 * 1024


@dataclass
class Seen:
    path: str
    status: int
    cache_control: str
    raw: int
    compressed: int


@dataclass
class Recorder:
    seen: list[Seen] = field(default_factory=list)

    def take(self) -> list[Seen]:
        taken, self.seen = self.seen, []
        return taken


@contextmanager
def recording(server: LiveServer) -> Iterator[Recorder]:
    """Every request the server answers while the block runs, with the size of
    its body raw and gzipped."""
    recorder = Recorder()
    app = server.app
    inner = app.wsgi_app

    def counting(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status_headers: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            status_headers["status"] = int(status.split()[0])
            status_headers["headers"] = dict(headers)
            return start_response(status, headers, *args)

        body = b"".join(inner(environ, capture))
        headers = status_headers.get("headers", {})
        recorder.seen.append(
            Seen(
                path=environ.get("PATH_INFO", ""),
                status=status_headers.get("status", 0),
                cache_control=headers.get("Cache-Control", ""),
                raw=len(body),
                compressed=len(gzip.compress(body, compresslevel=6)),
            )
        )
        return [body]

    app.wsgi_app = counting  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        app.wsgi_app = inner  # type: ignore[method-assign]


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def test_a_repeat_question_page_is_one_small_request_and_the_first_under_60_kb(
    open_context: Callable[..., BrowserContext], live_server: LiveServer
) -> None:
    page = open_context(viewport={"width": 360, "height": 740}).new_page()
    with recording(live_server) as recorder:
        page.goto(live_server(f"/s/{SLUG}?lang=en"), wait_until="load")
        expect(page.locator("#start-button")).to_be_visible()
        page.wait_for_load_state("networkidle")
        first = recorder.take()

        with page.expect_navigation(wait_until="load"):
            page.locator("#start-button").click()
        page.wait_for_load_state("networkidle")
        after_start = recorder.take()

        page.locator("input[type=radio]").first.check()
        with page.expect_navigation(wait_until="load"):
            page.locator("#continue-button").click()
        page.wait_for_load_state("networkidle")
        repeat = recorder.take()

    first_total = sum(s.compressed for s in first)
    print("\nfirst page of the survey:")
    for s in first:
        print(
            f"  {s.status} {s.path}: {_kb(s.raw)} raw, {_kb(s.compressed)} gzip  [{s.cache_control}]"
        )
    print(f"  {len(first)} requests, {_kb(first_total)} gzip in all")
    print("repeat question page (POST, redirect, page):")
    for s in repeat:
        print(f"  {s.status} {s.path}: {_kb(s.raw)} raw, {_kb(s.compressed)} gzip")

    assets = [s for s in first if s.path.startswith("/assets/")]
    assert assets, "the first page loaded no static files"
    assert all(s.cache_control == "public, max-age=31536000, immutable" for s in assets), [
        (s.path, s.cache_control) for s in assets
    ]
    assert not [s for s in first if "favicon" in s.path], "the icon cost a request"
    assert first_total < FIRST_PAGE_LIMIT, f"first page {_kb(first_total)} gzip"

    # Starting posts and is redirected to the first question: no static file again.
    assert not [s.path for s in after_start if s.path.startswith("/assets/")], after_start
    # Answering posts, is redirected, and the next question is one page request.
    pages = [s for s in repeat if s.status == 200]
    assert [s.path for s in repeat if s.path.startswith("/assets/")] == []
    assert len(pages) == 1, [s.path for s in repeat]
    assert pages[0].compressed < REPEAT_PAGE_LIMIT, f"question page {_kb(pages[0].compressed)}"
