//! The example secrets of `.dev.vars.example` and the Standard Webhooks
//! specification's test secret are refused by every configuration check.

use checkout::link::LinkKeys;
use checkout::{secret, webhook};

/// Issue 24 defect 6: the example secrets of `.dev.vars.example` (the
/// `WEBHOOK_SECRET` there is the Standard Webhooks spec's public test
/// secret; the example `LINK_SECRET` is long enough) must not pass the
/// configuration checks, or a deployment that copied the file signs with
/// keys anybody can read.
#[test]
fn example_secrets_are_refused() {
    let example = include_str!("../../../.dev.vars.example");
    let value = |name: &str| -> String {
        example
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in .dev.vars.example"))
            .trim_matches('"')
            .to_owned()
    };
    let link = value("LINK_SECRET");
    assert!(link.len() >= 32, "long enough to pass the length check");
    assert_eq!(
        LinkKeys::from_config(None, Some(&link)).err(),
        Some("LINK_SECRET")
    );
    assert_eq!(
        LinkKeys::from_config(Some(&format!("{}, {link}", "k".repeat(32))), None).err(),
        Some("LINK_SECRETS")
    );
    let spec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    for webhook in [
        value("WEBHOOK_SECRET"),
        spec.to_owned(),
        spec[6..].to_owned(),
    ] {
        assert_eq!(
            webhook::Keys::from_config(None, Some(&webhook)).err(),
            Some("WEBHOOK_SECRET"),
            "{webhook}"
        );
    }
    assert!(secret::is_placeholder_secret(&value("ADMIN_TOKEN")));
    assert!(secret::is_placeholder_secret(
        " Change-Me-please-0123456789 "
    ));
    // Real secrets pass.
    assert!(!secret::is_placeholder_secret(&"ab12".repeat(16)));
    assert!(LinkKeys::from_config(None, Some(&"ab12".repeat(16))).is_ok());
    assert!(webhook::Keys::from_config(
        None,
        Some("whsec_yN6pDR7vbtaWwumymT4Vkjw9PP9bJEw0S81FpW7EVi4=")
    )
    .is_ok());
}
