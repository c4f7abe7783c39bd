//! DSSE, in-toto and keys: round trips, one-byte changes, wrong keys, image digests, the DSSE
//! spec's PAE example, key rotation and file modes, and an independent verifier in Python.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use iotassure_attest::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// RFC 8032 section 7.1, test 1: a published key, for known answers and the docs' example only.
const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const RFC8032_SIG_EMPTY: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
/// The firmware image of the docs' example.
const EXAMPLE_IMAGE: &[u8] = b"example firmware image\n";

fn rfc8032_key() -> SigningKey {
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
    der.extend(hex::decode(RFC8032_SEED).unwrap());
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        B64.encode(der)
    );
    SigningKey::from_pem(&pem, "rfc8032").unwrap()
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b))
}

fn predicate() -> CertificationPredicate {
    CertificationPredicate {
        certificate_id: "c1".into(),
        profile: "uk-psti".into(),
        assurance_level: 3,
        assurance_level_name: "firmware analysed".into(),
        verdicts: vec![ProvisionVerdict {
            provision: "5.1-1".into(),
            verdict: "PASS".into(),
            basis: "verified".into(),
        }],
        report_digest: Digest {
            sha256: "ab".repeat(32),
        },
        tool_version: "0.1.0".into(),
        issued_at: "2026-12-04T00:00:00.000000Z".into(),
        valid_from: "2026-12-04T00:00:00.000000Z".into(),
        valid_until: "2027-12-04T00:00:00.000000Z".into(),
        support_period_end: Some("2031-12-31".into()),
        issuer: Issuer {
            name: "test".into(),
            lab: "lab".into(),
            key_id: String::new(),
        },
        product: Product {
            maker: "M".into(),
            model: "X".into(),
            hardware_version: "A".into(),
            firmware_version: "1".into(),
        },
    }
}

fn signed(image: &[u8]) -> (SigningKey, Envelope) {
    let k = SigningKey::generate();
    let sha = sha256_hex(image);
    let st = Statement::certification("M/X@1", &sha, &predicate());
    (k.clone(), sign_statement(&st, &k).unwrap())
}

#[test]
fn pae_matches_the_dsse_spec_example() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
}

#[test]
fn round_trip_and_every_one_byte_change_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("fw.img");
    std::fs::write(&img, b"firmware bytes").unwrap();
    let (k, env) = signed(b"firmware bytes");
    let json = serde_json::to_vec(&env).unwrap();
    let keys = [k.public_key()];
    let ok = verify_envelope(&json, &keys, Some(&img), None)
        .unwrap()
        .unwrap();
    assert_eq!(ok.key_id, k.key_id());
    assert_eq!(ok.statement.predicate["profile"], "uk-psti");
    // Change one byte of the payload or the signature (decoded), anywhere: never valid.
    let payload = env.payload_bytes().unwrap();
    for i in 0..payload.len() {
        let mut p = payload.clone();
        p[i] ^= 0x01;
        let mut e = env.clone();
        e.payload = B64.encode(&p);
        let r = verify_envelope(&serde_json::to_vec(&e).unwrap(), &keys, None, None).unwrap();
        assert!(
            matches!(r, Err(Invalid::BadSignature(_))),
            "payload byte {i}"
        );
    }
    for i in 0..64 {
        let mut sig = B64.decode(&env.signatures[0].sig).unwrap();
        sig[i] ^= 0x80;
        let mut e = env.clone();
        e.signatures[0].sig = B64.encode(&sig);
        let r = verify_envelope(&serde_json::to_vec(&e).unwrap(), &keys, None, None).unwrap();
        assert!(r.is_err(), "signature byte {i}");
    }
    // The payload type is signed too.
    let mut e = env.clone();
    e.payload_type = "application/json".into();
    assert!(
        verify_envelope(&serde_json::to_vec(&e).unwrap(), &keys, None, None)
            .unwrap()
            .is_err()
    );
}

#[test]
fn wrong_key_wrong_image_and_expiry_are_invalid_and_garbage_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.img");
    std::fs::write(&other, b"another image").unwrap();
    let (_, env) = signed(b"firmware bytes");
    let json = serde_json::to_vec(&env).unwrap();
    let stranger = SigningKey::generate().public_key();
    assert!(matches!(
        verify_envelope(&json, &[stranger], None, None).unwrap(),
        Err(Invalid::BadSignature(_))
    ));
    let (k, env) = signed(b"firmware bytes");
    let json = serde_json::to_vec(&env).unwrap();
    assert!(matches!(
        verify_envelope(&json, &[k.public_key()], Some(&other), None).unwrap(),
        Err(Invalid::Digest { .. })
    ));
    assert!(matches!(
        verify_envelope(&json, &[k.public_key()], None, Some("2028-01-01T00:00:00Z")).unwrap(),
        Err(Invalid::Expired(_))
    ));
    assert!(
        verify_envelope(&json, &[k.public_key()], None, Some("2027-01-01T00:00:00Z"))
            .unwrap()
            .is_ok()
    );
    assert!(matches!(
        verify_envelope(b"{not json", &[k.public_key()], None, None),
        Err(VerifyError::Malformed(_))
    ));
    assert!(matches!(
        verify_envelope(
            &json,
            &[k.public_key()],
            Some(&dir.path().join("missing")),
            None
        ),
        Err(VerifyError::Io { .. })
    ));
}

#[test]
fn keys_round_trip_and_key_ring_rotation_keeps_old_keys() {
    let dir = tempfile::tempdir().unwrap();
    let ring_dir = dir.path().join("keys");
    let mut ring = KeyRing::open_or_create(&ring_dir).unwrap();
    let first = ring.current().clone();
    assert!(first.key_id().starts_with("ed25519:") && first.key_id().len() == 24);
    let keyfile = ring_dir.join(format!("{}.key", first.key_id().replace(':', "_")));
    assert_eq!(
        std::fs::metadata(&keyfile).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&ring_dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    // Reopening gives the same key; a file is never overwritten.
    assert_eq!(
        KeyRing::open_or_create(&ring_dir)
            .unwrap()
            .current()
            .key_id(),
        first.key_id()
    );
    assert!(first.write_new(&keyfile).is_err());
    let second = ring.rotate().unwrap().clone();
    assert_ne!(second.key_id(), first.key_id());
    assert_eq!(
        KeyRing::open_or_create(&ring_dir)
            .unwrap()
            .current()
            .key_id(),
        second.key_id()
    );
    let publics = ring.public_keys().unwrap();
    assert_eq!(publics.len(), 2);
    // An envelope signed with the retired key still verifies against the published set.
    let (_, env) = {
        let st = Statement::certification("x", &"00".repeat(32), &predicate());
        (0, sign_statement(&st, &first).unwrap())
    };
    assert!(
        verify_envelope(&serde_json::to_vec(&env).unwrap(), &publics, None, None)
            .unwrap()
            .is_ok()
    );
    // PEM round trips, and the JSON form checks its keyid.
    let pem = first.public_key().to_pem();
    assert_eq!(PublicKey::from_pem(&pem).unwrap(), first.public_key());
    let jf = dir.path().join("keys.json");
    std::fs::write(
        &jf,
        serde_json::json!([{"keyid": first.key_id(), "public_key_pem": pem}]).to_string(),
    )
    .unwrap();
    assert_eq!(PublicKey::read_any(&jf).unwrap().len(), 1);
    std::fs::write(
        &jf,
        serde_json::json!([{"keyid": second.key_id(), "public_key_pem": pem}]).to_string(),
    )
    .unwrap();
    assert!(
        PublicKey::read_any(&jf).is_err(),
        "a keyid that is not its key's is refused"
    );
    assert_eq!(
        SigningKey::from_pem(&first.to_pem(), "x").unwrap().key_id(),
        first.key_id()
    );
}

/// The envelope verified by code that shares nothing with ours: Python's `cryptography`.
#[test]
fn an_independent_python_verifier_agrees() {
    if !python_with_cryptography() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("fw.img");
    std::fs::write(&img, b"firmware bytes").unwrap();
    let (k, env) = signed(b"firmware bytes");
    let envf = dir.path().join("env.json");
    let keyf = dir.path().join("key.pem");
    std::fs::write(&envf, serde_json::to_vec(&env).unwrap()).unwrap();
    std::fs::write(&keyf, k.public_key().to_pem()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/verify_dsse.py");
    let run = |e: &std::path::Path, i: &std::path::Path| {
        Command::new("python3")
            .arg(script)
            .arg(e)
            .arg(&keyf)
            .arg(i)
            .output()
            .unwrap()
    };
    let o = run(&envf, &img);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // A one-byte change in the signature: Python refuses too.
    let mut bad = env.clone();
    let first = bad.signatures[0].sig.remove(0);
    bad.signatures[0]
        .sig
        .insert(0, if first == 'A' { 'B' } else { 'A' });
    let badf = dir.path().join("bad.json");
    std::fs::write(&badf, serde_json::to_vec(&bad).unwrap()).unwrap();
    let o = run(&badf, &img);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let other = dir.path().join("other.img");
    std::fs::write(&other, b"x").unwrap();
    let o = run(&envf, &other);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "digest mismatch");

    // Our private key file is the PKCS#8 that OpenSSL reads: same public key.
    let keyfile = dir.path().join("signing.key");
    k.write_new(&keyfile).unwrap();
    let o = Command::new("python3")
        .args([
            "-c",
            "import sys\n\
             from cryptography.hazmat.primitives import serialization as s\n\
             k = s.load_pem_private_key(open(sys.argv[1], 'rb').read(), None)\n\
             print(k.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw).hex())",
        ])
        .arg(&keyfile)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        hex::encode(k.public_key().as_bytes()),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// One character of the envelope's JSON text changed inside `payload` or `sig` (to another base64
/// character, or to one outside the alphabet): always "invalid", never valid and never "error".
#[test]
fn every_one_character_change_in_the_envelope_text_is_invalid() {
    let (k, env) = signed(b"firmware bytes");
    let keys = [k.public_key()];
    let text = serde_json::to_string(&env).unwrap();
    for field in [&env.payload, &env.signatures[0].sig] {
        let start = text.find(field.as_str()).unwrap();
        for i in start..start + field.len() {
            let c = text.as_bytes()[i];
            for to in [if c == b'A' { b'B' } else { b'A' }, b'.'] {
                let mut t = text.clone().into_bytes();
                t[i] = to;
                let r = verify_envelope(&t, &keys, None, None)
                    .unwrap_or_else(|e| panic!("offset {i} -> {}: error {e}", to as char));
                assert!(r.is_err(), "offset {i} -> {} verified", to as char);
            }
        }
    }
}

#[test]
fn keyids_select_keys_and_payload_types_are_checked() {
    let (k, env) = signed(b"firmware bytes");
    let other = SigningKey::generate().public_key();
    let keys = [other.clone(), k.public_key()];
    let verify = |e: &Envelope| verify_envelope(&serde_json::to_vec(e).unwrap(), &keys, None, None);
    assert_eq!(verify(&env).unwrap().unwrap().key_id, k.key_id());
    // No keyid: every key is tried.
    let mut e = env.clone();
    e.signatures[0].keyid.clear();
    assert_eq!(verify(&e).unwrap().unwrap().key_id, k.key_id());
    let json = serde_json::to_string(&e)
        .unwrap()
        .replace(r#""keyid":"","#, "");
    assert!(!json.contains("keyid"));
    assert!(verify_envelope(json.as_bytes(), &keys, None, None)
        .unwrap()
        .is_ok());
    // Another key's id: only that key is tried, and it does not verify.
    e.signatures[0].keyid = other.key_id();
    assert!(matches!(verify(&e).unwrap(), Err(Invalid::BadSignature(_))));
    // A second, bad signature does not spoil a good one.
    let mut e = env.clone();
    e.signatures.insert(
        0,
        Signature {
            keyid: String::new(),
            sig: B64.encode([0u8; 64]),
        },
    );
    assert!(verify(&e).unwrap().is_ok());

    // The generic DSSE layer: any payload type, and the caller may insist on one.
    let signed = dsse::sign("application/vnd.example+json", b"{}", &k);
    assert_eq!(
        dsse::verify(&signed, &keys, None).unwrap(),
        (k.key_id(), b"{}".to_vec())
    );
    assert!(dsse::verify(&signed, &keys, Some("application/vnd.example+json")).is_ok());
    assert!(matches!(
        dsse::verify(&signed, &keys, Some(IN_TOTO_PAYLOAD_TYPE)),
        Err(Invalid::PayloadType { .. })
    ));
    // verify_envelope expects an in-toto Statement, even when the signature is good.
    assert!(matches!(
        verify_envelope(&serde_json::to_vec(&signed).unwrap(), &keys, None, None).unwrap(),
        Err(Invalid::PayloadType { .. })
    ));
    // Signed, but not a Statement: invalid.
    let not_statement = dsse::sign(IN_TOTO_PAYLOAD_TYPE, br#"{"_type":"x"}"#, &k);
    assert!(matches!(
        verify_envelope(
            &serde_json::to_vec(&not_statement).unwrap(),
            &keys,
            None,
            None
        )
        .unwrap(),
        Err(Invalid::Statement(_))
    ));
}

#[test]
fn validity_is_compared_as_time_not_text() {
    let (k, env) = signed(b"firmware bytes");
    let json = serde_json::to_vec(&env).unwrap();
    let keys = [k.public_key()];
    // validUntil is 2027-12-04T00:00:00Z. 01:30+02:00 is 23:30Z the day before: still valid.
    assert!(
        verify_envelope(&json, &keys, None, Some("2027-12-04T01:30:00+02:00"))
            .unwrap()
            .is_ok()
    );
    assert!(matches!(
        verify_envelope(&json, &keys, None, Some("2027-12-03T23:30:00-02:00")).unwrap(),
        Err(Invalid::Expired(_))
    ));
    assert!(matches!(
        verify_envelope(&json, &keys, None, Some("2027-12-04T00:00:00Z")).unwrap(),
        Err(Invalid::Expired(_))
    ));
    assert!(matches!(
        verify_envelope(&json, &keys, None, Some("yesterday")),
        Err(VerifyError::Now(_))
    ));
}

#[test]
fn known_answers_rfc8032_key_id_and_pem_layouts() {
    let k = rfc8032_key();
    assert_eq!(hex::encode(k.public_key().as_bytes()), RFC8032_PUBLIC);
    assert_eq!(hex::encode(k.sign(b"")), RFC8032_SIG_EMPTY);
    // The key id: ed25519: + 16 hex digits of SHA-256(raw public key).
    assert_eq!(
        k.key_id(),
        format!(
            "ed25519:{}",
            &sha256_hex(&hex::decode(RFC8032_PUBLIC).unwrap())[..16]
        )
    );
    assert_eq!(k.key_id(), "ed25519:21fe31dfa154a261");
    // SPKI PEM: the 12-byte Ed25519 prefix, then the key.
    let pem = k.public_key().to_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(
        hex::encode(B64.decode(body).unwrap()),
        format!("302a300506032b6570032100{RFC8032_PUBLIC}")
    );
    // The JSON form, alone or in an array, and PEM: told apart by content.
    let j = k.public_key().to_json();
    assert_eq!(j["keyid"], k.key_id());
    assert_eq!(j["alg"], "ed25519");
    assert_eq!(j["public_key_pem"], pem);
    for text in [
        pem.clone(),
        j.to_string(),
        serde_json::json!([j]).to_string(),
    ] {
        assert_eq!(
            PublicKey::parse_any(&text).unwrap(),
            vec![k.public_key()],
            "{text}"
        );
    }
    let mut wrong_alg = j.clone();
    wrong_alg["alg"] = "rsa".into();
    assert!(PublicKey::from_json(&wrong_alg.to_string()).is_err());
    assert!(
        PublicKey::parse_any("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .is_err()
    );
    assert!(PublicKey::parse_any("[]").is_err());
}

#[test]
fn predicates_serialise_with_the_spec_field_names() {
    let st = Statement::certification("M/X@1", &"AB".repeat(32), &predicate());
    let v = serde_json::to_value(&st).unwrap();
    assert_eq!(v["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        v["predicateType"],
        "https://iotassure.dev/attestation/certification/v1"
    );
    assert_eq!(v["subject"][0]["digest"]["sha256"], "ab".repeat(32));
    let p = &v["predicate"];
    for f in [
        "certificateId",
        "profile",
        "assuranceLevel",
        "assuranceLevelName",
        "verdicts",
        "reportDigest",
        "toolVersion",
        "issuedAt",
        "validFrom",
        "validUntil",
        "supportPeriodEnd",
        "issuer",
        "product",
    ] {
        assert!(p.get(f).is_some(), "{f}");
    }
    assert_eq!(
        p["verdicts"][0],
        serde_json::json!({"provision": "5.1-1", "verdict": "PASS", "basis": "verified"})
    );
    for f in ["maker", "model", "hardwareVersion", "firmwareVersion"] {
        assert!(p["product"].get(f).is_some(), "{f}");
    }
    let back: CertificationPredicate = serde_json::from_value(p.clone()).unwrap();
    assert_eq!(back, predicate());

    let vsa = vsa_predicate();
    let v = serde_json::to_value(Statement::vsa(&"cd".repeat(32), &vsa)).unwrap();
    assert_eq!(
        v["predicateType"],
        "https://slsa.dev/verification_summary/v1"
    );
    assert_eq!(
        v["subject"][0],
        serde_json::json!({"name": format!("sha256:{}", "cd".repeat(32)), "digest": {"sha256": "cd".repeat(32)}})
    );
    let p = &v["predicate"];
    for f in [
        "verifier",
        "timeVerified",
        "resourceUri",
        "policy",
        "inputAttestations",
        "verificationResult",
        "verifiedLevels",
        "slsaVersion",
    ] {
        assert!(p.get(f).is_some(), "{f}");
    }
    assert_eq!(p["verifier"]["id"], "iotassure trust center");
    assert_eq!(p["verifiedLevels"][0], "IOTASSURE_LEVEL_3");
    assert_eq!(
        p["inputAttestations"][0]["digest"]["sha256"],
        "ef".repeat(32)
    );
    assert_eq!(
        serde_json::from_value::<VsaPredicate>(p.clone()).unwrap(),
        vsa
    );
}

fn vsa_predicate() -> VsaPredicate {
    VsaPredicate {
        verifier: Verifier {
            id: "iotassure trust center".into(),
        },
        time_verified: "2026-12-04T00:00:00Z".into(),
        resource_uri: format!("sha256:{}", "cd".repeat(32)),
        policy: VsaPolicy {
            uri: "https://iotassure.dev/policy/admission/uk-psti".into(),
            digest: None,
        },
        input_attestations: vec![VsaInput {
            uri: "/api/v1/certificates/c1/attestation".into(),
            digest: Some(Digest {
                sha256: "ef".repeat(32),
            }),
        }],
        verification_result: "PASSED".into(),
        verified_levels: vec!["IOTASSURE_LEVEL_3".into()],
        slsa_version: "1.0".into(),
    }
}

/// The docs' complete example: a certification statement about [`EXAMPLE_IMAGE`], signed with
/// the RFC 8032 test key (Ed25519 is deterministic, so the bytes are reproducible).
fn docs_example() -> Envelope {
    let k = rfc8032_key();
    let p = CertificationPredicate {
        certificate_id: "0b5c7d1e-5f7a-4c3e-9a41-6c2d8e1f3a90".into(),
        profile: "uk-psti".into(),
        assurance_level: 3,
        assurance_level_name: "firmware analysed".into(),
        verdicts: [
            ("5.1-1", "PASS", "verified"),
            ("5.2-1", "PASS", "declared"),
            ("5.3-13", "PASS", "declared"),
        ]
        .iter()
        .map(|(p, v, b)| ProvisionVerdict {
            provision: (*p).into(),
            verdict: (*v).into(),
            basis: (*b).into(),
        })
        .collect(),
        report_digest: Digest {
            sha256: sha256_hex(b"{}"),
        },
        tool_version: "0.1.0".into(),
        issued_at: "2026-12-04T09:00:00.000000Z".into(),
        valid_from: "2026-12-04T09:00:00.000000Z".into(),
        valid_until: "2027-12-04T09:00:00.000000Z".into(),
        support_period_end: Some("2031-12-31".into()),
        issuer: Issuer {
            name: "iotassure trust center".into(),
            lab: "Test Lab".into(),
            key_id: k.key_id(),
        },
        product: Product {
            maker: "Example Plugs Ltd".into(),
            model: "SP-1 Smart Plug".into(),
            hardware_version: "B2".into(),
            firmware_version: "2.4.1".into(),
        },
    };
    let st = Statement::certification(
        "Example Plugs Ltd/SP-1 Smart Plug@2.4.1",
        &sha256_hex(EXAMPLE_IMAGE),
        &p,
    );
    sign_statement(&st, &k).unwrap()
}

fn docs() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/attestation.md"
    ))
    .unwrap()
}

/// docs/attestation.md shows the example envelope and its public key byte for byte, and they
/// verify. (Print them with `cargo test -p iotassure-attest docs_ -- --nocapture`.)
#[test]
fn docs_example_envelope_is_current_and_verifies() {
    let env = docs_example();
    let pretty = serde_json::to_string_pretty(&env).unwrap();
    let pem = rfc8032_key().public_key().to_pem();
    println!("{pretty}\n{pem}");
    let docs = docs();
    assert!(
        docs.contains(&pretty),
        "docs/attestation.md: the example envelope is not current:\n{pretty}"
    );
    assert!(
        docs.contains(&pem),
        "docs/attestation.md: the example key is not current:\n{pem}"
    );
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("firmware.bin");
    std::fs::write(&img, EXAMPLE_IMAGE).unwrap();
    let v = verify_envelope(
        pretty.as_bytes(),
        &PublicKey::parse_any(&pem).unwrap(),
        Some(&img),
        None,
    )
    .unwrap()
    .unwrap();
    assert_eq!(v.key_id, "ed25519:21fe31dfa154a261");
}

/// python3 with `cryptography`, or why not. Under CI=true its absence is a failure, not a skip.
fn python_with_cryptography() -> bool {
    let have = Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 with `cryptography` is needed under CI=true (.ci/setup.d/python.sh: \
             python3 -m pip install \"cryptography>=41\")"
        );
        eprintln!("note: python3 with `cryptography` not found; independent verifier skipped");
    }
    have
}

/// The Python in docs/attestation.md, run as printed on the example's files.
#[test]
fn the_python_in_the_docs_verifies_the_example() {
    if !python_with_cryptography() {
        return;
    }
    let docs = docs();
    let start = docs.find("```python\n").expect("a ```python block") + "```python\n".len();
    let script = &docs[start..start + docs[start..].find("```").unwrap()];
    assert!(script.lines().count() <= 15, "the docs promise 15 lines");
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, b: &[u8]| std::fs::write(dir.path().join(name), b).unwrap();
    write(
        "att.json",
        serde_json::to_string_pretty(&docs_example())
            .unwrap()
            .as_bytes(),
    );
    write(
        "trustcenter.pub.pem",
        rfc8032_key().public_key().to_pem().as_bytes(),
    );
    write("firmware.bin", EXAMPLE_IMAGE);
    let run = |dir: &Path| {
        Command::new("python3")
            .args(["-c", script])
            .current_dir(dir)
            .output()
            .unwrap()
    };
    let o = run(dir.path());
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("valid: uk-psti"));
    write("firmware.bin", b"another image");
    assert!(!run(dir.path()).status.success());
}
