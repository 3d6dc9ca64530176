#!/usr/bin/env bash
# Install the Debian packages offpay needs to build and test (idempotent).
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libsodium-dev libsqlite3-dev sqlite3 libpq-dev postgresql
      libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev libjansson-dev
      libqrencode-dev libzbar-dev zbar-tools libpng-dev zlib1g-dev curl jq
      systemd man-db groff-base openssl gnutls-bin prometheus
      softhsm2 opensc)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
