//! `iotassure attest verify`: check a signed attestation offline, with nothing but the trust
//! center's public key (and, optionally, the image).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use iotassure_attest::{verify_envelope, PublicKey};

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Verify a DSSE envelope (a certificate's attestation, or an admission VSA).
    #[command(
        after_help = "Checks the Ed25519 signature over the DSSE pre-authentication encoding with the given key(s), that the payload is an in-toto Statement v1, with --image that the image's SHA-256 is one of its subjects, and with --check-validity that a certificate's validUntil has not passed. A signature with a keyid is tried only with the key of that id.\n\nExit status: 0 valid; 1 invalid (the reason is printed); 2 error (unreadable file, malformed envelope or key).\n\nExamples:\n  iotassure tc keys --out keys.json && iotassure tc attestation CERT --out att.json\n  iotassure attest verify att.json --key keys.json --image firmware.bin\n  iotassure attest verify vsa.json --key trustcenter.pub.pem --json"
    )]
    Verify {
        /// The envelope (JSON).
        envelope: PathBuf,
        /// A public key: PEM (`-----BEGIN PUBLIC KEY-----`), or the JSON of `GET /api/v1/keys`
        /// (every key in it is tried). Repeatable.
        #[arg(long, required = true)]
        key: Vec<PathBuf>,
        /// The firmware image: its SHA-256 must be a subject of the statement.
        #[arg(long)]
        image: Option<PathBuf>,
        /// Also refuse an attestation whose validUntil has passed.
        #[arg(long = "check-validity")]
        check_validity: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: Command) -> Result<u8> {
    let Command::Verify {
        envelope,
        key,
        image,
        check_validity,
        json,
    } = cmd;
    let mut keys = Vec::new();
    for k in &key {
        keys.extend(PublicKey::read_any(k)?);
    }
    let meta =
        std::fs::metadata(&envelope).with_context(|| format!("reading {}", envelope.display()))?;
    if meta.len() > 64 << 20 {
        bail!(
            "{}: larger than 64 MiB; not an attestation",
            envelope.display()
        );
    }
    let bytes =
        std::fs::read(&envelope).with_context(|| format!("reading {}", envelope.display()))?;
    let now = check_validity.then(iotassure_trustcenter::util::now);
    let result = verify_envelope(&bytes, &keys, image.as_deref(), now.as_deref())
        .with_context(|| envelope.display().to_string())?;
    match result {
        Ok(v) => {
            let subjects: Vec<String> = v
                .statement
                .subject
                .iter()
                .map(|s| format!("{} sha256:{}", s.name, s.digest.sha256))
                .collect();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"valid": true, "keyid": v.key_id, "predicateType": v.statement.predicate_type,
                        "subjects": subjects, "image_sha256": v.image_sha256, "predicate": v.statement.predicate})
                );
            } else {
                println!(
                    "valid: signed by {} — {}",
                    v.key_id, v.statement.predicate_type
                );
                for s in &subjects {
                    println!("  subject {s}");
                }
                if let Some(h) = &v.image_sha256 {
                    println!("  the image's SHA-256 {h} matches");
                }
                for f in [
                    "profile",
                    "assuranceLevel",
                    "validUntil",
                    "verificationResult",
                ] {
                    if let Some(x) = v.statement.predicate.get(f) {
                        println!("  {f}: {x}");
                    }
                }
            }
            Ok(crate::EXIT_PASS)
        }
        Err(why) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"valid": false, "reason": why.to_string()})
                );
            } else {
                println!("INVALID: {why}");
            }
            Ok(crate::EXIT_NOT_PASSED)
        }
    }
}
