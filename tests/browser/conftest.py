"""Browser fixtures: Debian's Chromium driven through Playwright's sync API
against the application served for real (werkzeug in a background thread) on a
file SQLite database built by the migrations and seeded with the demo.

The fixture names avoid pytest-playwright's own (`browser`, `context`, `page`),
which would download and launch a browser of their own."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import PASSWORD, make_app
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    sync_playwright,
)
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PHONE = {"width": 375, "height": 800}
# Long enough for a page on a busy two-core machine, short enough that a
# missing element fails the test quickly rather than after Playwright's 30 s.
TIMEOUT_MS = 10_000


@dataclass
class LiveServer:
    url: str
    app: Flask

    def __call__(self, path: str) -> str:
        return self.url + path


def _seed(app: Flask) -> None:
    from flask_migrate import upgrade

    from consult.extensions import db
    from consult.services.seed import seed_demo

    with app.app_context():
        upgrade()
        # The journeys need the demo survey, not a field's worth of responses.
        seed_demo(PASSWORD, responses=False)
        db.session.commit()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = tmp_path_factory.mktemp("browser-db") / "browser.sqlite3"
    app = make_app(f"sqlite:///{path}")
    _seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageProblems:
    """What the browser complained about while a test ran: script errors and
    refused resources (a CSP violation shows up as a console error)."""

    messages: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        # A failed load is reported with its address by `response` below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.messages.append(f"console: {message.text}")

    def response(self, response: Response) -> None:
        # A page a test asks for may be an error page on purpose; what it loads may not.
        if response.status < 400 or response.request.resource_type == "document":
            return
        self.messages.append(f"{response.status} for {response.url} (on {response.frame.url})")

    def page_error(self, error: Exception) -> None:
        self.messages.append(f"page error: {error}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    # Fixtures read this in teardown to keep a screenshot of a failed page.
    setattr(item, f"report_{report.when}", report)
    return report


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120]


@pytest.fixture
def open_context(
    chromium: Browser, request: pytest.FixtureRequest
) -> Iterator[Callable[..., BrowserContext]]:
    """Fresh browser contexts (own cookies), phone-sized unless told otherwise.
    Pages opened in them fail the test on a script error or console error, and
    a failed test leaves a screenshot of each page in test-artifacts/failures/."""
    contexts: list[tuple[BrowserContext, PageProblems]] = []

    def _new(*, viewport: dict[str, int] | None = None, locale: str = "en-GB") -> BrowserContext:
        context = chromium.new_context(viewport=viewport or PHONE, locale=locale)
        context.set_default_timeout(TIMEOUT_MS)
        problems = PageProblems()

        def watch(page: Page) -> None:
            page.on("console", problems.console)
            page.on("pageerror", problems.page_error)
            page.on("response", problems.response)

        context.on("page", watch)
        contexts.append((context, problems))
        return context

    yield _new

    failed = getattr(request.node, "report_call", None)
    for index, (context, _problems) in enumerate(contexts):
        if failed is not None and failed.failed:
            target = ARTIFACTS / "failures"
            target.mkdir(parents=True, exist_ok=True)
            for number, page in enumerate(context.pages):
                name = f"{_slug(request.node.nodeid)}-{index}-{number}.png"
                page.screenshot(path=str(target / name), full_page=True)
        context.close()
    complaints = [message for _context, problems in contexts for message in problems.messages]
    assert not complaints, "the browser reported problems:\n" + "\n".join(complaints)


@pytest.fixture(scope="session")
def axe() -> Callable[[Page], list[str]]:
    """Scan the page as it is now with axe-core; the serious and critical
    violations, one line per rule with the offending elements."""
    scanner = Axe()

    def _scan(page: Page) -> list[str]:
        violations = scanner.run(page).response["violations"]
        return [
            f"{page.url} [{v['impact']}] {v['id']}: {v['help']} -> "
            + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
            for v in violations
            if v["impact"] in ("serious", "critical")
        ]

    return _scan


@pytest.fixture
def phone(open_context: Callable[..., BrowserContext]) -> Page:
    """A page in a fresh phone-sized (375×800) browser context."""
    return open_context().new_page()
