//! QR codes for label pages, as printed on a box (the US Cyber Trust Mark and Singapore CLS
//! labels link to the registry this way): SVG and PNG, both encoding the page's absolute URL.

use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use qrcode::{Color, EcLevel, QrCode};

use super::{Fail, PageResult, St};
use crate::problem::Problem;
use crate::server::AppState;

/// The label page's absolute URL: from `Config::public_url`, else (only when configured to) from
/// the request's Host header.
pub fn label_url(st: &AppState, headers: &HeaderMap, id: &str) -> Result<String, Problem> {
    if let Some(base) = &st.config.public_url {
        return Ok(format!("{}/registry/{id}", base.trim_end_matches('/')));
    }
    if st.config.public_url_from_host {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.len() <= 255
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .ok_or_else(|| Problem::bad_request("no usable Host header"))?;
        let scheme = if super::session::is_https(headers, st) {
            "https"
        } else {
            "http"
        };
        return Ok(format!("{scheme}://{host}/registry/{id}"));
    }
    Err(Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "no-public-url",
        "No public URL",
        "this trust center has no public URL configured (Config::public_url), so it cannot print an absolute link",
    ))
}

/// Medium error correction: a label survives a scuff or a printer's smudge.
fn code(url: &str) -> Result<QrCode, Problem> {
    QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(|e| Problem::internal(format!("QR code: {e}")))
}

async fn url_for(st: &St, headers: &HeaderMap, id: &str) -> Result<String, Fail> {
    // Only existing certificates get a code (and the id is checked before it is printed).
    crate::certify::envelope(st, id).await?;
    Ok(label_url(st, headers, id)?)
}

pub async fn svg(st: St, Path(id): Path<String>, headers: HeaderMap) -> PageResult {
    let url = url_for(&st, &headers, &id).await?;
    let image = code(&url)?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .build();
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], image).into_response())
}

/// Pixels per module and the quiet zone (in modules) the QR standard asks for.
const SCALE: usize = 8;
const QUIET: usize = 4;

pub fn png_bytes(url: &str) -> Result<Vec<u8>, Problem> {
    let c = code(url)?;
    let w = c.width();
    let colors = c.to_colors();
    let side = (w + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for y in 0..w {
        for x in 0..w {
            if colors[y * w + x] == Color::Dark {
                for dy in 0..SCALE {
                    let row = ((y + QUIET) * SCALE + dy) * side;
                    let start = row + (x + QUIET) * SCALE;
                    pixels[start..start + SCALE].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut wr = enc
        .write_header()
        .map_err(|e| Problem::internal(format!("PNG: {e}")))?;
    wr.write_image_data(&pixels)
        .map_err(|e| Problem::internal(format!("PNG: {e}")))?;
    wr.finish()
        .map_err(|e| Problem::internal(format!("PNG: {e}")))?;
    Ok(out)
}

pub async fn png(st: St, Path(id): Path<String>, headers: HeaderMap) -> PageResult {
    let url = url_for(&st, &headers, &id).await?;
    let bytes = png_bytes(&url)?;
    Ok(([(header::CONTENT_TYPE, "image/png")], bytes).into_response())
}
