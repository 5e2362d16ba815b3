#!/usr/bin/env bash
# Before the first release the schema is one migration, regenerated from the
# models against an empty SQLite database. After a release, add migrations
# with `flask db migrate` instead and never edit a released one.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f migrations/versions/*.py
DATABASE_URL="sqlite:///$tmp/empty.sqlite3" .venv/bin/flask --app wsgi db migrate -m "initial schema" --rev-id 0001 >/dev/null
file=$(ls migrations/versions/0001_*.py)
# SQLite renders boolean defaults as text('0'), which PostgreSQL rejects.
sed -i "s/server_default=sa.text('0')/server_default=sa.false()/; s/server_default=sa.text('1')/server_default=sa.true()/" "$file"
.venv/bin/ruff format -q "$file" || true
echo "regenerated $file"
