//! What the page learns from its own address: `/c/{token}?openid=&buyer_id=&charge_code=&lang=`.

/// The checkout token of a page path `/c/{token}` (a trailing slash or more
/// segments are ignored); `None` for any other path.
pub fn token_from_path(path: &str) -> Option<&str> {
    let token = path.strip_prefix("/c/")?.split('/').next()?;
    (!token.is_empty()).then_some(token)
}

/// A query value that is present and not blank, trimmed.
pub fn present(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The page's query parameters, already cleaned with [`present`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageParams {
    /// The link token from the path.
    pub token: Option<String>,
    /// `?openid=`: the shopper's WeChat openid (enables WeChat JSAPI).
    pub openid: Option<String>,
    /// `?buyer_id=`: the shopper's Alipay buyer id (enables the Alipay bridge).
    pub buyer_id: Option<String>,
    /// `?charge_code=`: set by the Worker's wap RETURN_URL; resume watching that order.
    pub charge_code: Option<String>,
    /// `?lang=`: language override.
    pub lang: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_from_paths() {
        assert_eq!(token_from_path("/c/abc.def"), Some("abc.def"));
        assert_eq!(token_from_path("/c/abc.def/"), Some("abc.def"));
        assert_eq!(token_from_path("/c/"), None);
        assert_eq!(token_from_path("/c"), None);
        assert_eq!(token_from_path("/x/abc"), None);
        assert_eq!(token_from_path("/"), None);
    }

    #[test]
    fn blank_values_are_absent() {
        assert_eq!(present(None), None);
        assert_eq!(present(Some("".into())), None);
        assert_eq!(present(Some("  ".into())), None);
        assert_eq!(present(Some(" o1 ".into())), Some("o1".into()));
    }
}

/// A merchant return URL the page may link to: http(s) only, so a link can
/// never carry a `javascript:` or `data:` URL into the page.
pub fn safe_return_url(url: Option<&str>) -> Option<&str> {
    let url = url?.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(url)
}

#[cfg(test)]
mod return_url_tests {
    use super::safe_return_url;

    #[test]
    fn only_http_urls() {
        assert_eq!(
            safe_return_url(Some("https://shop.example/ok")),
            Some("https://shop.example/ok")
        );
        assert_eq!(
            safe_return_url(Some("HTTP://shop.example")),
            Some("HTTP://shop.example")
        );
        assert_eq!(safe_return_url(Some("javascript:alert(1)")), None);
        assert_eq!(safe_return_url(Some("data:text/html,x")), None);
        assert_eq!(safe_return_url(Some("")), None);
        assert_eq!(safe_return_url(None), None);
    }
}
