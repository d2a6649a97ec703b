//! `otp-relay healthcheck`: asks a relay on this machine whether it is ready (`GET /readyz`) and
//! answers with the exit code, so that a container image without a shell or curl still has a
//! health check (`HEALTHCHECK CMD ["/otp-relay", "healthcheck"]`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

/// The `/readyz` URL of the relay listening on `listen`: an unspecified address (`0.0.0.0`,
/// `::`) is asked on loopback, where a relay listening on every address also answers.
pub fn readyz_url(listen: SocketAddr) -> String {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/readyz", SocketAddr::new(ip, listen.port()))
}

/// 0 when `url` answers 200 within `timeout`; 1 otherwise, with the reason on stderr.
pub async fn run(url: &str, timeout: Duration) -> ExitCode {
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(client) => client,
        Err(error) => {
            eprintln!("otp-relay healthcheck: {error}");
            return ExitCode::FAILURE;
        }
    };
    match client.get(url).send().await {
        Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            eprintln!("otp-relay healthcheck: {url} answered {status}: {body}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("otp-relay healthcheck: {url}: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_asked_on_loopback() {
        let url = |listen: &str| readyz_url(listen.parse().unwrap());
        assert_eq!(url("0.0.0.0:8787"), "http://127.0.0.1:8787/readyz");
        assert_eq!(url("[::]:8080"), "http://[::1]:8080/readyz");
        assert_eq!(url("10.1.2.3:80"), "http://10.1.2.3:80/readyz");
    }
}
