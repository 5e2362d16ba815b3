#!/usr/bin/env bash
# What the tests need from the system: Debian's Chromium (Playwright drives
# it; `playwright install` cannot download a browser here), Noto fonts for
# Gujarati, Gurmukhi, Bengali, Arabic and Urdu, Pango and poppler-utils for
# the printable questionnaire, PostgreSQL and Redis.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else echo "need root for: $*" >&2; return 1; fi; }
apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

need=()
command -v chromium >/dev/null || need+=(chromium)
dpkg -s fonts-noto-core >/dev/null 2>&1 || need+=(fonts-noto-core)
# WeasyPrint (printable questionnaires) typesets through Pango; the tests
# render its PDFs to images with pdftoppm.
dpkg -s libpango-1.0-0 >/dev/null 2>&1 || need+=(libpango-1.0-0)
dpkg -s libpangoft2-1.0-0 >/dev/null 2>&1 || need+=(libpangoft2-1.0-0)
# HarfBuzz's subsetter cuts the embedded fonts in a tenth of fontTools' time
# (the letters' shared pages: 0.6 s instead of 5 s with Nastaliq).
dpkg -s libharfbuzz-subset0 >/dev/null 2>&1 || need+=(libharfbuzz-subset0)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  echo "system-deps: installing ${need[*]}"
  apt_install "${need[@]}"
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "system-deps: installing PostgreSQL"
    apt_install postgresql
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  # Trust on loopback for the throwaway test database, as on the project's machines.
  if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
    hba=$(ls /etc/postgresql/"$version"/main/pg_hba.conf)
    as_root sed -i 's/^\(host\s\+all\s\+all\s\+127.0.0.1\/32\s\+\)\S\+/\1trust/' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
    as_root su postgres -c "createdb test" 2>/dev/null || true
  fi
fi
pg_isready -h 127.0.0.1 -p 5432 >/dev/null || { echo "system-deps: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }

if ! (command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1); then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
echo "system-deps: chromium, fonts, PostgreSQL and Redis ready"
