//! Flattened device trees (`D0 0D FE ED`): plain DTBs and U-Boot FIT images. The structure block
//! is parsed into nodes and properties (depth, node count and sizes bounded). A FIT image has an
//! `/images` node: each image's data (inline `data`, or external `data-offset`/`data-position`
//! with `data-size`) is decompressed as its `compression` says and becomes a blob. Hash and
//! signature nodes are reported: a `signature` node under `/configurations/*` or an image is what
//! a verified-boot chain checks (evidence for provision 5.7-1).

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;
use serde_json::json;

use super::bytes::u32_be;
use super::{
    is_limit_message, payload_reader, stream_to_blob, Anchor, Chunk, Ctx, ExtractError, Extracted,
    Format, Kind, Magic, OutBlob,
};
use crate::sink::sanitize;

pub static FORMAT: Format = Format {
    id: "fdt",
    kind: Kind::Blob,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"\xd0\x0d\xfe\xed",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

const MAX_DEPTH: usize = 32;
const MAX_NODES: usize = 10_000;

#[derive(Debug, Default)]
pub struct Node<'a> {
    pub name: String,
    pub props: Vec<(String, &'a [u8])>,
    pub children: Vec<Node<'a>>,
}

impl<'a> Node<'a> {
    pub fn prop(&self, name: &str) -> Option<&'a [u8]> {
        self.props.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
    pub fn str(&self, name: &str) -> Option<String> {
        let v = self.prop(name)?;
        let v = v.strip_suffix(&[0]).unwrap_or(v);
        Some(String::from_utf8_lossy(v).replace('\0', ","))
    }
    pub fn u32(&self, name: &str) -> Option<u32> {
        let v = self.prop(name)?;
        match v.len() {
            4 => u32_be(v, 0),
            8 => u32_be(v, 4), // a 64-bit cell pair: the low word
            _ => None,
        }
    }
    pub fn child(&self, name: &str) -> Option<&Node<'a>> {
        self.children.iter().find(|c| c.name == name)
    }
}

pub struct Fdt<'a> {
    pub root: Node<'a>,
    pub total: usize,
}

/// Parses the tree at `s`; `None` when the header or structure is not a device tree.
pub fn parse(d: &[u8], s: usize) -> Option<Fdt<'_>> {
    let total = u32_be(d, s + 4)? as usize;
    let off_struct = u32_be(d, s + 8)? as usize;
    let off_strings = u32_be(d, s + 12)? as usize;
    let version = u32_be(d, s + 20)?;
    let last_comp = u32_be(d, s + 24)?;
    let size_strings = u32_be(d, s + 32)? as usize;
    if !(16..=17).contains(&version) || last_comp > 17 || total < 40 || s + total > d.len() {
        return None;
    }
    if off_struct >= total || off_strings > total || off_strings + size_strings > total {
        return None;
    }
    let blob = &d[s..s + total];
    let strings = &blob[off_strings..off_strings + size_strings];
    let mut p = off_struct;
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    let mut nodes = 0;
    loop {
        let tok = u32_be(blob, p)?;
        p += 4;
        match tok {
            1 => {
                let rest = blob.get(p..)?;
                let len = rest.iter().position(|&b| b == 0)?;
                let name = String::from_utf8_lossy(&rest[..len]).to_string();
                p += (len + 1).div_ceil(4) * 4;
                nodes += 1;
                if stack.len() >= MAX_DEPTH || nodes > MAX_NODES {
                    return None;
                }
                stack.push(Node {
                    name,
                    ..Node::default()
                });
            }
            2 => {
                let n = stack.pop()?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(n),
                    None => root = Some(n),
                }
            }
            3 => {
                let len = u32_be(blob, p)? as usize;
                let nameoff = u32_be(blob, p + 4)? as usize;
                let value = blob.get(p + 8..(p + 8).checked_add(len)?)?;
                p += 8 + len.div_ceil(4) * 4;
                let name_rest = strings.get(nameoff..)?;
                let name_len = name_rest.iter().position(|&b| b == 0)?;
                let name = String::from_utf8_lossy(&name_rest[..name_len]).to_string();
                stack.last_mut()?.props.push((name, value));
            }
            4 => {}
            9 => break,
            _ => return None,
        }
    }
    Some(Fdt { root: root?, total })
}

struct FitImage<'a> {
    name: String,
    kind: String,
    compression: String,
    arch: String,
    os: String,
    load: Option<u32>,
    entry: Option<u32>,
    data: Option<&'a [u8]>,
    hashes: Vec<String>,
    signed: bool,
}

/// The images of a FIT, with their data located (inline or after the tree).
fn fit_images<'a>(d: &'a [u8], s: usize, fdt: &Fdt<'a>) -> Vec<FitImage<'a>> {
    let Some(images) = fdt.root.child("images") else {
        return Vec::new();
    };
    let external_base = s + fdt.total.div_ceil(4) * 4;
    images
        .children
        .iter()
        .map(|n| {
            let size = n.u32("data-size").map(|v| v as usize);
            let data = n.prop("data").or_else(|| {
                let size = size?;
                let at = match (n.u32("data-offset"), n.u32("data-position")) {
                    (Some(o), _) => external_base + o as usize,
                    (None, Some(p)) => s + p as usize,
                    _ => return None,
                };
                d.get(at..at.checked_add(size)?)
            });
            let sub = |prefix: &str| {
                n.children
                    .iter()
                    .filter(|c| c.name.starts_with(prefix))
                    .map(|c| c.str("algo").unwrap_or_default())
                    .collect::<Vec<_>>()
            };
            FitImage {
                name: n.name.clone(),
                kind: n.str("type").unwrap_or_default(),
                compression: n.str("compression").unwrap_or_else(|| "none".into()),
                arch: n.str("arch").unwrap_or_default(),
                os: n.str("os").unwrap_or_default(),
                load: n.u32("load"),
                entry: n.u32("entry"),
                data,
                hashes: sub("hash"),
                signed: !sub("signature").is_empty(),
            }
        })
        .collect()
}

/// Signature nodes anywhere under /images and /configurations: (path, algo, key hint).
fn signatures(fdt: &Fdt<'_>) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for top in ["images", "configurations"] {
        let Some(t) = fdt.root.child(top) else {
            continue;
        };
        for n in &t.children {
            for c in n
                .children
                .iter()
                .filter(|c| c.name.starts_with("signature"))
            {
                out.push(json!({
                    "node": format!("/{top}/{}/{}", n.name, c.name),
                    "algo": c.str("algo").unwrap_or_default(),
                    "key_name_hint": c.str("key-name-hint").unwrap_or_default(),
                    "signed_images": c.str("sign-images").unwrap_or_default(),
                    "has_value": c.prop("value").is_some_and(|v| !v.is_empty()),
                }));
            }
        }
    }
    out
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let fdt = parse(d, s)?;
    let images = fit_images(d, s, &fdt);
    let end = images
        .iter()
        .filter_map(|i| i.data)
        .map(|data| data.as_ptr() as usize - d.as_ptr() as usize + data.len())
        .max()
        .unwrap_or(0)
        .max(s + fdt.total);
    if fdt.root.child("images").is_none() {
        let model = fdt.root.str("model").or_else(|| fdt.root.str("compatible"));
        return Some(
            Chunk::new(FORMAT.id, "dtb", s)
                .size(fdt.total)
                .describe(format!(
                    "Flattened device tree, size: {} bytes{}",
                    fdt.total,
                    model
                        .map(|m| format!(", model: \"{m}\""))
                        .unwrap_or_default()
                ))
                .confidence(Confidence::High),
        );
    }
    let sigs = signatures(&fdt);
    let conf = fdt.root.child("configurations");
    let default = conf.and_then(|c| c.str("default")).unwrap_or_default();
    let list = images
        .iter()
        .map(|i| {
            format!(
                "{} ({}, {}, {} bytes{}{})",
                i.name,
                i.kind,
                i.compression,
                i.data.map_or(0, |x| x.len()),
                if i.hashes.is_empty() {
                    String::new()
                } else {
                    format!(", hash {}", i.hashes.join("/"))
                },
                if i.signed { ", signed" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let sig_text = if sigs.is_empty() {
        "no signature nodes (hashes only: integrity, not authenticity)".to_string()
    } else {
        format!(
            "{} signature node(s): {}",
            sigs.len(),
            sigs.iter()
                .map(|s| format!(
                    "{} {} key \"{}\"",
                    s["node"].as_str().unwrap_or(""),
                    s["algo"].as_str().unwrap_or(""),
                    s["key_name_hint"].as_str().unwrap_or("")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let desc = fdt.root.str("description").unwrap_or_default();
    let facts_images: Vec<serde_json::Value> = images
        .iter()
        .map(|i| json!({
            "name": i.name, "type": i.kind, "compression": i.compression, "arch": i.arch, "os": i.os,
            "load": i.load, "entry": i.entry, "size": i.data.map_or(0, |x| x.len()),
            "hashes": i.hashes, "signed": i.signed,
        }))
        .collect();
    Some(
        Chunk::new(FORMAT.id, "fit", s)
            .size(end - s)
            .describe(format!(
                "U-Boot FIT image \"{desc}\", {} image(s): {list}; default configuration: \"{default}\"; {sig_text}",
                images.len()
            ))
            .confidence(Confidence::High)
            .fact("images", facts_images)
            .fact("signatures", sigs.clone())
            .fact("signed", !sigs.is_empty()),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let fdt =
        parse(d, chunk.offset).ok_or_else(|| ExtractError::Bad("tree no longer parses".into()))?;
    let images = fit_images(d, chunk.offset, &fdt);
    let mut blobs = Vec::new();
    for img in &images {
        let Some(data) = img.data else {
            ctx.problem(format!(
                "image {}: data missing or outside the file",
                img.name
            ));
            continue;
        };
        let name = match sanitize(&img.name, false) {
            Ok(n) if !n.is_empty() && !n.contains('/') => format!("{n}.bin"),
            _ => format!("image{}.bin", blobs.len()),
        };
        let mut r = match payload_reader(&img.compression, data, ctx.sink.limits.max_decoder_memory)
        {
            Ok(r) => r,
            Err(e) => {
                ctx.problem(format!("image {}: {e}; stored as is", img.name));
                Box::new(data)
            }
        };
        let path = match stream_to_blob(ctx, &name, &mut r) {
            Ok((p, _)) => p,
            Err(ExtractError::Bad(m)) if !is_limit_message(&m) => {
                ctx.problem(format!("image {}: {m}", img.name));
                ctx.blob_path(&name)
            }
            Err(e) => return Err(e),
        };
        blobs.push(OutBlob {
            path,
            kind: if img.kind == "kernel" && img.os.eq_ignore_ascii_case("linux") {
                BlobKind::Kernel
            } else {
                BlobKind::Raw
            },
            base_address: img.load.map(u64::from),
        });
    }
    Ok(Extracted {
        consumed: chunk.size.unwrap_or(fdt.total),
        note: if images.is_empty() {
            String::new()
        } else {
            format!("{} image(s) written", blobs.len())
        },
        blobs,
        facts: Default::default(),
    })
}
