# Sourced by scripts/test.sh: a headless browser for the console's browser test
# (tests/e2e/test_console.py). Debian's chromium and chromium-driver, from the system's package
# manager: browser builds downloaded by other tools cannot be fetched here. Installed once
# (CI runs as root on Debian); where they cannot be installed the test says so and fails.
# Exports TRUSTGATE_CHROMEDRIVER for the test.
if [ ! -x /usr/bin/chromedriver ] || [ ! -x /usr/bin/chromium ]; then
  echo "==> installing chromium and chromium-driver (apt-get; the console's browser test)"
  browser_start=$SECONDS
  if [ "$(id -u)" -eq 0 ]; then
    apt_get() { apt-get "$@"; }
  else
    apt_get() { sudo -n apt-get "$@"; }
  fi
  DEBIAN_FRONTEND=noninteractive apt_get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive apt_get install -y -qq --no-install-recommends \
      chromium chromium-driver >/dev/null ||
    echo "warning: could not install chromium; the console's browser test will fail" >&2
  echo "==> chromium installed in $((SECONDS - browser_start)) s"
fi
export TRUSTGATE_CHROMEDRIVER=/usr/bin/chromedriver
