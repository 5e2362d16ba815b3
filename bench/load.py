"""Load benchmark: many simulated residents complete the demo survey at once
against gunicorn + PostgreSQL on 127.0.0.1, then a second run kills a
gunicorn worker with SIGKILL part-way and checks that no acknowledged
submission was lost or stored twice.

    .venv/bin/python bench/load.py                  # 200 residents, both runs
    .venv/bin/python bench/load.py --users 50 --no-kill-run

Each resident is one asyncio task with its own cookie jar doing one complete
journey — start, every question page (GET, then POST the answer), consent
where asked, check answers, submit, confirmation — pausing between pages as
a person does (`--think-min/--think-max` seconds; a real resident takes far
longer to read and answer a question). Everything is bounded: one journey
per resident, `--max-seconds` per run, 10 s per request; it stops by itself.

The database named by --database-url is emptied and rebuilt by the
migrations first: it must be a benchmark database (its name must start with
`test_`). Target (DESIGN.md): p95 under 100 ms for page views and for
submits at 200 concurrent residents; zero lost or duplicated acknowledged
submissions under a killed worker. The /healthz latency measured alongside
is the reference figure: what the same machine gives for a request that does
no work, so a slow result can be told from a slow machine."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from residents import Form, fill, main_form, reference_in  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test_load"
SLUG = "feeling-safe"
TARGET_MS = 100.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = "load-benchmark-secret-" + "x" * 40


# --------------------------------------------------------------------------- #
# Database and server
# --------------------------------------------------------------------------- #


def prepare_database(url: str) -> None:
    import sqlalchemy as sa

    name = urlsplit(url.replace("+psycopg", "")).path.lstrip("/")
    if not name.startswith("test_"):
        sys.exit(
            f"refusing to empty database {name!r}: use a database whose name starts with test_"
        )
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    app = _app(url)
    with app.app_context():
        from flask_migrate import upgrade

        from consult.extensions import db
        from consult.services.seed import seed_demo

        upgrade()
        seed_demo("load benchmark password")
        db.session.commit()


def _app(url: str):  # type: ignore[no-untyped-def]
    from consult import create_app

    return create_app(
        {"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET}
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "CONSULT_ENV": "production",
        # Plain HTTP on loopback: the benchmark's client must get its cookies back.
        "SESSION_COOKIE_SECURE": "0",
        # Every simulated resident comes from 127.0.0.1; in production each has
        # their own address and the limit is per address.
        "RATELIMIT_ENABLED": "0",
    }
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "-w", str(workers),
        # --threads 1: gunicorn's sync workers, one request at a time each.
        "-k", "gthread" if threads > 1 else "sync",
        "--threads", str(threads),
        "-b", f"127.0.0.1:{port}",
        "--log-level", "warning",
        "--graceful-timeout", "5",
        "wsgi:app",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env)


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces; the parent pid follows the closing parenthesis.
        if int(stat.rsplit(")", 1)[1].split()[1]) == master:
            pids.append(int(entry.name))
    return sorted(pids)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the given processes (and their reaped children)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the name.
        total += sum(int(v) for v in fields[11:15])
    return total / tick


def processes_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@dataclass
class CpuMeter:
    """Where the machine's CPU went during a run: the app server, PostgreSQL
    (every backend, so other work on the database counts too) and this
    load generator, which shares the two cores."""

    master: int
    start: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "app server (gunicorn)": cpu_seconds([self.master, *worker_pids(self.master)]),
            "PostgreSQL": cpu_seconds(processes_named("postgres")),
            "load generator": usage.ru_utime + usage.ru_stime,
        }

    def begin(self) -> None:
        self.start = self._now()

    def report(self, seconds: float, requests: int) -> None:
        end = self._now()
        parts = []
        for name, value in end.items():
            used = max(0.0, value - self.start.get(name, 0.0))
            per_request = 1000 * used / requests if requests else float("nan")
            parts.append(
                f"{name} {used:.1f} s ({100 * used / seconds:.0f}% of a core, {per_request:.1f} ms a request)"
            )
        print("CPU: " + "; ".join(parts))


async def wait_ready(base: str, session, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with session.get(base + "/healthz") as r:
                if r.status == 200:
                    return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        await asyncio.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz within 30 s")


# --------------------------------------------------------------------------- #
# Residents
# --------------------------------------------------------------------------- #


@dataclass
class Stats:
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    references: list[str] = field(default_factory=list)
    finished: int = 0
    abandoned: int = 0
    requests: int = 0

    # (when it ended, seconds into the run; latency in ms) of every request
    timeline: list[tuple[float, float]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def add(self, kind: str, seconds: float) -> None:
        self.timings[kind].append(seconds * 1000)
        self.timeline.append((time.monotonic() - self.started, seconds * 1000))
        self.requests += 1


# The same question page has the same form for every resident; parsing it
# once keeps the simulated residents' CPU off the server's two cores.
_FORMS: dict[str, Form | None] = {}


def form_of(url: str, html: str) -> Form | None:
    path = urlsplit(url).path
    if path not in _FORMS:
        _FORMS[path] = main_form(html)
    form = _FORMS[path]
    if form is None:
        return None
    token = CSRF.search(html)
    if token:
        form = Form(**{**form.__dict__, "hidden": {**form.hidden, "csrf_token": token.group(1)}})
    return form


def kind_of(method: str, path: str) -> str:
    if method == "GET":
        return "page view"
    if path.endswith("/submit"):
        return "submit (final)"
    if path == f"/s/{SLUG}":
        return "start"
    return "answer"


class Unavailable(Exception):
    pass


async def request(session, stats: Stats, method: str, url: str, data=None):  # type: ignore[no-untyped-def]
    """One request, retried like a resident pressing the button again when the
    connection drops (a killed worker): up to 3 attempts."""
    import aiohttp

    path = urlsplit(url).path
    for attempt in range(3):
        started = time.perf_counter()
        try:
            async with session.request(method, url, data=data, allow_redirects=False) as r:
                body = await r.text()
                elapsed = time.perf_counter() - started
                if r.status >= 500:
                    stats.errors[f"HTTP {r.status}"] += 1
                    raise Unavailable(r.status)
                stats.add(kind_of(method, path), elapsed)
                return r.status, r.headers.get("Location"), body
        except (TimeoutError, aiohttp.ClientError, Unavailable) as error:
            if not isinstance(error, Unavailable):
                stats.errors[type(error).__name__] += 1
            await asyncio.sleep(0.5 * (attempt + 1))
    raise Unavailable(url)


async def resident(base: str, n: int, stats: Stats, args, deadline: float) -> None:  # type: ignore[no-untyped-def]
    import aiohttp

    rng = random.Random(n)
    timeout = aiohttp.ClientTimeout(total=10)
    jar = aiohttp.CookieJar(unsafe=True)
    # One connection a request, as a proxy in front of gunicorn (nginx by
    # default) sends them: a resident's browser keeps its connection to the
    # proxy, not to one worker. Kept-alive connections would pin each resident
    # to the worker that first accepted them, however busy it is, and between
    # pages gunicorn closes them (after 2 s) just as the next page is sent.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(
        cookie_jar=jar, timeout=timeout, connector=connector
    ) as session:
        url = f"{base}/s/{SLUG}"
        try:
            for _ in range(80):
                if time.monotonic() > deadline:
                    stats.abandoned += 1
                    return
                status, _location, html = await request(session, stats, "GET", url)
                form = form_of(url, html) if status == 200 else None
                if form is None:
                    reference = reference_in(html)
                    if reference:
                        stats.references.append(reference)
                        stats.finished += 1
                    else:
                        stats.abandoned += 1
                        stats.errors[f"ended on {urlsplit(url).path} ({status})"] += 1
                    return
                await asyncio.sleep(rng.uniform(args.think_min, args.think_max))
                target = base + form.action if form.action.startswith("/") else url
                status, location, _ = await request(session, stats, "POST", target, fill(form, rng))
                if status not in (302, 303) or not location:
                    stats.errors[f"POST {urlsplit(target).path} gave {status}"] += 1
                    stats.abandoned += 1
                    return
                url = location if location.startswith("http") else base + location
        except Unavailable:
            stats.abandoned += 1


async def probe(base: str, stats: Stats, stop: asyncio.Event) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                async with session.get(base + "/healthz") as r:
                    await r.read()
                stats.timings["/healthz (reference)"].append((time.perf_counter() - started) * 1000)
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.25)


async def run(
    base: str, args, *, kill_after: float | None, master: int
) -> tuple[Stats, float, str]:  # type: ignore[no-untyped-def]
    stats = Stats()
    started = time.monotonic()
    deadline = started + args.max_seconds
    stop = asyncio.Event()
    prober = asyncio.create_task(probe(base, stats, stop))
    killed = ""

    async def launch(n: int) -> None:
        # Residents arrive over the ramp-up, not all in the same millisecond.
        await asyncio.sleep(args.ramp * n / args.users)
        await resident(base, n, stats, args, deadline)

    async def killer() -> None:
        nonlocal killed
        assert kill_after is not None
        await asyncio.sleep(kill_after)
        pids = worker_pids(master)
        if pids:
            victim = random.Random(1).choice(pids)
            os.kill(victim, signal.SIGKILL)
            killed = (
                f"SIGKILL worker {victim} at {time.monotonic() - started:.1f} s "
                f"({stats.finished} submissions confirmed so far, {stats.requests} requests)"
            )

    tasks = [asyncio.create_task(launch(n)) for n in range(args.users)]
    if kill_after is not None:
        tasks.append(asyncio.create_task(killer()))
    await asyncio.wait(tasks, timeout=args.max_seconds + 15)
    for task in tasks:
        task.cancel()
    stop.set()
    await prober
    return stats, time.monotonic() - started, killed


# --------------------------------------------------------------------------- #
# Checks and report
# --------------------------------------------------------------------------- #


def last_response_id(url: str) -> int:
    import sqlalchemy as sa

    from consult.extensions import db
    from consult.models import Response

    with _app(url).app_context():
        return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(Response.id), 0))) or 0


def verify(url: str, confirmed: list[str], after_id: int) -> dict[str, object]:
    """Every confirmed reference stored exactly once and submitted; every
    response submitted during the run complete (nothing partial marked
    submitted). The demo's seeded responses (ids up to `after_id`) are not
    the run's."""
    import sqlalchemy as sa

    from consult.extensions import db
    from consult.models import Response, ResponseStatus, Survey
    from consult.services.responses import journey

    app = _app(url)
    with app.app_context():
        survey = db.session.scalars(sa.select(Survey).filter_by(slug=SLUG)).one()
        rows = db.session.execute(
            sa.select(Response.reference, Response.status).where(Response.survey_id == survey.id)
        ).all()
        by_reference: dict[str, list[str]] = defaultdict(list)
        for reference, status in rows:
            by_reference[reference].append(status)
        lost = [r for r in confirmed if ResponseStatus.SUBMITTED not in by_reference.get(r, [])]
        duplicated = [r for r in set(confirmed) if len(by_reference.get(r, [])) > 1]
        twice_confirmed = len(confirmed) - len(set(confirmed))
        submitted = db.session.scalars(
            sa.select(Response)
            .filter_by(survey_id=survey.id, status=ResponseStatus.SUBMITTED)
            .where(Response.id > after_id)
        ).all()
        partial = [r.reference for r in submitted if journey(r).first_incomplete() is not None]
        unconfirmed = len({r.reference for r in submitted} - set(confirmed))
        return {
            "confirmed": len(confirmed),
            "lost": lost,
            "duplicated": duplicated,
            "confirmed twice": twice_confirmed,
            "submitted in database during the run": len(submitted),
            "submitted but confirmation lost in transit": unconfirmed,
            "partial marked submitted": partial,
        }


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def report(title: str, stats: Stats, seconds: float, users: int) -> dict[str, float]:
    print(f"\n== {title}: {users} residents, {seconds:.1f} s ==")
    print(
        f"requests {stats.requests}, throughput {stats.requests / seconds:.1f} req/s, "
        f"journeys completed {stats.finished}, abandoned {stats.abandoned}"
    )
    print(f"{'step':<24}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    p95 = {}
    for kind in ("page view", "start", "answer", "submit (final)", "/healthz (reference)"):
        values = stats.timings.get(kind, [])
        if not values:
            continue
        p95[kind] = pct(values, 95)
        print(
            f"{kind:<24}{len(values):>7}{pct(values, 50):>10.1f}{pct(values, 95):>10.1f}"
            f"{pct(values, 99):>10.1f}{max(values):>10.1f}"
        )
    posts = [v for k in ("start", "answer", "submit (final)") for v in stats.timings.get(k, [])]
    p95["all submits"] = pct(posts, 95)
    print(
        f"{'all submits (POST)':<24}{len(posts):>7}{pct(posts, 50):>10.1f}{pct(posts, 95):>10.1f}{pct(posts, 99):>10.1f}"
    )
    # Latency over the run, so a slow spell (residents arriving together, a
    # killed worker) can be told from slowness throughout.
    windows: dict[int, list[float]] = defaultdict(list)
    for at, ms in stats.timeline:
        windows[int(at // 15)].append(ms)
    print(
        "p95 by 15 s of the run: "
        + ", ".join(f"{15 * w}s {pct(v, 95):.0f}" for w, v in sorted(windows.items()))
    )
    if stats.errors:
        print("errors:", dict(stats.errors))
    return p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument(
        "--ramp", type=float, default=10.0, help="seconds over which residents arrive"
    )
    parser.add_argument("--think-min", type=float, default=2.0)
    parser.add_argument("--think-max", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (2 per core)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per worker; 1: sync workers (the fastest here)",
    )
    parser.add_argument(
        "--kill-after", type=float, default=25.0, help="seconds into the second run"
    )
    parser.add_argument("--no-kill-run", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()

    print(f"preparing {args.database_url} (migrations + demo seed)")
    prepare_database(args.database_url)
    port = free_port()
    server = start_gunicorn(args.database_url, port, args.workers, args.threads)
    base = f"http://127.0.0.1:{port}"
    print(
        f"gunicorn pid {server.pid}: -w {args.workers} "
        f"-k {'gthread' if args.threads > 1 else 'sync'} --threads {args.threads} on {base}"
    )
    ok = True
    try:
        asyncio.run(_ready(base))
        before = last_response_id(args.database_url)
        meter = CpuMeter(server.pid)
        meter.begin()
        stats, seconds, _ = asyncio.run(run(base, args, kill_after=None, master=server.pid))
        p95 = report("run 1 (steady)", stats, seconds, args.users)
        meter.report(seconds, stats.requests)
        check = verify(args.database_url, stats.references, before)
        print("checks:", {k: (len(v) if isinstance(v, list) else v) for k, v in check.items()})
        target_ok = (
            p95.get("page view", 1e9) < TARGET_MS and p95.get("all submits", 1e9) < TARGET_MS
        )
        print(
            f"{'PASS' if target_ok else 'MISS'}: p95 page view {p95.get('page view', float('nan')):.1f} ms, "
            f"p95 submit {p95.get('all submits', float('nan')):.1f} ms (target < {TARGET_MS:.0f} ms "
            f"at {args.users} concurrent); reference /healthz p95 "
            f"{p95.get('/healthz (reference)', float('nan')):.1f} ms"
        )
        ok &= target_ok and _clean(check) and stats.finished == args.users

        if not args.no_kill_run:
            before = last_response_id(args.database_url)
            stats, seconds, killed = asyncio.run(
                run(base, args, kill_after=args.kill_after, master=server.pid)
            )
            report("run 2 (a worker killed)", stats, seconds, args.users)
            print(killed or "no worker was killed (the run ended first)")
            check = verify(args.database_url, stats.references, before)
            print("checks:", {k: (len(v) if isinstance(v, list) else v) for k, v in check.items()})
            durable = _clean(check) and bool(killed) and bool(check["confirmed"])
            print(
                f"{'PASS' if durable else 'MISS'}: {check['confirmed']} confirmed submissions, "
                f"{len(check['lost'])} lost, {len(check['duplicated'])} duplicated, "
                f"{len(check['partial marked submitted'])} partial marked submitted"
            )
            ok &= durable
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0 if ok else 1


def _clean(check: dict[str, object]) -> bool:
    return not check["lost"] and not check["duplicated"] and not check["partial marked submitted"]


async def _ready(base: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        await wait_ready(base, session)


if __name__ == "__main__":
    raise SystemExit(main())
