//! How an error reaches the user: the chain of contexts joined with ": ", each cause once.
//! Library errors often put their source's text in their own message (`{path}: {source}`) and
//! also return it as `source()`, so printing the whole chain would say the OS reason twice.

/// `reading x.json: No such file or directory (os error 2)`, never with the reason repeated.
pub fn render(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if s.is_empty() || out.contains(&s) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct Io {
        path: String,
        source: std::io::Error,
    }

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let reason = io.to_string();
        let e = anyhow::Error::new(Io {
            path: "/x.bin".into(),
            source: io,
        })
        .context("unpacking");
        let text = render(&e);
        assert_eq!(text, format!("unpacking: /x.bin: {reason}"));
        assert_eq!(text.matches(&reason).count(), 1);
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(render(&plain), "outer: inner");
    }
}
