#!/bin/sh
# Prints the path of a python3 that can import torch and numpy (PYTHON if set, else python3 on
# PATH, else Debian's /usr/bin/python3: a pyenv or venv python3 on PATH does not see Debian's
# dist-packages). With --install, installs Debian's python3-torch and python3-numpy when none
# can (sudo when not root, as the Makefile's `deps` target does). Exit 1 when none is found.
for p in "${PYTHON:-}" python3 /usr/bin/python3; do
  [ -n "$p" ] || continue
  if command -v "$p" >/dev/null 2>&1 && "$p" -c "import torch, numpy" >/dev/null 2>&1; then
    command -v "$p"
    exit 0
  fi
done
if [ "${1:-}" = "--install" ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "installing Debian's python3-torch and python3-numpy" >&2
  $SUDO apt-get update -qq >&2 &&
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy >&2 || exit 1
  if /usr/bin/python3 -c "import torch, numpy" >/dev/null 2>&1; then
    echo /usr/bin/python3
    exit 0
  fi
fi
echo "no python3 with torch and numpy (install Debian's python3-torch; make crosscheck does it)" >&2
exit 1
