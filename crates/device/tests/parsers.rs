//! Replies come from the device under test, which may be hostile: every parser of a reply must
//! survive arbitrary bytes. Random inputs and mutations of valid replies, from a fixed seed.

use iotassure_device::services::{coap, http, mdns, mqtt, snmp, ssh_id, telnet, tftp, upnp};
use iotassure_device::text;
use iotassure_device::tls::{cert, flight};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.next() as usize) % (max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }

    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut v = seed.to_vec();
        for _ in 0..1 + self.next() % 8 {
            if v.is_empty() {
                break;
            }
            let i = (self.next() as usize) % v.len();
            match self.next() % 4 {
                0 => v[i] = self.next() as u8,
                1 => v.truncate(i),
                2 => v.insert(i, self.next() as u8),
                _ => {
                    v[i] = [0x00, 0xff, 0x7f, 0x80, b'\r', b'\n', b':', b'<']
                        [(self.next() % 8) as usize]
                }
            }
        }
        v
    }
}

fn all_parsers(b: &[u8]) {
    let s = String::from_utf8_lossy(b);
    let _ = http::parse(b);
    let _ = http::complete(b);
    let _ = http::login_form(&s, "/a/b");
    for t in http::tags(&s, "input") {
        let _ = http::attr(&t, "name");
    }
    let _ = http::param(&s, "realm");
    let _ = http::digest_auth(&s, "GET", "/", "u", "p", "c");
    let _ = telnet::strip_iac(b);
    let _ = telnet::prompt_of(&s);
    let _ = ssh_id::packet(b).and_then(|(p, _)| ssh_id::parse_kexinit(p));
    let _ = ssh_id::parse_kexinit(b);
    let _ = ssh_id::split_ident(b);
    for (t, body) in mqtt::packets(b) {
        let _ = mqtt::parse_publish(t, body);
    }
    let _ = mqtt::connack(b);
    let _ = snmp::parse_response(b);
    let _ = coap::parse(b);
    let _ = mdns::ptr_answers(b);
    let _ = tftp::describe(b);
    let f = flight::parse(b);
    let _ = f.accepted();
    let _ = flight::dh_prime_bits(b);
    let _ = flight::ecdhe_curve(b);
    let _ = cert::parse(b);
    let _ = upnp::headers(b);
    let _ = upnp::split_url(&s);
    let _ = upnp::tag(&s, "modelName");
    let _ = upnp::parse_description(&s);
    let _ = text::find_version(&s);
    let _ = text::line(b, 40);
}

#[test]
fn parsers_survive_random_bytes() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let b = r.bytes(300);
        all_parsers(&b);
    }
}

#[test]
fn parsers_survive_mutated_replies() {
    let seeds: Vec<Vec<u8>> = vec![
        b"HTTP/1.1 401 Unauthorized\r\nServer: x/1.2\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth\"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<titl\r\n0\r\n\r\n".to_vec(),
        b"<form action=x method=post><input type=hidden name=t value='1'><input name=u><input type=password name=p></form>".to_vec(),
        vec![0xff, 0xfd, 0x01, 0xff, 0xfa, 0x18, 0x01, 0xff, 0xf0, b'l', b'o', b'g', b'i', b'n', b':', b' '],
        b"SSH-2.0-dropbear_2022.83\r\n\x00\x00\x00\x1c\x04\x14AAAAAAAAAAAAAAAA\x00\x00\x00\x01a\x00\x00\x00\x00".to_vec(),
        vec![0x30, 0x05, 0x00, 0x03, b'a', b'/', b'b', 0x20, 0x02, 0x00, 0x00, 0x90, 0x03, 0x00, 0x01, 0x00],
        vec![0x30, 0x1c, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa2, 0x0f, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x04, 0x30, 0x02, 0x06, 0x00],
        vec![0x60, 0x45, 0x12, 0x34, 0xd1, 0x0e, 0x28, 0xff, b'<', b'/', b'a', b'>'],
        vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 9, b'_', b's', b'e', b'r', b'v', b'i', b'c', b'e', b's', 0xc0, 0x0c, 0, 12, 0, 1],
        vec![0x16, 3, 1, 0, 42, 2, 0, 0, 38, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x2f, 0, 14, 0, 0, 0],
        b"<root><device><modelName>X</modelName><serviceList><service><serviceType>urn:x:service:WANIPConnection:1</serviceType><controlURL>/c</controlURL></service></serviceList></device></root>".to_vec(),
    ];
    let mut r = Rng(42);
    for _ in 0..3_000 {
        for s in &seeds {
            let m = r.mutate(s);
            all_parsers(&m);
        }
    }
}
