//! Frames out of a capture file: classic pcap (micro- and nanosecond, either byte order) and
//! pcapng (every section and interface, with each interface's timestamp resolution). The framing
//! is pcap-file's; the buffering is ours, so every error names the byte offset, one record can
//! never claim more than `MAX_RECORD` bytes of memory, and the number of frames is bounded.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::PcapError;

/// The largest record (packet or block) accepted: far above any real link's frame.
pub const MAX_RECORD: usize = 4 << 20;
const CHUNK: usize = 1 << 20;

/// One captured frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based, as Wireshark and tcpdump number them.
    pub number: u64,
    /// Seconds since the epoch.
    pub ts: f64,
    /// LINKTYPE_* of the interface it was captured on.
    pub linktype: u32,
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReadSummary {
    pub format: String,
    pub frames: u64,
    pub bytes: u64,
    /// Set when the frame limit cut the capture short.
    pub truncated_at_frame: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: not a pcap or pcapng capture (first bytes {magic})")]
    NotACapture { file: String, magic: String },
    #[error("{file} @0x{offset:x}: {what}")]
    Bad {
        file: String,
        offset: u64,
        what: String,
    },
}

/// A file read in chunks; `buf[start..]` is what the parser has not consumed yet.
struct Chunks {
    file: File,
    buf: Vec<u8>,
    start: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl Chunks {
    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Reads more; false at the end of the file.
    fn more(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.base += self.start as u64;
            self.start = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        let n = self.file.read(&mut self.buf[old..])?;
        self.buf.truncate(old + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }
}

/// Calls `f` for each frame, in file order, stopping after `max_frames`.
pub fn frames(
    path: &Path,
    max_frames: u64,
    mut f: impl FnMut(Frame<'_>),
) -> Result<ReadSummary, ReadError> {
    let file_name = path.display().to_string();
    let io = |source| ReadError::Io {
        file: file_name.clone(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let mut c = Chunks {
        file,
        buf: Vec::new(),
        start: 0,
        base: 0,
        eof: false,
    };
    while c.buf.len() < 4 && c.more().map_err(io)? {}
    let magic = c.buf.get(..4).unwrap_or(&c.buf).to_vec();
    let bad = |offset: u64, what: String| ReadError::Bad {
        file: file_name.clone(),
        offset,
        what,
    };
    let mut sum = ReadSummary::default();
    match magic.as_slice() {
        [0xa1, 0xb2, 0xc3, 0xd4]
        | [0xd4, 0xc3, 0xb2, 0xa1]
        | [0xa1, 0xb2, 0x3c, 0x4d]
        | [0x4d, 0x3c, 0xb2, 0xa1] => {
            sum.format = "pcap".into();
            let parser = loop {
                let len = c.buf.len();
                let r = PcapParser::new(c.pending()).map(|(rem, p)| (len - rem.len(), p));
                match r {
                    Ok((start, p)) => {
                        c.start = start;
                        break p;
                    }
                    Err(PcapError::IncompleteBuffer) if c.more().map_err(io)? => continue,
                    Err(e) => return Err(bad(0, format!("pcap header: {e}"))),
                }
            };
            let header = parser.header();
            let linktype = u32::from(header.datalink);
            let nanos = header.ts_resolution == pcap_file::TsResolution::NanoSecond;
            loop {
                if sum.frames >= max_frames {
                    sum.truncated_at_frame = Some(sum.frames);
                    break;
                }
                let at = c.offset();
                let step = parser.next_raw_packet(c.pending());
                match step {
                    Ok((rem, p)) => {
                        let used = c.pending().len() - rem.len();
                        sum.frames += 1;
                        sum.bytes += p.data.len() as u64;
                        let frac = if nanos {
                            f64::from(p.ts_frac) / 1e9
                        } else {
                            f64::from(p.ts_frac) / 1e6
                        };
                        f(Frame {
                            number: sum.frames,
                            ts: f64::from(p.ts_sec) + frac,
                            linktype,
                            data: &p.data,
                        });
                        c.start += used;
                    }
                    Err(PcapError::IncompleteBuffer) => {
                        let pending = c.pending().len();
                        if pending >= 16 {
                            let incl = incl_len(c.pending(), &magic);
                            if incl > MAX_RECORD {
                                return Err(bad(at, format!("packet {} claims {incl} captured bytes (limit {MAX_RECORD})", sum.frames + 1)));
                            }
                        }
                        if !c.more().map_err(io)? {
                            if pending == 0 {
                                break;
                            }
                            return Err(bad(at, format!("the capture ends inside packet {} ({pending} bytes left over): truncated file", sum.frames + 1)));
                        }
                    }
                    Err(e) => return Err(bad(at, format!("packet {}: {e}", sum.frames + 1))),
                }
            }
        }
        [0x0a, 0x0d, 0x0d, 0x0a] => {
            sum.format = "pcapng".into();
            let mut parser = loop {
                let len = c.buf.len();
                let r = PcapNgParser::new(c.pending()).map(|(rem, p)| (len - rem.len(), p));
                match r {
                    Ok((start, p)) => {
                        c.start = start;
                        break p;
                    }
                    Err(PcapError::IncompleteBuffer)
                        if c.buf.len() < MAX_RECORD && c.more().map_err(io)? =>
                    {
                        continue
                    }
                    Err(e) => return Err(bad(0, format!("section header block: {e}"))),
                }
            };
            loop {
                if sum.frames >= max_frames {
                    sum.truncated_at_frame = Some(sum.frames);
                    break;
                }
                let at = c.offset();
                let pending_len = c.pending().len();
                // Interfaces as they stand before this block (an IDB inside it updates them).
                let step = parser.next_block(c.buf.get(c.start..).unwrap_or(&[]));
                match step {
                    Ok((rem, block)) => {
                        let used = pending_len - rem.len();
                        let packet = match &block {
                            Block::EnhancedPacket(p) => {
                                Some((Some(p.interface_id), Some(p.timestamp), p.data.as_ref()))
                            }
                            Block::SimplePacket(p) => Some((Some(0), None, p.data.as_ref())),
                            Block::Packet(p) => Some((
                                Some(u32::from(p.interface_id)),
                                Some(std::time::Duration::from_nanos(p.timestamp)),
                                p.data.as_ref(),
                            )),
                            _ => None,
                        };
                        if let Some((iface, raw_ts, data)) = packet {
                            let (linktype, resol) = iface
                                .and_then(|i| parser.interfaces().get(i as usize))
                                .map(|idb| {
                                    let resol = idb.options.iter().find_map(|o| match o {
                                        InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
                                        _ => None,
                                    });
                                    (u32::from(idb.linktype), resol.unwrap_or(6))
                                })
                                .ok_or_else(|| {
                                    bad(at, format!("packet {} names interface {} that no interface description block declared", sum.frames + 1, iface.unwrap_or(0)))
                                })?;
                            sum.frames += 1;
                            sum.bytes += data.len() as u64;
                            f(Frame {
                                number: sum.frames,
                                ts: raw_ts.map(|d| ng_seconds(d, resol)).unwrap_or(0.0),
                                linktype,
                                data,
                            });
                        }
                        c.start += used;
                    }
                    Err(PcapError::IncompleteBuffer) => {
                        if pending_len >= 8 {
                            let claimed = block_len(c.pending());
                            if claimed > MAX_RECORD {
                                return Err(bad(
                                    at,
                                    format!("block claims {claimed} bytes (limit {MAX_RECORD})"),
                                ));
                            }
                        }
                        if !c.more().map_err(io)? {
                            if pending_len == 0 {
                                break;
                            }
                            return Err(bad(at, format!("the capture ends inside a block ({pending_len} bytes left over): truncated file")));
                        }
                    }
                    Err(e) => {
                        return Err(bad(at, format!("block after frame {}: {e}", sum.frames)))
                    }
                }
            }
        }
        _ => {
            return Err(ReadError::NotACapture {
                file: file_name.clone(),
                magic: magic.iter().map(|b| format!("{b:02x}")).collect(),
            })
        }
    }
    Ok(sum)
}

/// The captured length of a classic pcap record header, in the file's byte order.
fn incl_len(h: &[u8], magic: &[u8]) -> usize {
    let b = [h[8], h[9], h[10], h[11]];
    let little = matches!(magic, [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1]);
    (if little {
        u32::from_le_bytes(b)
    } else {
        u32::from_be_bytes(b)
    }) as usize
}

/// The larger reading of a pcapng block's length (the byte order is the section's; either
/// reading above the limit is refused only if both are, so take the smaller).
fn block_len(h: &[u8]) -> usize {
    let b = [h[4], h[5], h[6], h[7]];
    u32::from_le_bytes(b).min(u32::from_be_bytes(b)) as usize
}

/// pcap-file hands pcapng timestamps over as if they were nanoseconds; the unit is the
/// interface's `if_tsresol` (10^-6 s unless stated; a set top bit means a power of two).
fn ng_seconds(raw: std::time::Duration, resol: u8) -> f64 {
    let ticks = raw.as_nanos() as f64;
    if resol & 0x80 != 0 {
        ticks / 2f64.powi(i32::from(resol & 0x7f))
    } else {
        ticks / 10f64.powi(i32::from(resol.min(18)))
    }
}
