//! A vulnerability-disclosure contact inside the image (5.2-1): a security.txt (RFC 9116) in a web
//! root, or a security contact address in the web UI. This is evidence only: 5.2-1 is about a
//! policy the maker *publishes*, which the document checks judge. Absence here decides nothing.

use iotassure_core::finding::{Finding, Observations, Outcome, Severity, Source};

use super::Check;
use crate::text::{excerpt, is_text, numbered_lines};
use crate::Ctx;

pub const CHECK: Check = Check {
    id: "5.2-1-fw-contact",
    provisions: &["5.2-1"],
    run,
};

const WEB_ROOTS: &[&str] = &[
    "/www/",
    "/htdocs/",
    "/web/",
    "/usr/www/",
    "/var/www/",
    "/usr/share/www/",
    "/home/httpd/",
    "/usr/lib/lua/luci/view/",
];

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    let mut found = false;
    for view in &ctx.roots {
        for f in &view.files {
            let (path, data) = (f.path.clone(), &f.data);
            let is_sectxt = path.ends_with("/security.txt");
            let in_web = WEB_ROOTS.iter().any(|w| path.starts_with(w));
            if !(is_sectxt || in_web) || f.entry.size > 4 << 20 {
                continue;
            }
            examined += 1;
            if !is_text(data) {
                continue;
            }
            if is_sectxt {
                found = true;
                let fields: Vec<(u32, String)> = numbered_lines(data)
                    .into_iter()
                    .filter(|(_, l)| {
                        let k = l
                            .split(':')
                            .next()
                            .unwrap_or("")
                            .trim()
                            .to_ascii_lowercase();
                        ["contact", "expires", "policy"].contains(&k.as_str())
                    })
                    .collect();
                let mut f = Finding::new(CHECK.id, &["5.2-1"], Outcome::Info, Severity::Info, Source::Firmware, format!("security.txt in the image at {path}"))
                    .detail("The device can serve a disclosure contact. The published policy (contact and timelines) is judged from the maker's documents.");
                for (n, l) in fields.iter().take(6) {
                    f = f.evidence(view.location(&path, Some(*n), None), excerpt(l));
                }
                if fields.is_empty() {
                    f = f.evidence(
                        view.location(&path, None, None),
                        "no Contact, Expires or Policy field",
                    );
                }
                obs.findings.push(f);
                continue;
            }
            for (n, l) in numbered_lines(data) {
                let low = l.to_ascii_lowercase();
                if low.contains("security@")
                    || low.contains("psirt@")
                    || (low.contains("vulnerabilit") && low.contains("report"))
                {
                    found = true;
                    obs.findings.push(
                        Finding::new(
                            CHECK.id,
                            &["5.2-1"],
                            Outcome::Info,
                            Severity::Info,
                            Source::Firmware,
                            format!("security contact mentioned in {path}"),
                        )
                        .evidence(view.location(&path, Some(n), None), excerpt(&l)),
                    );
                    break;
                }
            }
        }
    }
    if !found {
        obs.findings.push(
            Finding::new(CHECK.id, &["5.2-1"], Outcome::Info, Severity::Low, Source::Firmware, "no security.txt or vulnerability-disclosure contact in the image")
                .detail(format!("Searched {examined} files (security.txt anywhere, web roots for security contacts). This is evidence about the device, not a verdict on the maker's published policy.")),
        );
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}
