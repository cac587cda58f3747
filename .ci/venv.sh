#!/usr/bin/env bash
# Create .venv when missing and install the project with the given extras when pyproject.toml (or C code) changed.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="$1"
python=$(command -v python3.11 || command -v python3)
if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv 2>/dev/null; then
    echo "python venv support is missing; installing python3-venv" >&2
    rm -rf .venv
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv
    "$python" -m venv .venv
  fi
fi
stamp=".venv/.installed-$(echo "$extras" | tr ',' '-')"
# (the C extension is built by the install: a changed source is installed again too)
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ server/catalog/_marcxml.c -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[$extras]"
  touch "$stamp"
fi
