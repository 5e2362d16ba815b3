"""The migrations build the schema the models describe, on SQLite and on
PostgreSQL (whichever engine this run uses)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from consult.extensions import db


def test_models_and_migrations_agree(app_context):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], (
        "models and migrations disagree; run `make migration` (before the first release) "
        f"or add a migration: {differences}"
    )


def test_every_table_is_created(app_context):
    names = set(db.inspect(db.engine).get_table_names())
    for table in db.metadata.sorted_tables:
        assert table.name in names
    assert "alembic_version" in names
