#!/usr/bin/env bash
# Install the Debian packages the tests need, only those that are absent.
set -euo pipefail
packages=(
  postgresql mosquitto                               # real database and broker
  xvfb chromium                                      # Kivy and browser tests
  libegl1 libgl1-mesa-dri                            # Kivy under SDL_VIDEODRIVER=offscreen (EGL + Mesa llvmpipe)
  swig libpcsclite-dev pcscd vsmartcard-vpcd         # pyscard build, PC/SC daemon, virtual reader driver
  yaz idzebra-2.0 libnet-z3950-simple2zoom-perl      # SRU/Z39.50 clients, Zebra, the Z39.50 gateway
  gcc python3-dev                                    # the MARCXML writer in C (server/catalog/_marcxml.c)
)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing Debian packages: ${missing[*]}"
if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
