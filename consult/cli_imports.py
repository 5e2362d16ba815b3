"""`flask --app wsgi consult import-responses` and `import-xlsform`: files
from other tools brought in from the command line. Both are stable
interfaces (documented in the README): each prints its report on standard
output and exits with status 1 when it refuses the file."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import select

from .extensions import db
from .models import Partnership, Survey
from .services import ServiceError


def register_import_commands(group: click.Group) -> None:
    @group.command("import-responses")
    @click.argument("survey_slug")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option(
        "--channel",
        type=click.Choice(["paper", "online", "face_to_face", "imported"]),
        default="imported",
        show_default=True,
        help="How the responses were collected (a `channel` column overrides it per row).",
    )
    @click.option("--dry-run", is_flag=True, help="Check the whole file and store nothing.")
    def import_responses_command(survey_slug: str, file: str, channel: str, dry_run: bool) -> None:
        """Import responses from a CSV or XLSX FILE into the survey SURVEY_SLUG:
        all or nothing, and a row already imported is never stored twice."""
        from .services.importing import ImportRefused, import_responses

        survey = db.session.scalars(select(Survey).filter_by(slug=survey_slug)).first()
        if survey is None:
            click.echo(f"No survey called {survey_slug!r}")
            sys.exit(1)
        path = Path(file)
        try:
            report = import_responses(
                survey, path.read_bytes(), path.name, channel=channel, dry_run=dry_run
            )
        except ImportRefused as error:
            db.session.rollback()
            click.echo(error.message)
            for problem in error.report.problems:
                click.echo(f"  {problem}")
            sys.exit(1)
        except ServiceError as error:
            db.session.rollback()
            click.echo(error.message)
            sys.exit(1)
        for note in report.notes:
            click.echo(f"  note: {note}")
        if dry_run:
            db.session.rollback()
            click.echo(
                f"Dry run: {report.rows} row(s) checked, no problems; {report.stored} would be "
                f"stored, {report.already} were imported before. Nothing was stored."
            )
            return
        db.session.commit()
        click.echo(
            f"Imported {report.stored} new response(s) into {survey.slug} from {report.rows} "
            f"row(s); {report.already} were imported before and were not stored again."
        )

    @group.command("import-xlsform")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--partnership", "partnership_slug", required=True, help="The partnership.")
    @click.option("--slug", "survey_slug", required=True, help="The new survey's web address.")
    def import_xlsform_command(file: str, partnership_slug: str, survey_slug: str) -> None:
        """Create a draft survey from an XLSForm (KoboToolbox, ODK, SurveyCTO),
        listing every row and column that was not brought in exactly."""
        from .services.xlsform import XLSFormError, import_xlsform

        partnership = db.session.scalars(
            select(Partnership).filter_by(slug=partnership_slug)
        ).first()
        if partnership is None:
            click.echo(f"No partnership called {partnership_slug!r}")
            sys.exit(1)
        try:
            result = import_xlsform(partnership, Path(file).read_bytes(), slug=survey_slug)
        except XLSFormError as error:
            db.session.rollback()
            click.echo(error.message)
            for problem in error.problems:
                click.echo(f"  {problem}")
            sys.exit(1)
        except ServiceError as error:
            db.session.rollback()
            click.echo(error.message)
            sys.exit(1)
        db.session.commit()
        click.echo(
            f"Imported draft survey /s/{result.survey.slug} into {partnership.slug}: "
            f"{len(result.survey.questions)} question(s)."
        )
        if result.notes:
            click.echo(f"Not brought in exactly ({len(result.notes)}):")
            for note in result.notes:
                click.echo(f"  {note}")
