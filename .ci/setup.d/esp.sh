#!/usr/bin/env bash
# esptool reads the ESP8266 fixtures of crates/unpack/tests/esp8266.rs independently
# (`esptool image-info`), so the layouts the tests build are the ones Espressif's tools read.
set -euo pipefail
command -v esptool >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check "esptool>=4.7"
