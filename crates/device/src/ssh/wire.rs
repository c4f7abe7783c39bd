//! SSH wire encoding (RFC 4251 §5): strings, name-lists, mpints, and a reader.

pub fn put_u32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_be_bytes());
}

pub fn put_str(b: &mut Vec<u8>, s: &[u8]) {
    put_u32(b, s.len() as u32);
    b.extend_from_slice(s);
}

/// An unsigned big-endian integer as an mpint (leading zeros dropped, a zero added when the top
/// bit is set).
pub fn put_mpint(b: &mut Vec<u8>, n: &[u8]) {
    let lead = n.iter().position(|&x| x != 0).unwrap_or(n.len());
    let n = &n[lead..];
    if n.first().is_some_and(|&x| x & 0x80 != 0) {
        put_u32(b, n.len() as u32 + 1);
        b.push(0);
        b.extend_from_slice(n);
    } else {
        put_str(b, n);
    }
}

pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub fn u8(&mut self) -> Option<u8> {
        let (&b, r) = self.0.split_first()?;
        self.0 = r;
        Some(b)
    }

    pub fn u32(&mut self) -> Option<u32> {
        if self.0.len() < 4 {
            return None;
        }
        let v = u32::from_be_bytes(self.0[..4].try_into().ok()?);
        self.0 = &self.0[4..];
        Some(v)
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, r) = self.0.split_at(n);
        self.0 = r;
        Some(a)
    }

    pub fn string(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }

    pub fn text(&mut self) -> Option<String> {
        self.string()
            .map(|s| String::from_utf8_lossy(s).to_string())
    }

    pub fn bool(&mut self) -> Option<bool> {
        self.u8().map(|b| b != 0)
    }
}
