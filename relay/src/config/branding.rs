//! Each allowed origin's branding for its emails (`OTP_RELAY_BRANDING`).

use super::*;

/// One site's branding as the operator writes it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BrandFile {
    product: String,
    from: Option<String>,
    accent: Option<String>,
    logo: Option<String>,
    /// The site's widgets ask for the email's link.
    link: Option<bool>,
}

/// Reads `OTP_RELAY_BRANDING`: `{"https://shop.example": {"product": "…", "from": "…",
/// "accent": "#rrggbb", "logo": "https://…", "link": true}}`, each origin one of the allowed
/// origins.
pub(super) fn parse_branding(
    path: &std::path::Path,
    allowed_origins: &[String],
) -> Result<Branding, String> {
    let at = |what: String| format!("OTP_RELAY_BRANDING ({}): {what}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| at(format!("cannot read it: {e}")))?;
    branding_from_text(&text, allowed_origins).map_err(at)
}

/// Each allowed origin's brand.
pub type Branding = std::collections::HashMap<String, std::sync::Arc<crate::core::Brand>>;

/// The branding file's text, checked: each origin an allowed one, each field in its form. The
/// error says what to fix (the caller adds which file).
pub fn branding_from_text(text: &str, allowed_origins: &[String]) -> Result<Branding, String> {
    let sites: std::collections::BTreeMap<String, BrandFile> = serde_json::from_str(text)
        .map_err(|e| {
            format!(
                "{e}; expected {{\"https://shop.example\": {{\"product\": \"Shop\", \"from\": \"Shop <codes@shop.example>\", \"accent\": \"#0a7d4f\", \"logo\": \"https://shop.example/logo.png\"}}}}"
            )
        })?;
    let mut branding = std::collections::HashMap::new();
    for (origin, site) in sites {
        let canonical = canonical_origin(&origin)?;
        if !allowed_origins.contains(&canonical) {
            return Err(format!(
                "{origin} is not in OTP_RELAY_ALLOWED_ORIGINS; brand only the sites that may use the relay"
            ));
        }
        let product = site.product.trim().to_string();
        if product.is_empty()
            || product.chars().count() > 60
            || product.chars().any(char::is_control)
        {
            return Err(format!(
                "{origin}: \"product\" must be a name of 1 to 60 characters on one line"
            ));
        }
        if let Some(from) = &site.from {
            crate::mail::smtp::parse_from(from).map_err(|e| format!("{origin}: \"from\": {e}"))?;
        }
        if let Some(accent) = &site.accent {
            let hex = accent.strip_prefix('#').unwrap_or_default();
            if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "{origin}: \"accent\" {accent:?} is not a colour such as #0a7d4f"
                ));
            }
        }
        // The logo as the URL parser reads it, not as written: `https:/host` reads as
        // `https://host/`, and a mail client given the text as written would take it for a path.
        let logo = match &site.logo {
            Some(logo) => {
                let url = url::Url::parse(logo)
                    .map_err(|e| format!("{origin}: \"logo\" {logo:?} is not a URL: {e}"))?;
                if url.scheme() != "https" || logo.contains('"') {
                    return Err(format!(
                        "{origin}: \"logo\" must be an https:// URL (mail clients block others)"
                    ));
                }
                Some(url.to_string())
            }
            None => None,
        };
        branding.insert(
            canonical,
            std::sync::Arc::new(crate::core::Brand {
                product,
                from: site.from,
                accent: site.accent,
                logo,
                link: site.link.unwrap_or(false),
            }),
        );
    }
    Ok(branding)
}
