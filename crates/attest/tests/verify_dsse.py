"""An independent DSSE verifier: PAE computed here, Ed25519 checked by `cryptography`, the
subject digest by hashlib. Nothing of iotassure's code is used.

usage: verify_dsse.py ENVELOPE PUBKEY.pem IMAGE   -> prints "valid" (exit 0) or the reason (exit 1)
"""
import base64, hashlib, json, sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

env = json.load(open(sys.argv[1]))
key = load_pem_public_key(open(sys.argv[2], "rb").read())
image = open(sys.argv[3], "rb").read()

payload = base64.b64decode(env["payload"], validate=True)
ptype = env["payloadType"].encode()
pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(payload), payload)
ok = False
for s in env["signatures"]:
    try:
        key.verify(base64.b64decode(s["sig"]), pae)
        ok = True
    except InvalidSignature:
        pass
if not ok:
    print("bad signature"); sys.exit(1)
stmt = json.loads(payload)
assert stmt["_type"] == "https://in-toto.io/Statement/v1", stmt["_type"]
digest = hashlib.sha256(image).hexdigest()
if digest not in [s["digest"]["sha256"] for s in stmt["subject"]]:
    print("digest mismatch"); sys.exit(1)
print("valid")
