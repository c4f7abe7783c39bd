//! Device-profile facts inferred from the tree as a whole (each with its reason and evidence).
//! Checks add the facts they establish themselves (accounts → passwords used, update → update
//! mechanism); this adds the rest: a web upgrade page, constrained or not, a serial console in
//! the kernel command line.

use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::Location;
use iotassure_core::finding::{Evidence, Observations};

use crate::Ctx;

pub fn infer(ctx: &Ctx<'_>, obs: &mut Observations) {
    for view in &ctx.roots {
        let mut push = |key: FactKey, value: bool, reason: String, ev: Option<Evidence>| {
            if !obs.facts.iter().any(|f| f.key == key && f.value == value) {
                obs.facts.push(InferredFact {
                    key,
                    value,
                    reason,
                    evidence: ev.into_iter().collect(),
                });
            }
        };
        let upgrade_page = view
            .files
            .iter()
            .map(|f| (f.path.clone(), ()))
            .find(|(p, _)| {
                let base = p.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
                (p.starts_with("/www/") || p.starts_with("/htdocs/") || p.starts_with("/web/"))
                    && (base.contains("upgrade") || base.contains("firmware"))
                    && !base.ends_with(".png")
                    && !base.ends_with(".gif")
            });
        if let Some((p, _)) = upgrade_page {
            let ev = Evidence {
                location: view.location(&p, None, None),
                excerpt: "firmware upload page".into(),
            };
            push(
                FactKey::UpdateMechanism,
                true,
                format!("the web UI has a firmware upgrade page ({p})"),
                Some(ev.clone()),
            );
            push(
                FactKey::SoftwareUpdateable,
                true,
                "firmware can be uploaded through the web UI".into(),
                Some(ev.clone()),
            );
            push(
                FactKey::UpdatesOverNetwork,
                true,
                "the upgrade page receives images over the network".into(),
                Some(ev),
            );
        }
        if [
            "/bin/busybox",
            "/bin/sh",
            "/sbin/init",
            "/lib/libc.so.6",
            "/lib/ld-uClibc.so.0",
        ]
        .iter()
        .any(|p| view.view.lstat(p).is_some())
        {
            push(
                FactKey::Constrained,
                false,
                "the device runs a Linux userland (not a constrained device)".into(),
                None,
            );
        }
    }
    for b in &ctx.blobs {
        if !b.is_kernel {
            continue;
        }
        let (blob, data) = (b.blob, &b.data);
        if let Some(pos) = memchr::memmem::find(data, b"console=tty") {
            let end = data[pos..]
                .iter()
                .position(|&b| b == 0 || b == b' ' || b == b'\n')
                .map(|e| pos + e)
                .unwrap_or(data.len().min(pos + 40));
            let arg = String::from_utf8_lossy(&data[pos..end]).to_string();
            if !obs
                .facts
                .iter()
                .any(|f| f.key == FactKey::DebugInterfaceAccessible)
            {
                obs.facts.push(InferredFact {
                    key: FactKey::DebugInterfaceAccessible,
                    value: true,
                    reason: format!(
                        "the kernel command line sends the console to a serial line ({arg})"
                    ),
                    evidence: vec![Evidence {
                        location: Location::Image {
                            offset: pos as u64,
                            length: Some((end - pos) as u64),
                            provenance: blob.provenance.clone(),
                        },
                        excerpt: arg,
                    }],
                });
            }
        }
    }
}
