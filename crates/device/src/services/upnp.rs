//! SSDP and UPnP: a unicast M-SEARCH to the target, its description XML, and whether its IGD
//! control URL answers SOAP actions without authentication (read-only actions only).

use crate::services::http;

pub fn msearch(host: &str) -> Vec<u8> {
    format!("M-SEARCH * HTTP/1.1\r\nHOST: {host}:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\nUSER-AGENT: iotassure/{} UPnP/1.1\r\n\r\n", env!("CARGO_PKG_VERSION")).into_bytes()
}

/// Header lines of an SSDP reply (`HTTP/1.1 200 OK` + headers).
pub fn headers(b: &[u8]) -> Option<Vec<(String, String)>> {
    let s = String::from_utf8_lossy(b);
    let mut lines = s.lines();
    if !lines.next()?.starts_with("HTTP/1.") {
        return None;
    }
    Some(
        lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_uppercase(), v.trim().to_string()))
            .collect(),
    )
}

/// Splits `http://host:port/path` into (host, port, path).
pub fn split_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
        let (h, p) = h.split_once(']')?;
        (
            h.to_string(),
            p.strip_prefix(':')
                .map(|p| p.parse().ok())
                .unwrap_or(Some(80))?,
        )
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().ok()?),
            None => (hostport.to_string(), 80),
        }
    };
    Some((host, port, path))
}

/// The text of the first `<tag>` in `xml` (namespace prefixes ignored).
pub fn tag(xml: &str, name: &str) -> Option<String> {
    let low = xml.to_ascii_lowercase();
    let n = name.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = low[from..].find('<') {
        let s = from + i + 1;
        let e = s + low[s..].find('>')?;
        let t = &low[s..e];
        let bare = t.rsplit(':').next().unwrap_or(t);
        if bare == n {
            let close = low[e..].find("</").map(|c| e + c)?;
            return Some(xml[e + 1..close].trim().to_string());
        }
        from = e;
    }
    None
}

#[derive(Debug, Clone, Default)]
pub struct Description {
    pub fields: Vec<(String, String)>,
    /// (serviceType, controlURL, SCPDURL)
    pub services: Vec<(String, String, String)>,
}

pub fn parse_description(xml: &str) -> Description {
    let mut d = Description::default();
    for f in [
        "friendlyName",
        "manufacturer",
        "modelName",
        "modelNumber",
        "modelDescription",
        "serialNumber",
        "UDN",
        "presentationURL",
    ] {
        if let Some(v) = tag(xml, f).filter(|v| !v.is_empty()) {
            d.fields.push((f.to_string(), v));
        }
    }
    let low = xml.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = low[from..].find("<service>") {
        let s = from + i;
        let e = low[s..]
            .find("</service>")
            .map(|e| s + e)
            .unwrap_or(low.len());
        let block = &xml[s..e];
        if let (Some(t), Some(c)) = (tag(block, "serviceType"), tag(block, "controlURL")) {
            d.services
                .push((t, c, tag(block, "SCPDURL").unwrap_or_default()));
        }
        from = e.max(s + 9);
        if d.services.len() > 64 {
            break;
        }
    }
    d
}

/// A SOAP request for a read-only action (`GetExternalIPAddress`, `GetStatusInfo`).
pub fn soap_request(service_type: &str, action: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let body = format!(
        "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body><u:{action} xmlns:u=\"{service_type}\"></u:{action}></s:Body></s:Envelope>\r\n"
    );
    let headers = vec![
        (
            "Content-Type".to_string(),
            "text/xml; charset=\"utf-8\"".to_string(),
        ),
        (
            "SOAPAction".to_string(),
            format!("\"{service_type}#{action}\""),
        ),
    ];
    (headers, body.into_bytes())
}

/// Makes a description-relative URL a path on the same host.
pub fn join(base_path: &str, url: &str) -> String {
    if let Some((_, _, p)) = split_url(url) {
        return p;
    }
    if url.starts_with('/') {
        return url.to_string();
    }
    let dir = base_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    format!("{dir}/{url}")
}

pub fn is_igd_connection(service_type: &str) -> bool {
    service_type.contains("WANIPConnection") || service_type.contains("WANPPPConnection")
}

pub fn response_value(r: &http::Response, name: &str) -> Option<String> {
    tag(&r.body_text(), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_and_urls() {
        let xml = r#"<root><device><friendlyName>R</friendlyName><modelName>X1</modelName><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL><SCPDURL>/WANIPCn.xml</SCPDURL></service></serviceList></device></root>"#;
        let d = parse_description(xml);
        assert_eq!(d.fields[1], ("modelName".into(), "X1".into()));
        assert_eq!(d.services[0].1, "/ctl/IPConn");
        assert_eq!(
            split_url("http://10.250.0.2:5000/rootDesc.xml"),
            Some(("10.250.0.2".into(), 5000, "/rootDesc.xml".into()))
        );
        assert_eq!(join("/a/b.xml", "c"), "/a/c");
        assert_eq!(
            tag(
                "<s:Body><u:NewExternalIPAddress>1.2.3.4</u:NewExternalIPAddress>",
                "NewExternalIPAddress"
            )
            .as_deref(),
            Some("1.2.3.4")
        );
    }
}
