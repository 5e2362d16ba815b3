"""`flask --app wsgi consult ...`: administration from the command line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, BinaryIO, TypeVar

import click
from flask import Flask, current_app
from sqlalchemy import select

from .extensions import db
from .models import Partnership, User
from .services import ServiceError


def register_cli(app: Flask) -> None:
    @app.cli.group("consult")
    def consult() -> None:
        """Administer consult."""

    @consult.command("create-partnership")
    @click.argument("slug")
    @click.argument("name")
    def create_partnership_command(slug: str, name: str) -> None:
        """Create a partnership (the tenant)."""
        from .services.accounts import create_partnership

        try:
            partnership = create_partnership(slug, name)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        click.echo(f"Created partnership {partnership.slug}: {partnership.name}")

    @consult.command("create-user")
    @click.argument("email")
    @click.option("--partnership", "slug", required=True, help="The partnership's short name.")
    @click.option("--role", type=click.Choice(["admin", "officer", "viewer"]), required=True)
    @click.option("--name", default="", help="The person's full name.")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def create_user_command(
        email: str, slug: str, role: str, name: str, password_stdin: bool
    ) -> None:
        """Create an officer account with a role in a partnership."""
        from .services.accounts import create_user

        partnership = _partnership(slug)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            create_user(email, password, partnership=partnership, role=role, name=name)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        click.echo(f"Created {role} {email} in {partnership.slug}")

    @consult.command("set-password")
    @click.argument("email")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    @click.option(
        "--temporary", is_flag=True, help="The person must choose a new one at their next sign-in."
    )
    def set_password_command(email: str, password_stdin: bool, temporary: bool) -> None:
        """Set an account's password (ends all its sessions)."""
        from .services.accounts import set_password_by_command

        user = _user(email)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            set_password_by_command(user, password, temporary=temporary)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        click.echo(f"Password set for {user.email}" + (" (temporary)" if temporary else ""))

    @consult.command("set-password-link")
    @click.argument("email")
    @click.option(
        "--base-url",
        default="",
        help="The service's address, e.g. https://consult.example.org (else the path only).",
    )
    def set_password_link_command(email: str, base_url: str) -> None:
        """Print a one-time set-password link for an account."""
        from .services.accounts import issue_password_link

        user = _user(email)
        token = issue_password_link(user, by=None, partnership=None)
        db.session.commit()
        hours = int(current_app.config["SET_PASSWORD_LINK_LIFETIME"].total_seconds() // 3600)
        click.echo(f"{base_url.rstrip('/')}/set-password/{token}")
        click.echo(f"Works once, for {hours} hours.", err=True)

    @consult.command("deactivate-user")
    @click.argument("email")
    def deactivate_user_command(email: str) -> None:
        """Stop an account signing in anywhere and end its sessions."""
        from .services.accounts import deactivate_user

        _change_user(email, deactivate_user, "Deactivated {email}; every session ended")

    @consult.command("reactivate-user")
    @click.argument("email")
    def reactivate_user_command(email: str) -> None:
        """Let a deactivated account sign in again (in all its partnerships)."""
        from .services.accounts import reactivate_user

        _change_user(email, reactivate_user, "Reactivated {email}")

    @consult.command("reset-two-factor")
    @click.argument("email")
    def reset_two_factor_command(email: str) -> None:
        """Remove an account's two-factor set-up (a lost phone); it is set up again at next sign-in."""
        from .services import sessions, two_factor

        def reset(user: User) -> None:
            two_factor.reset(user)
            sessions.end_all(user.id)

        _change_user(
            email, reset, "Two-factor sign-in removed for {email}; set up again at next sign-in"
        )

    @consult.command("seed-demo")
    def seed_demo_command() -> None:
        """Create the demo partnership, accounts and survey (idempotent)."""
        import os

        from .services.seed import seed_demo

        if not current_app.config.get("SEED_ALLOWED"):
            raise click.ClickException("seed-demo refuses to run in the production configuration")
        try:
            report = seed_demo(os.environ.get("CONSULT_DEMO_PASSWORD") or None)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            raise click.ClickException(f"CONSULT_DEMO_PASSWORD: {error.message}") from None
        if not report.created:
            click.echo("Demo already seeded; nothing changed.")
        for line in report.created:
            click.echo(f"Created {line}")
        if report.passwords and not os.environ.get("CONSULT_DEMO_PASSWORD"):
            click.echo("Demo passwords (shown once; set CONSULT_DEMO_PASSWORD to choose your own):")
            for email, secret in report.passwords.items():
                click.echo(f"  {email}  {secret}")
        if any(line.startswith("user admin@") for line in report.created):
            click.echo(
                "admin@demo.example sets up two-factor sign-in at first sign-in: scan the QR "
                "code with an authenticator app (see README, 'Trying the demo')."
            )

    @consult.command("import-benchmarks")
    @click.argument("file", type=click.File("rb"))
    @click.option("--partnership", "slug", required=True)
    @click.option("--note", default="", help="Where the figures come from.")
    def import_benchmarks_command(file: BinaryIO, slug: str, note: str) -> None:
        """Load population benchmarks (CSV: variable, category, population_share, base, source)."""
        from .services.benchmarks import BenchmarkFileError, import_benchmarks

        partnership = _partnership(slug)
        benchmark_set = _import_file(
            lambda: import_benchmarks(partnership, file.read(), note=note), BenchmarkFileError
        )
        click.echo(
            f"Imported benchmarks version {benchmark_set.version} "
            f"({len(benchmark_set.rows)} rows) for {partnership.slug}"
        )

    @consult.command("import-postcode-lookup")
    @click.argument("file", type=click.File("rb"))
    @click.option("--partnership", "slug", required=True)
    @click.option("--note", default="", help="Where the table comes from.")
    def import_postcode_lookup_command(file: BinaryIO, slug: str, note: str) -> None:
        """Load a postcode -> ward table (CSV: postcode, ward_code) as a new version."""
        from .services.postcodes import LookupFileError, import_lookup

        partnership = _partnership(slug)
        lookup = _import_file(
            lambda: import_lookup(partnership, file.read(), note=note), LookupFileError
        )
        click.echo(f"Imported postcode lookup version {lookup.version} for {partnership.slug}")

    @consult.command("apply-retention")
    @click.option("--dry-run", is_flag=True, help="Say what would be deleted; change nothing.")
    def apply_retention_command(dry_run: bool) -> None:
        """Delete raw responses of surveys past their retention date, keeping aggregates."""
        from .services.retention import apply_retention

        # Each survey is its own transaction: a failure leaves that survey
        # whole and the ones before it done.
        report = apply_retention(dry_run=dry_run, commit=db.session.commit)
        if not dry_run:
            # Abandoned responses past their resume period go in the same nightly run.
            from .services.responses import purge_expired

            purged = purge_expired()
            db.session.commit()
            click.echo(f"Deleted {purged} unsubmitted responses past their resume period.")
        if not report.surveys:
            click.echo("No survey is past its retention date with responses to delete.")
        verb = "Would delete" if dry_run else "Deleted"
        for s in report.surveys:
            click.echo(
                f"{s.slug} (retention date {s.retention_until.isoformat()}): {verb} "
                f"{s.responses} responses ({s.submitted} submitted), {s.answers} answers, "
                f"{s.text_answers} free-text answers"
                + ("" if dry_run else f"; kept {s.aggregates} aggregate counts")
                + ("; survey closed" if s.closed and not dry_run else "")
            )

    @consult.command("erase-response")
    @click.argument("reference")
    @click.option("--partnership", "slug", required=True, help="The partnership's short name.")
    def erase_response_command(reference: str, slug: str) -> None:
        """Erase one response, on the resident's request, by its reference."""
        from .services.retention import erase_response

        partnership = _partnership(slug)
        try:
            erasure = erase_response(partnership, reference, None)
            db.session.commit()
        except ServiceError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        click.echo(
            f"Erased response {erasure.reference} of {erasure.survey_slug} "
            f"({erasure.status}, {erasure.answers} answers)"
        )

    @consult.command("export-definition")
    @click.argument("survey_slug")
    @click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-")
    def export_definition_command(survey_slug: str, output) -> None:  # type: ignore[no-untyped-def]
        """Write a survey's definition (questions, conditions, texts) as JSON."""
        from .models import Survey
        from .services.definition import export_definition_json

        survey = db.session.scalars(select(Survey).filter_by(slug=survey_slug)).first()
        if survey is None:
            raise click.ClickException(f"No survey called {survey_slug!r}")
        output.write(export_definition_json(survey) + "\n")

    @consult.command("import-definition")
    @click.argument("file", type=click.File("rb"))
    @click.option("--partnership", "slug", required=True, help="The partnership's short name.")
    @click.option("--slug", "survey_slug", required=True, help="The new survey's web address.")
    def import_definition_command(file: BinaryIO, slug: str, survey_slug: str) -> None:
        """Create a draft survey from a definition written by export-definition."""
        from .services.definition import DefinitionError, import_definition

        partnership = _partnership(slug)
        try:
            survey = import_definition(partnership, file.read(), slug=survey_slug)
            db.session.commit()
        except DefinitionError as error:
            db.session.rollback()
            for problem in error.problems:
                click.echo(f"  {problem}", err=True)
            raise click.ClickException("Nothing was imported.") from None
        click.echo(f"Imported draft survey /s/{survey.slug} into {partnership.slug}")

    @consult.command("export")
    @click.argument("survey_slug")
    @click.option(
        "--format", "fmt", type=click.Choice(["csv", "xlsx", "sav", "json"]), required=True
    )
    @click.option("--weighted", is_flag=True, help="Weight to the survey's current scheme.")
    @click.option("--lang", default=None, help="Language of the labels (default: the survey's).")
    @click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True)
    def export_command(
        survey_slug: str, fmt: str, weighted: bool, lang: str | None, out: str
    ) -> None:
        """Export a survey's responses. CSV also writes OUT's labels file beside it."""
        from pathlib import Path

        from .models import Survey
        from .services import exports

        survey = db.session.scalars(select(Survey).filter_by(slug=survey_slug)).first()
        if survey is None:
            raise click.ClickException(f"No survey called {survey_slug!r}")
        try:
            export = exports.prepare_export(
                survey, format=fmt, role=None, language=lang, weighted=weighted
            )
        except ServiceError as error:
            raise click.ClickException(error.message) from None
        target = Path(out)
        partial = target.with_name(target.name + ".partial")
        with partial.open("wb") as f:
            exports.write_export(export, f)
        partial.replace(target)  # a failed export never leaves a half-written file behind
        written = [str(target)]
        if fmt == "csv":
            labels = target.with_name(f"{target.stem}-labels.csv")
            labels.write_bytes(exports.labels_csv(export))
            written.append(str(labels))
        exports.record_export(export, user_id=None, part="command line")
        db.session.commit()
        for line in export.policy.notes:
            click.echo(line)
        click.echo(f"{export.weighting.describe()}")
        click.echo("Wrote " + " and ".join(written))

    @consult.command("results")
    @click.argument("survey_slug")
    @click.option("--partnership", "slug", default=None, help="The partnership's short name.")
    @click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
    @click.option(
        "--stream",
        type=click.Choice(["sample", "open", "combined"]),
        default=None,
        help="With a sample stream: whose results (default the sample stream).",
    )
    def results_command(
        survey_slug: str, slug: str | None, as_json: bool, stream: str | None
    ) -> None:
        """Print a survey's results: weighting, representation, headlines,
        priorities (fields documented in docs/analysis.md)."""
        import json

        from .models import Survey
        from .services.results import results_json
        from .services.results.machine import jsonable

        query = select(Survey).filter_by(slug=survey_slug)
        if slug is not None:
            query = query.filter_by(partnership_id=_partnership(slug).id)
        survey = db.session.scalars(query).first()
        if survey is None:
            raise click.ClickException(f"No survey called {survey_slug!r}")
        doc = jsonable(results_json(survey, stream=stream))
        if as_json:
            click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
            return
        w = doc["weighting"]
        click.echo(f"{doc['survey']['responses']} responses")
        if doc["streams"]:
            for entry in doc["streams"]["streams"]:
                rate = entry["response_rate"]
                click.echo(
                    f"{entry['name']}: {entry['responses']} responses"
                    + (f", response rate {100 * rate:.1f}%" if rate is not None else "")
                )
            click.echo(doc["streams"]["statement"])
        click.echo("Weighted" if w["weights_used"] else f"Unweighted: {w['reason'] or ''}")
        for message in doc["representation"]["messages"]:
            click.echo(f"- {message}")
        for table in doc["priorities"]:
            if table["summary"]:
                click.echo(table["summary"]["sentence"])

    @consult.command("sample-draw")
    @click.argument("survey_slug")
    @click.option(
        "--addresses",
        "addresses",
        type=click.File("rb"),
        required=True,
        help="The address file (CSV; columns in docs/sample-stream.md).",
    )
    @click.option("--size", type=click.IntRange(min=1), required=True, help="Addresses to draw.")
    @click.option("--stratum-column", default=None, help="The column to stratify by.")
    @click.option(
        "--seed", type=click.IntRange(min=0), default=None, help="Seed (random if not given)."
    )
    def sample_draw_command(
        survey_slug: str,
        addresses: BinaryIO,
        size: int,
        stratum_column: str | None,
        seed: int | None,
    ) -> None:
        """Draw a survey's sample stream from an address file: SIZE addresses
        shared between the strata in proportion to their sizes, one code each.
        Prints the drawn count per stratum, the total and the seed."""
        import os

        from .models import Survey
        from .services.address_files import AddressFileError
        from .services.sampling import draw_addresses, sample_summary

        survey = db.session.scalars(select(Survey).filter_by(slug=survey_slug)).first()
        if survey is None:
            raise click.ClickException(f"No survey called {survey_slug!r}")
        try:
            draw_addresses(
                survey,
                addresses.read(),
                size=size,
                stratum_column=stratum_column,
                seed=seed,
                filename=os.path.basename(getattr(addresses, "name", "")),
            )
            db.session.flush()
            summary = sample_summary(survey)
            db.session.commit()
        except AddressFileError as error:
            db.session.rollback()
            for problem in error.problems:
                click.echo(problem, err=True)
            if error.more:
                click.echo(f"And {error.more} more.", err=True)
            raise click.ClickException("Nothing was drawn.") from None
        except ServiceError as error:
            db.session.rollback()
            raise click.ClickException(f"{error.message} Nothing was drawn.") from None
        assert summary is not None
        for row in summary.strata:
            click.echo(
                f"{row.stratum}: drew {row.drawn} of {row.population} "
                f"(probability {row.probability:.4f})"
            )
        total = summary.total
        click.echo(f"Total: drew {total.drawn} of {total.population}")
        click.echo(f"Seed: {summary.sample.seed}")

    from .cli_imports import register_import_commands

    register_import_commands(consult)

    from .cli_jobs import register_job_commands

    register_job_commands(consult)


Imported = TypeVar("Imported")


def _import_file(load: Callable[[], Imported], refused: type[Any]) -> Imported:
    """An all-or-nothing file import, committed; a refused file prints each
    of its problems (`refused` is the service's error that lists them)."""
    try:
        found = load()
        db.session.commit()
    except refused as error:
        db.session.rollback()
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException("Nothing was imported.") from None
    return found


def _partnership(slug: str) -> Partnership:
    partnership = db.session.scalars(select(Partnership).filter_by(slug=slug)).first()
    if partnership is None:
        raise click.ClickException(f"No partnership called {slug!r}")
    return partnership


def _user(email: str) -> User:
    from .services.accounts import find_user

    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No account for {email!r}")
    return user


def _change_user(email: str, change: Callable[[User], object], done: str) -> None:
    """One change to one account, committed, then `done` said with the
    account's email address in place of {email}."""
    user = _user(email)
    change(user)
    db.session.commit()
    click.echo(done.format(email=user.email))
