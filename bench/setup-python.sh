#!/usr/bin/env bash
# Creates (once) the virtualenv the Python baselines (and Vowpal Wabbit, the
# objective heads' reference) run in, with pinned versions so reruns compare
# like with like. Usage: setup-python.sh VENV_DIR
set -euo pipefail
venv="${1:?usage: setup-python.sh VENV_DIR}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import implicit, numpy, scipy, vowpalwabbit" 2>/dev/null; then
  "$venv/bin/python" -m pip install -q --upgrade pip
  # vowpalwabbit only as a wheel: building it from source needs cmake and boost.
  "$venv/bin/python" -m pip install -q "numpy>=1.26" "scipy>=1.11" "implicit==0.7.3" "threadpoolctl>=3" \
    --only-binary vowpalwabbit "vowpalwabbit==9.11.9"
fi
