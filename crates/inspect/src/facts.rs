//! Device-profile facts inferred from the tree as a whole (each with its reason and evidence).
//! Checks add the facts they establish themselves (accounts → passwords used); this adds the
//! rest: update mechanism, constrained or not, a serial console in the kernel command line.

use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::Location;
use iotassure_core::finding::{Evidence, Observations};
use iotassure_core::tree::BlobKind;

use crate::Ctx;

/// Files whose presence means an update mechanism (and, for these tools, network delivery).
const UPDATERS: &[(&str, &str)] = &[
    ("/sbin/sysupgrade", "sysupgrade"),
    ("/usr/sbin/sysupgrade", "sysupgrade"),
    ("/bin/opkg", "opkg"),
    ("/usr/bin/opkg", "opkg"),
    ("/bin/ipkg", "ipkg"),
    ("/usr/bin/swupdate", "swupdate"),
    ("/usr/bin/rauc", "rauc"),
    ("/usr/bin/mender", "mender"),
    ("/usr/sbin/fw_upgrade", "fw_upgrade"),
    ("/sbin/fwupdate", "fwupdate"),
    ("/usr/sbin/fwupdate", "fwupdate"),
];

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
        for (path, tool) in UPDATERS {
            if view.resolve(path).is_some() {
                let ev = Evidence {
                    location: view.location(path, None, None),
                    excerpt: format!("{tool} present"),
                };
                push(
                    FactKey::UpdateMechanism,
                    true,
                    format!("{tool} is in the image ({path})"),
                    Some(ev.clone()),
                );
                push(
                    FactKey::SoftwareUpdateable,
                    true,
                    format!("{tool} can replace the firmware or packages"),
                    Some(ev.clone()),
                );
                push(
                    FactKey::UpdatesOverNetwork,
                    true,
                    format!("{tool} fetches or accepts images over the network"),
                    Some(ev),
                );
                break;
            }
        }
        let upgrade_page = view.files().into_iter().find(|(p, _)| {
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
        .any(|p| view.lstat(p).is_some())
        {
            push(
                FactKey::Constrained,
                false,
                "the device runs a Linux userland (not a constrained device)".into(),
                None,
            );
        }
    }
    for blob in &ctx.tree.blobs {
        if blob.kind != BlobKind::Kernel {
            continue;
        }
        let Ok(data) = ctx.tree.read_blob(blob, 64 << 20) else {
            continue;
        };
        if let Some(pos) = memchr::memmem::find(&data, b"console=tty") {
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
