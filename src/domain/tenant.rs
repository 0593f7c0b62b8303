//! Tenants: the unit of isolation. Every query is scoped to one.

/// A tenant, named by a slug unique across the installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub slug: String,
    pub created_us: i64,
}

/// Checks a tenant slug: 1–63 lower-case letters, digits and hyphens, not starting with a hyphen.
pub fn validate_slug(slug: &str) -> crate::domain::Result<()> {
    let ok = !slug.is_empty()
        && slug.len() <= 63
        && !slug.starts_with('-')
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(crate::domain::Error::InvalidValue(format!(
            "tenant slug {slug:?} must be 1-63 lower-case letters, digits or hyphens"
        )))
    }
}
