//! `assess --track-record FILE|URL`: the maker's record at a trust center's disclosure desk,
//! read from a file or fetched from the trust center the user names (and only that host).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use iotassure_documents::track_record::{self, TrackRecord};

/// Reads or fetches the record; returns it with the origin the report cites.
pub fn load(src: &str, maker: Option<&str>) -> Result<(TrackRecord, String)> {
    if src.starts_with("http://") || src.starts_with("https://") {
        let Some(maker) = maker.filter(|m| !m.trim().is_empty()) else {
            bail!("--track-record {src}: a trust center URL needs --ics STATEMENT naming the product's manufacturer (or give a file from `iotassure tc track-record`)");
        };
        let url = format!(
            "{}/api/v1/orgs/{}/track-record",
            src.trim_end_matches('/'),
            super::tc::enc(maker)
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let mut resp = agent
            .get(&url)
            .call()
            .with_context(|| format!("--track-record: GET {url}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .with_context(|| format!("--track-record: reading {url}"))?;
        if status != 200 {
            bail!(
                "--track-record: {url} answered {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
        let r = track_record::parse(&body, &url).map_err(anyhow::Error::msg)?;
        Ok((r, url))
    } else {
        let bytes = std::fs::read(src).with_context(|| format!("--track-record {src}"))?;
        let r = track_record::parse(&bytes, src).map_err(anyhow::Error::msg)?;
        Ok((r, src.to_string()))
    }
}
