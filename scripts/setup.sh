#!/usr/bin/env bash
# Installs what the project needs on a fresh machine, idempotently:
# Debian packages from scripts/apt-packages.txt, then a virtualenv in .venv with the
# project and its development tools. A stamp keyed on pyproject.toml skips the pip step
# when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(grep -vE '^\s*(#|$)' scripts/apt-packages.txt || true)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-python3}

# `setup.sh --runtime` builds .venv-runtime: the services with their runtime dependencies only, as
# an image would install them, so that benchmarks measure memory without the development tools.
if [ "${1:-}" = "--runtime" ]; then
  stamp=.venv-runtime/.akri-setup-$(sha256sum pyproject.toml | cut -c1-16)
  if [ ! -f "$stamp" ]; then
    echo "setup: installing akri-py with runtime dependencies only into .venv-runtime"
    rm -rf .venv-runtime
    "$python" -m venv .venv-runtime
    .venv-runtime/bin/python -m pip install -q --disable-pip-version-check -e '.[agent,controller,debug-echo,udev,onvif,opcua,opcua-broker,webhook,streaming,cli]'
    touch "$stamp"
  fi
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$python" -m venv .venv
fi
stamp=.venv/.akri-setup-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing akri-py and its development tools into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev,agent,controller,debug-echo,udev,onvif,opcua,opcua-broker,webhook,streaming,cli]'
  rm -f .venv/.akri-setup-*
  touch "$stamp"
fi
