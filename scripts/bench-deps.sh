#!/usr/bin/env bash
# What bench/crosscheck_r.py needs: R and its survey package (Debian's
# packages; MASS is what calibrate() uses for bounded raking). Only the
# cross-check uses R: the tests and CI never do, so this is not in
# system-deps.sh.
set -euo pipefail

if command -v Rscript >/dev/null && Rscript -e 'suppressMessages(library(survey)); library(MASS)' >/dev/null 2>&1; then
  exit 0
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else echo "need root for: $*" >&2; return 1; fi; }
echo "bench-deps: installing R and the survey package"
as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
  r-base-core r-cran-survey r-cran-mass >/dev/null
