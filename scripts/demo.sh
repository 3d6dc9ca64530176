#!/usr/bin/env bash
# Install what is missing, build, and run the offline payment demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
if [ -x demo/story.sh ] && [ -x build/src/wallet/offpay ] && [ -x build/src/server/offpayd ]; then
  exec demo/story.sh build
fi
exec build/demo/offpay-demo-core
