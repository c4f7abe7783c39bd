#!/usr/bin/env bash
# Python packages the tests use as independent checkers: `cryptography` verifies the trust
# center's DSSE/Ed25519 attestations without any of our code; `jsonschema` validates reports
# against the schema `iotassure report schema` prints.
set -euo pipefail
python3 -c "import cryptography" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check "cryptography>=41"
python3 -c "import jsonschema" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check "jsonschema>=4"
