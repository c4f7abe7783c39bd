//! Shannon entropy of unknown regions: near 8 bits/byte means compressed or encrypted data.

pub fn shannon(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let n = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// A region made of one repeated byte (0x00 or 0xFF flash padding).
pub fn padding_byte(data: &[u8]) -> Option<u8> {
    let first = *data.first()?;
    data.iter().all(|&b| b == first).then_some(first)
}

#[cfg(test)]
mod tests {
    #[test]
    fn entropy_bounds() {
        assert_eq!(super::shannon(&[0u8; 100]), 0.0);
        let all: Vec<u8> = (0..=255).collect();
        assert!((super::shannon(&all) - 8.0).abs() < 1e-9);
    }
}
