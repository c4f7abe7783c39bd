//! Legacy U-Boot image (`mkimage`): a 64-byte big-endian header (magic 0x27051956, header CRC,
//! time, data size, load address, entry point, data CRC, OS, architecture, type, compression,
//! name). The header CRC must match. The payload is decompressed as the header says and becomes
//! a blob (a kernel for kernel images); multi-file images are split into their parts.

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::bytes::{cstr, u32_be};
use super::{
    is_limit_message, payload_reader, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind,
    Magic, OutBlob,
};
use crate::codec::crc32;

pub static FORMAT: Format = Format {
    id: "uimage",
    kind: Kind::Blob,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"\x27\x05\x19\x56",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

const HEADER: usize = 64;

fn os_name(n: u8) -> &'static str {
    match n {
        1 => "OpenBSD",
        2 => "NetBSD",
        3 => "FreeBSD",
        5 => "Linux",
        6 => "LynxOS",
        7 => "VxWorks",
        11 => "RTEMS",
        17 => "U-Boot",
        22 => "OpenRTOS",
        _ => "other",
    }
}

fn arch_name(n: u8) -> &'static str {
    match n {
        1 => "Alpha",
        2 => "ARM",
        3 => "x86",
        4 => "IA64",
        5 => "MIPS",
        6 => "MIPS64",
        7 => "PowerPC",
        8 => "S390",
        9 => "SuperH",
        10 => "SPARC",
        11 => "SPARC64",
        12 => "M68K",
        15 => "MicroBlaze",
        16 => "Nios-II",
        17 => "Blackfin",
        20 => "NDS32",
        22 => "ARM64",
        24 => "x86_64",
        26 => "RISC-V",
        _ => "other",
    }
}

fn type_name(n: u8) -> &'static str {
    match n {
        1 => "Standalone Program",
        2 => "OS Kernel Image",
        3 => "RAMDisk Image",
        4 => "Multi-File Image",
        5 => "Firmware Image",
        6 => "Script File",
        7 => "Filesystem Image",
        8 => "Flat Device Tree",
        _ => "other",
    }
}

fn compression(n: u8) -> &'static str {
    match n {
        0 => "none",
        1 => "gzip",
        2 => "bzip2",
        3 => "lzma",
        4 => "lzo",
        5 => "lz4",
        6 => "zstd",
        _ => "unknown",
    }
}

struct Header {
    size: usize,
    dcrc: u32,
    load: u32,
    entry: u32,
    time: u32,
    os: u8,
    arch: u8,
    kind: u8,
    comp: u8,
    name: String,
}

fn header(d: &[u8], s: usize) -> Option<Header> {
    let h = d.get(s..s + HEADER)?;
    let hcrc = u32_be(h, 4)?;
    let mut copy = [0u8; HEADER];
    copy.copy_from_slice(h);
    copy[4..8].fill(0);
    if crc32(&copy) != hcrc {
        return None;
    }
    Some(Header {
        time: u32_be(h, 8)?,
        size: u32_be(h, 12)? as usize,
        load: u32_be(h, 16)?,
        entry: u32_be(h, 20)?,
        dcrc: u32_be(h, 24)?,
        os: h[28],
        arch: h[29],
        kind: h[30],
        comp: h[31],
        name: cstr(h, 32, 32),
    })
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let h = header(d, s)?;
    let present = d.len() - s - HEADER;
    let fits = h.size <= present;
    let dcrc_ok = fits && crc32(&d[s + HEADER..s + HEADER + h.size]) == h.dcrc;
    let mut chunk = Chunk::new(FORMAT.id, "uimage", s)
        .describe(format!(
            "uImage header, header size: 64 bytes, header CRC verified, created: {}, image size: {} bytes, data address: 0x{:X}, entry point: 0x{:X}, data CRC: 0x{:08X} ({}), OS: {}, CPU: {}, image type: {}, compression type: {}, image name: \"{}\"",
            super::squashfs4::timestamp(h.time),
            h.size,
            h.load,
            h.entry,
            h.dcrc,
            if dcrc_ok { "verified" } else if fits { "DOES NOT MATCH" } else { "image truncated" },
            os_name(h.os),
            arch_name(h.arch),
            type_name(h.kind),
            compression(h.comp),
            h.name
        ))
        .confidence(if dcrc_ok { Confidence::High } else { Confidence::Low })
        .fact("image_name", h.name.clone())
        .fact("load_address", h.load)
        .fact("entry_point", h.entry)
        .fact("os", os_name(h.os))
        .fact("arch", arch_name(h.arch))
        .fact("image_type", type_name(h.kind))
        .fact("compression", compression(h.comp))
        .fact("data_crc_verified", dcrc_ok)
        .fact("integrity", "CRC32 only (legacy uImage has no signature)");
    if fits {
        chunk = chunk.size(HEADER + h.size);
    }
    Some(chunk)
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let s = chunk.offset;
    let h = header(d, s).ok_or_else(|| ExtractError::Bad("header no longer parses".into()))?;
    let end = (s + HEADER + h.size).min(d.len());
    let payload = &d[s + HEADER..end];
    if end - s - HEADER < h.size {
        ctx.problem(format!(
            "payload truncated: {} of {} bytes present",
            end - s - HEADER,
            h.size
        ));
    }
    // A multi-file image: a zero-terminated list of sizes, then the parts, each 4-aligned.
    let mut parts = Vec::new();
    if h.kind == 4 {
        let mut sizes = Vec::new();
        let mut p = 0;
        while let Some(n) = u32_be(payload, p) {
            p += 4;
            if n == 0 || sizes.len() == 64 {
                break;
            }
            sizes.push(n as usize);
        }
        for n in sizes {
            let part = payload
                .get(p..p + n)
                .unwrap_or(payload.get(p..).unwrap_or(&[]));
            parts.push(part);
            p += n.div_ceil(4) * 4;
        }
    } else {
        parts.push(payload);
    }
    let comp = compression(h.comp);
    let mut blobs = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let name = if parts.len() == 1 {
            "payload.bin".to_string()
        } else {
            format!("part{i}.bin")
        };
        // Parts of a multi-file image are stored as they are: the first is the kernel.
        let how = if h.kind == 4 && i > 0 { "none" } else { comp };
        let mut r = payload_reader(how, part, ctx.sink.limits.max_decoder_memory)
            .map_err(ExtractError::Bad)?;
        let written = super::stream_to_blob(ctx, &name, &mut r);
        let path = match written {
            Ok((p, _)) => p,
            Err(ExtractError::Bad(m)) if !is_limit_message(&m) => {
                ctx.problem(format!("{name}: {m}"));
                ctx.blob_path(&name)
            }
            Err(e) => return Err(e),
        };
        let kind = if h.os == 5 && (h.kind == 2 || (h.kind == 4 && i == 0)) {
            BlobKind::Kernel
        } else {
            BlobKind::Raw
        };
        blobs.push(OutBlob {
            path,
            kind,
            base_address: None,
        });
    }
    Ok(Extracted {
        consumed: end - s,
        note: format!("{} part(s) written ({comp})", blobs.len()),
        blobs,
        facts: Default::default(),
    })
}
