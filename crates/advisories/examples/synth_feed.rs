//! Writes a synthetic CVE JSON 5 corpus of the real one's shape (the cvelistV5 bulk zip:
//! `cves/YEAR/NNxxx/CVE-YEAR-N.json`, one record per file, CNA `affected[]` with vendor, product
//! and version ranges, CPEs on some, descriptions, references, CVSS) for the import and matching
//! benchmark, and a 200-component SBOM (CycloneDX JSON) drawn from the same products.
//! Products follow a skewed distribution, as in the real corpus (a few products, such as the
//! Linux kernel, carry thousands of CVEs).
//!
//! `cargo run --release -p iotassure-advisories --example synth_feed -- OUT_DIR [RECORDS]`

use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().ok_or("usage: synth_feed OUT_DIR [RECORDS]")?);
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(250_000);
    std::fs::create_dir_all(&out)?;
    let products = 40_000usize;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let name = |i: usize| match i {
        0 => ("linux".to_string(), "linux_kernel".to_string()),
        1 => ("openssl".into(), "openssl".into()),
        2 => ("busybox".into(), "busybox".into()),
        3 => ("thekelleys".into(), "dnsmasq".into()),
        4 => ("dropbear_ssh_project".into(), "dropbear_ssh".into()),
        _ => (format!("vendor{}", i % 9_973), format!("product{i}")),
    };
    let zip_path = out.join("cves.zip");
    let mut z = zip::ZipWriter::new(std::io::BufWriter::new(std::fs::File::create(&zip_path)?));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for k in 0..n {
        let year = 1999 + (k % 27);
        let id = format!("CVE-{year}-{}", 10_000 + k);
        // Skewed: a quarter of the records name one of the first 50 products.
        let r = next();
        let p = if r % 4 == 0 {
            (r >> 8) as usize % 50
        } else {
            (r >> 8) as usize % products
        };
        let (vendor, product) = name(p);
        let major = (next() % 6) as u32;
        let minor = (next() % 30) as u32;
        let affected = format!(
            r#"[{{"vendor":"{vendor}","product":"{product}","cpes":["cpe:2.3:a:{vendor}:{product}:*:*:*:*:*:*:*:*"],"versions":[{{"version":"{major}.0","lessThan":"{major}.{minor}.{}","status":"affected","versionType":"custom"}},{{"version":"{}.0","lessThanOrEqual":"{}.{minor}","status":"affected","versionType":"custom"}}],"defaultStatus":"unaffected"}}]"#,
            next() % 20,
            major + 1,
            major + 1
        );
        let doc = format!(
            r#"{{"dataType":"CVE_RECORD","dataVersion":"5.1","cveMetadata":{{"cveId":"{id}","assignerOrgId":"8254265b-2729-46b6-b9e3-3dfca2d5bfca","assignerShortName":"mitre","state":"PUBLISHED","dateReserved":"{year}-01-02T00:00:00","datePublished":"{year}-03-04T00:00:00","dateUpdated":"2025-{:02}-{:02}T12:00:00.000Z"}},"containers":{{"cna":{{"providerMetadata":{{"orgId":"8254265b-2729-46b6-b9e3-3dfca2d5bfca","shortName":"mitre","dateUpdated":"{year}-03-04T00:00:00"}},"title":"Synthetic issue {k} in {product}","descriptions":[{{"lang":"en","value":"A synthetic record of the CVE JSON 5 shape: a buffer overflow in the {product} request parser of {vendor} allows a remote attacker to execute code or crash the service via a crafted request. This text is as long as a typical description so the import reads realistic volumes."}}],"affected":{affected},"problemTypes":[{{"descriptions":[{{"type":"CWE","lang":"en","cweId":"CWE-787","description":"CWE-787 Out-of-bounds Write"}}]}}],"references":[{{"url":"https://example.invalid/advisories/{id}"}},{{"url":"https://example.invalid/patch/{k}","tags":["patch"]}},{{"url":"https://example.invalid/list/{k}","tags":["mailing-list"]}}],"metrics":[{{"format":"CVSS","scenarios":[{{"lang":"en","value":"GENERAL"}}],"cvssV3_1":{{"version":"3.1","baseScore":{}.{},"baseSeverity":"HIGH","vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}}}]}},"adp":[{{"title":"CVE Program Container","providerMetadata":{{"orgId":"af854a3a-2127-422b-91ae-364da2661108","shortName":"CVE","dateUpdated":"2024-08-01T00:00:00.000Z"}},"references":[{{"url":"https://example.invalid/advisories/{id}","tags":["x_transferred"]}}]}}]}}}}"#,
            1 + next() % 12,
            1 + next() % 28,
            4 + next() % 6,
            next() % 10
        );
        z.start_file(
            format!("cves/{year}/{}xxx/{id}.json", (10_000 + k) / 1000),
            opts,
        )?;
        z.write_all(doc.as_bytes())?;
    }
    z.finish()?;
    // 200 components: the five real ones, then products with records.
    let mut comps = Vec::new();
    for i in 0..200 {
        let (vendor, product) = name(if i < 5 { i } else { (i * 197) % products });
        comps.push(format!(
            r#"{{"type":"application","name":"{product}","version":"{}.{}.{}","cpe":"cpe:2.3:a:{vendor}:{product}:*:*:*:*:*:*:*:*"}}"#,
            1 + i % 4,
            i % 25,
            i % 7
        ));
    }
    std::fs::write(
        out.join("sbom.cdx.json"),
        format!(
            r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{}]}}"#,
            comps.join(",")
        ),
    )?;
    println!(
        "{} ({} records), {}",
        zip_path.display(),
        n,
        out.join("sbom.cdx.json").display()
    );
    Ok(())
}
