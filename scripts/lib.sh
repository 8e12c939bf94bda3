# Shared by scripts/start and scripts/test: find Python 3.12+, make .venv, install peakflo into it.
# shellcheck shell=bash

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31mError: %s\033[0m\n' "$*" >&2; exit 1; }

python_is_new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; }

find_python() {
    local candidate version
    for candidate in "${PYTHON:-}" python3.14 python3.13 python3.12 python3 python; do
        [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 || continue
        if python_is_new_enough "$candidate"; then command -v "$candidate"; return 0; fi
    done
    # pyenv keeps versions it does not put on PATH; .python-version asks for 3.12.
    if command -v pyenv >/dev/null 2>&1; then
        for version in $(pyenv versions --bare 2>/dev/null | sort -rV); do
            candidate="$(pyenv root)/versions/$version/bin/python"
            if [ -x "$candidate" ] && python_is_new_enough "$candidate"; then echo "$candidate"; return 0; fi
        done
    fi
    return 1
}

# ensure_venv [EXTRA]: .venv with peakflo (and the optional extra) installed, reinstalled when pyproject.toml changes.
ensure_venv() {
    local extra="${1:-}" spec="." stamp
    [ -n "$extra" ] && spec=".[$extra]"
    if [ ! -x .venv/bin/python ] || ! python_is_new_enough .venv/bin/python; then
        local python
        python="$(find_python)" || die "peakflo needs Python 3.12 or newer, and none was found (python3 is $(python3 --version 2>&1 || echo missing)).
Install one, then run this again:
  - with pyenv:     pyenv install 3.12 && pyenv local 3.12
  - on Debian 13 / Ubuntu 24.04:  sudo apt-get install python3 python3-venv
  - or from https://www.python.org/downloads/
Or point PYTHON at it: PYTHON=/path/to/python3.12 $0"
        say "Creating .venv with $("$python" --version)"
        rm -rf .venv
        "$python" -m venv .venv || die "could not create .venv (on Debian: apt-get install python3-venv)"
    fi
    stamp=".venv/.installed-$(cat pyproject.toml | cksum | cut -d' ' -f1)-${extra:-base}"
    if [ ! -f "$stamp" ]; then
        say "Installing peakflo${extra:+ with its $extra extra} into .venv"
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e "$spec" || die "pip could not install the dependencies (see above)."
        rm -f .venv/.installed-*
        touch "$stamp"
    fi
}
