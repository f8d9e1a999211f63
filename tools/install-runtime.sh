#!/bin/sh
# The one runtime install of Fixloop, shared by the container image (Dockerfile) and CI's fresh-venv check
# (tools/check_runtime_install.py), so the two cannot drift: the package from a source tree, without extras,
# non-editable (what runs is what a wheel ships: package data included), into the given Python's environment.
#
#   sh tools/install-runtime.sh PYTHON [SOURCE_DIR]
set -eu
python="${1:?usage: install-runtime.sh PYTHON [SOURCE_DIR]}"
source_dir="${2:-.}"
"$python" -m pip install --disable-pip-version-check --no-input --quiet "$source_dir"
# The dependency tree must be consistent: a conflict pip resolved around fails the install here, not at run.
"$python" -m pip check
