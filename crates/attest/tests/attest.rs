//! DSSE, in-toto and keys: round trips, one-byte changes, wrong keys, image digests, the DSSE
//! spec's PAE example, key rotation and file modes, and an independent verifier in Python.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use iotassure_attest::*;

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
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(image));
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
    for i in (0..payload.len()).step_by(7) {
        let mut p = payload.clone();
        p[i] ^= 0x01;
        let mut e = env.clone();
        use base64::Engine;
        e.payload = base64::engine::general_purpose::STANDARD.encode(&p);
        let r = verify_envelope(&serde_json::to_vec(&e).unwrap(), &keys, None, None).unwrap();
        assert!(
            matches!(r, Err(Invalid::BadSignature(_))),
            "payload byte {i}"
        );
    }
    for i in 0..64 {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut sig = b64.decode(&env.signatures[0].sig).unwrap();
        sig[i] ^= 0x80;
        let mut e = env.clone();
        e.signatures[0].sig = b64.encode(&sig);
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
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let have = Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            !ci,
            "python3 with `cryptography` is needed (.ci/setup.d/python.sh installs it)"
        );
        eprintln!("note: python3 with `cryptography` not found; independent verifier skipped");
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
}
