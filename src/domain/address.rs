//! Which network addresses Trustgate may connect to on an issuer's behalf (SSRF defence,
//! RFC 9700 §4.15 / OWASP SSRF). One place for the rule, [`may_connect`]: the admin API
//! applies it to a `jwks_uri` host that is an address literal, and the JWKS fetcher to every
//! address a host name resolves to, before connecting.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether Trustgate may connect to `ip` for an issuer's keys: a public address; with
/// `allow_insecure` (`TRUSTGATE_ALLOW_INSECURE_JWKS`, local development) any address except
/// link-local and cloud metadata ones, which no setting opens (their answer is credentials).
pub fn may_connect(ip: IpAddr, allow_insecure: bool) -> bool {
    !is_link_local_or_metadata(ip) && (allow_insecure || is_public(ip))
}

/// True for 169.254.0.0/16 (link-local, holding the metadata service 169.254.169.254 of AWS,
/// GCP and Azure), fe80::/10 and AWS's IPv6 metadata address fd00:ec2::254, also in the IPv6
/// forms that carry an IPv4 address (mapped, compatible, NAT64).
pub fn is_link_local_or_metadata(ip: IpAddr) -> bool {
    const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
    match ip {
        IpAddr::V4(v4) => v4.octets()[..2] == [169, 254],
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => v4.octets()[..2] == [169, 254],
            None => (v6.segments()[0] & 0xffc0) == 0xfe80 || v6 == AWS_METADATA_V6,
        },
    }
}

/// The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d,
/// deprecated) or NAT64 (64:ff9b::/96) IPv6 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    if (s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified())
        || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
    {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return Some(Ipv4Addr::new(a, b, c, d));
    }
    None
}

/// True when `ip` is a public unicast address: not loopback, private, link-local (which holds
/// the cloud metadata service 169.254.169.254), carrier-grade NAT, multicast, broadcast,
/// unspecified, documentation or benchmarking space. IPv4-mapped, IPv4-compatible and NAT64
/// IPv6 forms are judged by the IPv4 address inside.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                    // "this network" 0.0.0.0/8
        || a == 10                              // private
        || a == 127                             // loopback
        || (a == 100 && (64..=127).contains(&b)) // carrier-grade NAT 100.64.0.0/10
        || (a == 169 && b == 254)               // link-local, cloud metadata
        || (a == 172 && (16..=31).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)       // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)       // documentation
        || (a == 192 && b == 168)               // private
        || (a == 198 && (18..=19).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100)    // documentation
        || (a == 203 && b == 0 && c == 113)     // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00  // unique local fc00::/7 (holds AWS's fd00:ec2::254)
        || (s[0] & 0xffc0) == 0xfe80  // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0  // site-local fec0::/10 (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0])) // discard-only 100::/64
}

/// Host names that always name this machine or a metadata service, whatever DNS says.
pub fn is_forbidden_host_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "metadata.google.internal"
        || host == "instance-data"
        || host.ends_with(".internal")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn refuses_loopback_private_link_local_and_metadata() {
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "ff02::1",
        ] {
            assert!(!public(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn accepts_public_addresses() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(ip), "{ip} is public");
        }
    }

    #[test]
    fn link_local_and_metadata_addresses_are_refused_even_when_insecure() {
        for ip in [
            "169.254.169.254",
            "169.254.0.1",
            "169.254.170.2",
            "fe80::1",
            "febf::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "::ffff:a9fe:a9fe",
            "::169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            let ip = ip.parse().unwrap();
            assert!(is_link_local_or_metadata(ip), "{ip}");
            assert!(
                !may_connect(ip, true),
                "{ip} refused with the insecure flag"
            );
            assert!(!may_connect(ip, false), "{ip}");
        }
    }

    #[test]
    fn the_insecure_flag_opens_loopback_and_private_addresses_only() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "::1",
            "fd00::1",
            "fd00:ec2::253",
            "::ffff:127.0.0.1",
        ] {
            let ip = ip.parse().unwrap();
            assert!(may_connect(ip, true), "{ip}");
            assert!(!may_connect(ip, false), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "2606:4700::1111",
            "169.253.0.1",
            "169.255.0.1",
            "fec0::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!is_link_local_or_metadata(ip), "{ip}");
        }
        assert!(may_connect("8.8.8.8".parse().unwrap(), false));
    }

    #[test]
    fn refuses_local_host_names() {
        for host in [
            "localhost",
            "LOCALHOST.",
            "a.localhost",
            "metadata.google.internal",
            "x.internal",
        ] {
            assert!(is_forbidden_host_name(host), "{host}");
        }
        assert!(!is_forbidden_host_name("login.example.com"));
    }
}
