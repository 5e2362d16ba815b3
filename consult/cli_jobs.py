"""`flask --app wsgi consult letters|worker`: the sample stream's letters
from the command line, and the worker that runs background jobs."""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from .extensions import db


def register_job_commands(consult: click.Group) -> None:
    @consult.command("letters")
    @click.argument("survey_slug")
    @click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True)
    @click.option("--reminders", is_flag=True, help="Reminders: only codes not yet used.")
    @click.option(
        "--base-url",
        default=None,
        help="The service's public address for the letters' links (default: PUBLIC_BASE_URL).",
    )
    def letters_command(survey_slug: str, out: str, reminders: bool, base_url: str | None) -> None:
        """Write a survey's letters (first letters, or the next reminders) to
        OUT as one PDF. Runs the letters job here, whatever JOBS_INLINE says;
        asking again for letters already made writes the same file."""
        from flask import current_app

        from . import jobs
        from .models import Survey
        from .services import ServiceError, letters

        survey = db.session.scalars(select(Survey).filter_by(slug=survey_slug)).first()
        if survey is None:
            raise click.ClickException(f"No survey called {survey_slug!r}")
        # The command waits for its file: the job runs in this process.
        current_app.config["JOBS_INLINE"] = True
        try:
            started = letters.start(survey, reminders=reminders, base_url=base_url)
        except ServiceError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()  # the request is in the audit log, as one from the page
        job = started.job
        if job.status != "done":
            raise click.ClickException(job.error or f"The letters job is {job.status}")
        pdf = jobs.result_file(job)
        assert pdf is not None
        target = Path(out)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(pdf)
        partial.replace(target)
        wave = job.params.get("wave", 1)
        what = "first letters" if wave == 1 else f"reminder {int(wave) - 1}"
        click.echo(f"Wrote {job.total} letters ({what}) to {target}")

    @consult.command("worker")
    @click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
    def worker_command(burst: bool) -> None:
        """Run background jobs from the Redis queue (REDIS_URL, JOBS_QUEUE)."""
        from flask import current_app

        from . import jobs

        if not current_app.config.get("REDIS_URL"):
            raise click.ClickException("The worker needs REDIS_URL (the queue lives in Redis)")
        jobs.run_worker(burst=burst)
