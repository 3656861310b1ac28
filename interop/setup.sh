#!/usr/bin/env bash
# Creates interop/.venv with the independent JOSE implementation (Python joserfc
# + cryptography) and the OAuth client library (authlib + requests) that
# attesto's interop tests drive. Idempotent.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$here/.venv/bin/python" ]; then
  python3 -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$here/.venv/bin/python" -c "import joserfc, cryptography, authlib, requests; print('interop peers ready: joserfc, authlib', authlib.__version__)"
