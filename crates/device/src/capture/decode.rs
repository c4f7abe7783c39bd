//! A frame's headers: link layer by LINKTYPE (Ethernet with VLANs, Linux cooked v1 and v2, raw
//! IP, BSD loopback), then IPv4/IPv6 and TCP/UDP, with etherparse's lax slicing so a frame cut
//! by the snap length still yields its headers.

use std::net::IpAddr;

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};

/// LINKTYPE values this reader understands.
pub const ETHERNET: u32 = 1;
pub const NULL: u32 = 0;
pub const RAW: u32 = 101;
pub const LINUX_SLL: u32 = 113;
pub const LINUX_SLL2: u32 = 276;
pub const IPV4: u32 = 228;
pub const IPV6: u32 = 229;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum L4<'a> {
    Tcp {
        sport: u16,
        dport: u16,
        flags: TcpFlags,
        seq: u32,
        payload: &'a [u8],
    },
    Udp {
        sport: u16,
        dport: u16,
        payload: &'a [u8],
    },
    /// ICMP or anything else over IP (protocol number).
    Other(u8),
}

#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub l4: L4<'a>,
}

/// Decodes one frame; `None` for frames that are not IP (ARP, LLDP …), fragments past the
/// first, or link types not understood.
pub fn decode(linktype: u32, data: &[u8]) -> Option<Packet<'_>> {
    let sliced = match linktype {
        ETHERNET => LaxSlicedPacket::from_ethernet(data).ok()?,
        RAW | IPV4 | IPV6 | 12 | 14 => LaxSlicedPacket::from_ip(data).ok()?,
        LINUX_SLL => {
            // 16-byte header; the protocol (EtherType) is its last two bytes.
            let proto = u16::from_be_bytes([*data.get(14)?, *data.get(15)?]);
            LaxSlicedPacket::from_ether_type(EtherType(proto), data.get(16..)?)
        }
        LINUX_SLL2 => {
            // 20-byte header; the protocol comes first.
            let proto = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
            LaxSlicedPacket::from_ether_type(EtherType(proto), data.get(20..)?)
        }
        NULL => LaxSlicedPacket::from_ip(data.get(4..)?).ok()?,
        _ => return None,
    };
    let (src, dst, proto) = match sliced.net.as_ref()? {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
                h.protocol().0,
            )
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
                v6.payload().ip_number.0,
            )
        }
        LaxNetSlice::Arp(_) => return None,
    };
    let l4 = match sliced.transport {
        Some(TransportSlice::Tcp(t)) => L4::Tcp {
            sport: t.source_port(),
            dport: t.destination_port(),
            flags: TcpFlags {
                syn: t.syn(),
                ack: t.ack(),
                fin: t.fin(),
                rst: t.rst(),
            },
            seq: t.sequence_number(),
            payload: t.payload(),
        },
        Some(TransportSlice::Udp(u)) => L4::Udp {
            sport: u.source_port(),
            dport: u.destination_port(),
            payload: u.payload(),
        },
        _ => L4::Other(proto),
    };
    Some(Packet { src, dst, l4 })
}
