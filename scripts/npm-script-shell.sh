#!/bin/sh
# The shell npm runs every package script with (.npmrc `script-shell`), so that installing the
# Kafka client needs nothing set by hand.
#
# @confluentinc/kafka-javascript (librdkafka) downloads a prebuilt binary from GitHub, and builds
# from the librdkafka source in its npm package when it cannot. Its default (static) build
# downloads OpenSSL, zstd and others too: with only the package registries reachable, that fails.
# CKJS_LINKING=dynamic builds librdkafka against the system's OpenSSL and zlib instead. Before
# that build, the C toolchain and headers it needs are checked, and installed from Debian packages
# when missing (as root, on Debian or Ubuntu); elsewhere the message says what to install.
export CKJS_LINKING="${CKJS_LINKING:-dynamic}"

if [ "${npm_package_name:-}" = "@confluentinc/kafka-javascript" ] &&
  [ "${npm_lifecycle_event:-}" = "install" ]; then
  missing=""
  command -v make >/dev/null 2>&1 || missing="$missing make"
  command -v g++ >/dev/null 2>&1 || missing="$missing g++"
  command -v python3 >/dev/null 2>&1 || missing="$missing python3"
  [ -f /usr/include/openssl/ssl.h ] || missing="$missing libssl-dev"
  [ -f /usr/include/zlib.h ] || missing="$missing zlib1g-dev"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "refreshbus: installing what building the Kafka client needs:$missing" >&2
      apt-get update -qq >&2 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2 ||
        exit 1
    else
      echo "refreshbus: building the Kafka client (librdkafka) needs:$missing" >&2
      echo "  Debian/Ubuntu: sudo apt-get install$missing" >&2
      exit 1
    fi
  fi
fi

exec /bin/sh "$@"
