"""`flask --app wsgi consult ...`: administration from the command line."""

from __future__ import annotations

import sys
from typing import BinaryIO

import click
from flask import Flask, current_app
from sqlalchemy import select

from .extensions import db
from .models import Partnership
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
    def create_user_command(email: str, slug: str, role: str, name: str, password_stdin: bool) -> None:
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

    @consult.command("seed-demo")
    def seed_demo_command() -> None:
        """Create the demo partnership, accounts and survey (idempotent)."""
        import os

        from .services.seed import seed_demo

        if not current_app.config.get("SEED_ALLOWED"):
            raise click.ClickException("seed-demo refuses to run in the production configuration")
        report = seed_demo(os.environ.get("CONSULT_DEMO_PASSWORD") or None)
        if not report.created:
            click.echo("Demo already seeded; nothing changed.")
        for line in report.created:
            click.echo(f"Created {line}")
        if report.passwords and not os.environ.get("CONSULT_DEMO_PASSWORD"):
            click.echo("Demo passwords (shown once; set CONSULT_DEMO_PASSWORD to choose your own):")
            for email, secret in report.passwords.items():
                click.echo(f"  {email}  {secret}")

    @consult.command("import-benchmarks")
    @click.argument("file", type=click.File("rb"))
    @click.option("--partnership", "slug", required=True)
    @click.option("--note", default="", help="Where the figures come from.")
    def import_benchmarks_command(file: BinaryIO, slug: str, note: str) -> None:
        """Load population benchmarks (CSV: variable, category, population_share, base, source)."""
        from .services.benchmarks import BenchmarkFileError, import_benchmarks

        partnership = _partnership(slug)
        try:
            benchmark_set = import_benchmarks(partnership, file.read(), note=note)
            db.session.commit()
        except BenchmarkFileError as error:
            db.session.rollback()
            for problem in error.problems:
                click.echo(f"  {problem}", err=True)
            raise click.ClickException("Nothing was imported.") from None
        click.echo(
            f"Imported benchmarks version {benchmark_set.version} "
            f"({len(benchmark_set.rows)} rows) for {partnership.slug}"
        )


def _partnership(slug: str) -> Partnership:
    partnership = db.session.scalars(select(Partnership).filter_by(slug=slug)).first()
    if partnership is None:
        raise click.ClickException(f"No partnership called {slug!r}")
    return partnership
