//! IXIT: the implementation information a maker supplies for testing (ETSI TS 103 701). It is
//! what turns "the device exposes port 443" into a verdict: a functional test compares what it
//! observes with what the maker declared. It lives in the conformance statement (`ixit:`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ixit {
    /// Network services the device is meant to expose (5.6-1, 5.1-5, 5.13-1).
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    /// Connections the device itself makes: update servers, cloud, time, telemetry
    /// (5.3-6, 5.3-10, 5.5-1, 6-5).
    #[serde(default)]
    pub connections: Vec<Connection>,
    /// What must keep working when the network or an associated service is gone (5.9, 5.3-15).
    #[serde(default)]
    pub basic_functions: Vec<BasicFunction>,
    /// Accounts the lab may use for authenticated tests (5.5-4, 5.1-5).
    #[serde(default)]
    pub test_accounts: Vec<TestAccount>,
    /// The critical security parameters and how each is provisioned (TS 103 701's IXIT of
    /// security parameters; 5.4-3): what the keys found in the image and on two units are held
    /// against.
    #[serde(default)]
    pub security_parameters: Vec<SecurityParameter>,
}

impl Ixit {
    pub fn is_empty(&self) -> bool {
        self.interfaces.is_empty()
            && self.connections.is_empty()
            && self.basic_functions.is_empty()
            && self.test_accounts.is_empty()
            && self.security_parameters.is_empty()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Authentication {
    /// Open by design (e.g. DHCP, DNS, a public data endpoint).
    None,
    #[default]
    Password,
    Certificate,
    Token,
    Pairing,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    pub port: u16,
    #[serde(default)]
    pub transport: Transport,
    /// `https`, `ssh`, `mqtt`, `upnp` …
    pub service: String,
    #[serde(default)]
    pub purpose: String,
    /// How users or peers authenticate on it.
    #[serde(default)]
    pub authentication: Authentication,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Update,
    Telemetry,
    Cloud,
    Time,
    Dns,
    #[default]
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Host name or address; `*.example.com` matches sub-domains.
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// `https`, `mqtts`, `ntp`, `http` …
    pub protocol: String,
    #[serde(default)]
    pub purpose: Purpose,
    /// For telemetry: the data sent, in the maker's words (compared with the privacy notice).
    #[serde(default)]
    pub data: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicFunction {
    pub description: String,
    /// A service that must keep answering, if the function is network-visible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default)]
    pub transport: Transport,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestAccount {
    /// `ssh`, `telnet`, `http`, `mqtt` …
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub username: String,
    pub password: String,
}

/// What sort of secret a security parameter is: it says which evidence can see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParameterKind {
    /// An SSH server's host key (dropbear or OpenSSH).
    SshHostKey,
    /// The private key behind a TLS server or client certificate.
    TlsKey,
    /// Any other private key (signing, VPN, pairing).
    PrivateKey,
    /// An API token or cloud access key.
    Token,
    Password,
    Other,
}

/// How a security parameter gets its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provisioning {
    /// Unique to each unit: injected at manufacture or generated on the device (first boot).
    PerDevice,
    /// The same in every unit of the model: hard-coded by the maker's own account.
    PerModel,
    /// Set by the user during set-up; the device ships without one.
    UserSet,
}

impl Provisioning {
    pub fn as_str(self) -> &'static str {
        match self {
            Provisioning::PerDevice => "per_device",
            Provisioning::PerModel => "per_model",
            Provisioning::UserSet => "user_set",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityParameter {
    /// The maker's name for it, e.g. "SSH host key".
    pub name: String,
    pub kind: ParameterKind,
    pub provisioning: Provisioning,
    /// Where it lives on the device (an absolute path), if it is a file: the key found at that
    /// path in the image is this parameter. Without it, every key of the same kind is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let y = "interfaces:\n  - { port: 443, service: https, purpose: web UI }\n  - { port: 1900, transport: udp, service: upnp, authentication: none }\nconnections:\n  - { host: update.example.com, port: 443, protocol: https, purpose: update }\nbasic_functions:\n  - { description: thermostat keeps heating, port: 80 }\ntest_accounts:\n  - { service: ssh, username: lab, password: s3cret }\n";
        let i: Ixit = serde_yaml_ng::from_str(y).unwrap();
        assert_eq!(i.interfaces[1].transport, Transport::Udp);
        assert_eq!(i.interfaces[1].authentication, Authentication::None);
        assert_eq!(i.interfaces[0].authentication, Authentication::Password);
        assert_eq!(i.connections[0].purpose, Purpose::Update);
        let p: Ixit = serde_yaml_ng::from_str("security_parameters:\n  - { name: SSH host key, kind: ssh_host_key, provisioning: per_device, path: /etc/dropbear/dropbear_rsa_host_key }\n").unwrap();
        assert_eq!(
            p.security_parameters[0].provisioning,
            Provisioning::PerDevice
        );
        assert!(!p.is_empty());
        assert!(serde_yaml_ng::from_str::<Ixit>(
            "security_parameters:\n  - { name: k, kind: ssh_host_key, provisioning: per_unit }\n"
        )
        .is_err());
        assert!(serde_yaml_ng::from_str::<Ixit>(
            "interfaces:\n  - { port: 1, service: x, colour: red }\n"
        )
        .is_err());
    }
}
