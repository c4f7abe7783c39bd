//! Small text helpers shared by the protocol modules.

/// Bytes as one printable line (control characters dropped, runs of space collapsed), cut to `max`.
pub fn line(b: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(b);
    let mut out = String::new();
    let mut space = false;
    for c in s.chars() {
        if c.is_control() || c.is_whitespace() {
            if !space && !out.is_empty() {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
        if out.len() >= max {
            out.push('…');
            break;
        }
    }
    out.trim_end().to_string()
}

/// A software version in free text: `lighttpd/1.4.69`, `dropbear_2022.83`, `mosquitto version
/// 2.0.11`, `Linux/6.1.0-18-amd64`. Returns the token that carries it.
pub fn find_version(s: &str) -> Option<String> {
    let tokens: Vec<&str> = s
        .split(|c: char| {
            c.is_whitespace() || c == '(' || c == ')' || c == ',' || c == ';' || c == '"'
        })
        .filter(|t| !t.is_empty())
        .collect();
    for (i, t) in tokens.iter().enumerate() {
        let digits_dot = {
            let b = t.as_bytes();
            b.windows(3)
                .any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit())
        };
        if !digits_dot {
            continue;
        }
        // Dates, addresses and plain numbers are not versions.
        if t.chars().filter(|c| *c == '.').count() == 3
            && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        {
            continue;
        }
        let has_alpha = t.chars().any(|c| c.is_ascii_alphabetic());
        if has_alpha {
            return Some(t.to_string());
        }
        // A bare number: keep the word before it when there is one ("mosquitto version 2.0.11").
        let prev: Vec<&str> = tokens[i.saturating_sub(2)..i].to_vec();
        if !prev.is_empty() {
            return Some(format!("{} {}", prev.join(" "), t));
        }
        return Some(t.to_string());
    }
    None
}

pub fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

/// A key fingerprint as OpenSSH prints it: `SHA256:` + unpadded base64 of the SHA-256.
pub fn fingerprint(blob: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(blob);
    format!("SHA256:{}", base64(&d).trim_end_matches('='))
}

/// A tiny base64 encoder (HTTP Basic and RTSP auth headers).
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Standard base64 (padding optional); `None` on any other character.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in s.bytes().take(8192) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A marker unlikely to occur by chance, fixed per run (reflection and echo checks).
pub fn marker() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "iota{:08x}",
        (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            find_version("lighttpd/1.4.69").as_deref(),
            Some("lighttpd/1.4.69")
        );
        assert_eq!(
            find_version("SSH-2.0-dropbear_2022.83").as_deref(),
            Some("SSH-2.0-dropbear_2022.83")
        );
        assert_eq!(
            find_version("mosquitto version 2.0.11").as_deref(),
            Some("mosquitto version 2.0.11")
        );
        assert_eq!(
            find_version("Linux/6.1.0 UPnP/1.1 MiniUPnPd/2.3.1").as_deref(),
            Some("Linux/6.1.0")
        );
        assert_eq!(find_version("lighttpd"), None);
        assert_eq!(find_version("host 10.250.0.2 ready"), None);
        assert_eq!(base64(b"admin:admin"), "YWRtaW46YWRtaW4=");
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
