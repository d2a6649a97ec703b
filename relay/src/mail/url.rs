//! The SMTP URL an operator writes, parsed: host, port, how the connection is protected, and the
//! login, whose password is a secret that no `Debug` or log line shows.

use crate::core::secret::SecretString;
use percent_encoding::percent_decode_str;

/// The parsed SMTP URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub mode: TlsMode,
    pub user: Option<String>,
    pub(super) password: Option<SecretString>,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (port 465).
    Implicit,
    /// STARTTLS, required (port 587).
    StartTls,
    /// No TLS: for a relay on the same host only.
    Plain,
}

/// Whether `host` names this machine, so that a plain connection to it never leaves it.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl SmtpTarget {
    /// Parses `smtps://user:pass@host:465`, `smtp://user:pass@host:587?tls=required`,
    /// `smtp://host:25`.
    pub fn parse(text: &str) -> Result<SmtpTarget, String> {
        let url = url::Url::parse(text.trim())
            .map_err(|e| format!("OTP_RELAY_SMTP_URL is not a URL ({e}); expected e.g. smtps://user:pass@smtp.example.com:465"))?;
        let tls_param = url
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, value)| value.to_ascii_lowercase());
        let (mode, default_port) = match (url.scheme(), tls_param.as_deref()) {
            ("smtps", None) => (TlsMode::Implicit, 465),
            ("smtp", Some("required" | "starttls")) => (TlsMode::StartTls, 587),
            ("smtp", None | Some("none")) => (TlsMode::Plain, 25),
            (scheme, tls) => {
                return Err(format!(
                    "OTP_RELAY_SMTP_URL: scheme {scheme:?} with tls={tls:?} is not supported; use smtps:// (port 465), smtp://...?tls=required (port 587) or smtp:// (plain, local relay)"
                ));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("OTP_RELAY_SMTP_URL has no host")?
            .trim_matches(['[', ']'])
            .to_string();
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| {
                    "OTP_RELAY_SMTP_URL: user or password is not valid percent-encoded UTF-8"
                        .to_string()
                })
        };
        let user = match url.username() {
            "" => None,
            name => Some(decode(name)?),
        };
        let password = url
            .password()
            .map(decode)
            .transpose()?
            .map(SecretString::new);
        // A login over a plain connection crosses the network in the clear (A14).
        if mode == TlsMode::Plain && (user.is_some() || password.is_some()) && !is_loopback(&host) {
            return Err(format!(
                "OTP_RELAY_SMTP_URL would send the SMTP login to {host} without TLS. Use TLS: \
                 smtps://user:pass@{host}:465 (implicit TLS) or \
                 smtp://user:pass@{host}:587?tls=required (STARTTLS). A plain smtp:// URL takes \
                 a login only for a relay on this machine (localhost, 127.0.0.1, ::1)."
            ));
        }
        Ok(SmtpTarget {
            host,
            port: url.port().unwrap_or(default_port),
            mode,
            user,
            password,
        })
    }

    /// `smtps://host:465` without credentials, for log lines.
    pub fn describe(&self) -> String {
        let mode = match self.mode {
            TlsMode::Implicit => "implicit TLS",
            TlsMode::StartTls => "STARTTLS",
            TlsMode::Plain => "no TLS",
        };
        // A login that is an address is masked like every address the relay logs.
        let user = self
            .user
            .as_deref()
            .map(|u| format!(" as {}", crate::core::delivery::mask_addresses(u)))
            .unwrap_or_default();
        format!("{}:{} ({mode}{user})", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_never_goes_to_a_remote_host_in_the_clear() {
        for url in [
            "smtp://user:hunter2@smtp.example.com:587",
            "smtp://user@smtp.example.com",
            "smtp://user:hunter2@192.0.2.10:25?tls=none",
        ] {
            let error = SmtpTarget::parse(url).unwrap_err();
            assert!(error.contains("without TLS"), "{error}");
            assert!(
                error.contains("smtps://") && error.contains("tls=required"),
                "{error}"
            );
            assert!(
                !error.contains("hunter2"),
                "no password in the message: {error}"
            );
        }
        // Without a login, a plain connection to another host is allowed (a relay on the LAN).
        assert!(SmtpTarget::parse("smtp://mail.internal:25").is_ok());
    }

    #[test]
    fn smtp_urls_parse_into_modes() {
        let t = SmtpTarget::parse("smtps://me%40x.io:p%3Ass@smtp.example.com").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.mode),
            ("smtp.example.com", 465, TlsMode::Implicit)
        );
        assert_eq!(t.user.as_deref(), Some("me@x.io"));
        assert_eq!(t.password.as_ref().map(SecretString::expose), Some("p:ss"));
        let t = SmtpTarget::parse("smtp://u:p@smtp.example.com:2587?tls=required").unwrap();
        assert_eq!((t.port, t.mode), (2587, TlsMode::StartTls));
        let t = SmtpTarget::parse("smtp://u:p@localhost:2525").unwrap();
        assert_eq!((t.mode, t.user.as_deref()), (TlsMode::Plain, Some("u")));
        assert!(SmtpTarget::parse("smtp://u:p@[::1]:2525").is_ok());
        let t = SmtpTarget::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (t.port, t.mode, t.user.as_deref()),
            (2525, TlsMode::Plain, None)
        );
        assert!(SmtpTarget::parse("http://x").is_err());
        assert!(SmtpTarget::parse("smtps://x?tls=required").is_err());
        assert!(
            SmtpTarget::parse("smtps://u:%FF%FE@x").is_err(),
            "not UTF-8"
        );
    }

    #[test]
    fn the_password_is_never_printed() {
        let secret = SmtpTarget::parse("smtps://user:hunter2@smtp.example.com").unwrap();
        assert!(!secret.describe().contains("hunter2"));
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn a_login_that_is_an_address_is_masked_in_descriptions() {
        let target = SmtpTarget::parse("smtps://codes%40shop.example:pw@smtp.example.com").unwrap();
        let described = target.describe();
        assert!(described.ends_with("as c***@shop.example)"), "{described}");
    }
}
