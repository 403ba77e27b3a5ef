#!/bin/sh
# Before `npm test`: make sure Debian's chromium is there for the browser tests (test/ui.test.ts,
# test/clients-browser.test.ts). Installs it with apt-get when missing and running as root; else
# says why and carries on: those tests then skip with the same reason. Never fails the test run.
set -u

for bin in "${CHROMIUM_PATH:-}" /usr/bin/chromium chromium chromium-browser; do
  [ -n "$bin" ] || continue
  if command -v "$bin" >/dev/null 2>&1 && "$bin" --version >/dev/null 2>&1; then
    exit 0
  fi
done

if [ "$(id -u)" != "0" ]; then
  echo "ensure-chromium: no chromium and not root; the browser tests will skip (apt-get install chromium, or set CHROMIUM_PATH)" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no chromium and no apt-get; the browser tests will skip (set CHROMIUM_PATH)" >&2
  exit 0
fi

echo "ensure-chromium: installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
  /usr/bin/chromium --version >&2 || true
else
  echo "ensure-chromium: apt-get install chromium failed; the browser tests will skip" >&2
fi
exit 0
