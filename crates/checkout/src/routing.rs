//! Channel routing: which payment method a shopper can use, where they are.
//!
//! Each method only works in some places: WeChat JSAPI needs the WeChat
//! in-app browser and the shopper's openid; the Alipay bridge needs the
//! Alipay app and a buyer id; app-jump (WAP) pages need a phone browser and
//! are blocked inside WeChat; a QR code works everywhere (scan it with another
//! phone, or long-press it in WeChat). The page calls [`route`] to choose;
//! the Worker calls [`resolve`] with what the page asked for, so a stale or
//! hand-crafted request still ends up on a method that can work.
//!
//! The merchant's side of the decision is the link's channel restriction
//! ([`LinkChannel`]): a WeChat-only link never produces an Alipay method and
//! vice versa.

// The method → `CHANNEL_TYPE` mapping lives in the gateway room; routing
// callers keep reaching it here.
pub use crate::gateway::channel_type;
use crate::vocab::{LinkChannel, PayMethod};

/// Where the shopper opened the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Environment {
    /// WeChat's in-app browser (`MicroMessenger` in the User-Agent).
    WeChat,
    /// Alipay's in-app browser (`AlipayClient` / `AliApp(AP/...)`).
    Alipay,
    /// Any other phone or tablet browser.
    MobileBrowser,
    /// A desktop browser (or anything unrecognised): pay by scanning a QR.
    Desktop,
}

/// What the page knows beyond the User-Agent, from JavaScript.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// `window.WeixinJSBridge` exists: WeChat, whatever the UA says.
    pub wechat_bridge: bool,
    /// `window.AlipayJSBridge` exists: Alipay, whatever the UA says.
    pub alipay_bridge: bool,
    /// `navigator.maxTouchPoints > 1`: a touch device. iPadOS Safari sends a
    /// desktop Mac User-Agent, and this is the only way to tell.
    pub touch: bool,
}

/// Classify a User-Agent string. Unknown or empty means [`Environment::Desktop`],
/// because the QR fallback it leads to works for everybody.
pub fn detect(user_agent: &str) -> Environment {
    let ua = user_agent.to_ascii_lowercase();
    if ua.contains("micromessenger") {
        Environment::WeChat
    } else if ua.contains("alipayclient") || ua.contains("aliapp(ap/") {
        Environment::Alipay
    } else if [
        "mobile",
        "android",
        "iphone",
        "ipad",
        "ipod",
        "harmonyos",
        "openharmony",
    ]
    .iter()
    .any(|m| ua.contains(m))
    {
        Environment::MobileBrowser
    } else {
        Environment::Desktop
    }
}

/// [`detect`] refined by what the page sees at run time (see [`Flags`]).
pub fn detect_with(user_agent: &str, flags: Flags) -> Environment {
    if flags.wechat_bridge {
        return Environment::WeChat;
    }
    if flags.alipay_bridge {
        return Environment::Alipay;
    }
    match detect(user_agent) {
        Environment::Desktop if flags.touch => Environment::MobileBrowser,
        env => env,
    }
}

/// The shopper as routing sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shopper {
    /// Where they are.
    pub env: Environment,
    /// WeChat openid (from the OAuth redirect), needed for JSAPI.
    pub openid: Option<String>,
    /// Alipay buyer id (from the Alipay auth), needed for the Alipay bridge.
    pub buyer_id: Option<String>,
}

impl Shopper {
    fn has_openid(&self) -> bool {
        self.openid.as_deref().is_some_and(|s| !s.is_empty())
    }

    fn has_buyer_id(&self) -> bool {
        self.buyer_id.as_deref().is_some_and(|s| !s.is_empty())
    }
}

/// What the page should do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// Pay with this method.
    Pay(PayMethod),
    /// No method works here: tell the shopper to open the link in the
    /// system browser (e.g. an Alipay-only link inside WeChat, which blocks
    /// Alipay pages).
    OpenInBrowser,
}

/// The best method for this shopper and link.
///
/// - WeChat: an Alipay-only link → open in browser; with an openid → WeChat
///   JSAPI; without → QR (long-press to pay).
/// - Alipay: a WeChat-only link → QR; with a buyer id → Alipay bridge;
///   without → WAP (the Alipay page opens inside Alipay).
/// - Mobile browser → WAP (Alipay mobile web, or WeChat H5 for WeChat-only links).
/// - Desktop → QR.
pub fn route(shopper: &Shopper, link_channel: Option<LinkChannel>) -> Route {
    use LinkChannel::{Alipay, Wechat};
    match shopper.env {
        Environment::WeChat if link_channel == Some(Alipay) => Route::OpenInBrowser,
        Environment::WeChat if shopper.has_openid() => Route::Pay(PayMethod::WechatJsapi),
        Environment::WeChat => Route::Pay(PayMethod::Native),
        Environment::Alipay if link_channel == Some(Wechat) => Route::Pay(PayMethod::Native),
        Environment::Alipay if shopper.has_buyer_id() => Route::Pay(PayMethod::AlipayJsapi),
        Environment::Alipay | Environment::MobileBrowser => Route::Pay(PayMethod::Wap),
        Environment::Desktop => Route::Pay(PayMethod::Native),
    }
}

/// Whether `method` can work for this shopper and link.
///
/// A QR code can always be shown (and scanned with another phone), so
/// `native` is always possible.
pub fn is_possible(
    method: PayMethod,
    shopper: &Shopper,
    link_channel: Option<LinkChannel>,
) -> bool {
    use LinkChannel::{Alipay, Wechat};
    match method {
        PayMethod::WechatJsapi => {
            shopper.env == Environment::WeChat
                && shopper.has_openid()
                && link_channel != Some(Alipay)
        }
        PayMethod::AlipayJsapi => {
            shopper.env == Environment::Alipay
                && shopper.has_buyer_id()
                && link_channel != Some(Wechat)
        }
        PayMethod::Wap => match shopper.env {
            Environment::MobileBrowser => true,
            Environment::Alipay => link_channel != Some(Wechat),
            Environment::WeChat | Environment::Desktop => false,
        },
        PayMethod::Native => true,
    }
}

/// The Worker's check of a `POST /api/pay`: keep the requested method when it
/// can work ([`is_possible`]), otherwise fall back to [`route`]. The answer's
/// `method` tells the page what was actually used.
pub fn resolve(
    requested: PayMethod,
    shopper: &Shopper,
    link_channel: Option<LinkChannel>,
) -> Route {
    if is_possible(requested, shopper, link_channel) {
        Route::Pay(requested)
    } else {
        route(shopper, link_channel)
    }
}

#[cfg(test)]
mod tests {
    use soushou::types::ChannelType;

    use super::*;
    use Environment as E;
    use PayMethod as M;

    const WECHAT_IOS: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2c) NetType/WIFI Language/zh_CN";
    const WECHAT_ANDROID: &str = "Mozilla/5.0 (Linux; Android 13; V2148A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/5317 MMWEBSDK/20230805 MMWEBID/2654 MicroMessenger/8.0.42.2460(0x28002A35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64";
    const WECHAT_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090719) XWEB/8391 Flue";
    const ALIPAY_IOS: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/20B82 Ariver/1.1.0 AliApp(AP/10.3.50.6000) Nebula WK RVKType(0) AlipayDefined(nt:WIFI,ws:390|780|3.0) AlipayClient/10.3.50.6000 Language/zh-Hans Region/CN NebulaX/1.0.0";
    const ALIPAY_ANDROID: &str = "Mozilla/5.0 (Linux; U; Android 12; zh-CN; PFDM00 Build/SP1A.210812.016) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.2.43 Mobile Safari/537.36 UCBS/3.22.2.43_220223200704 ChannelId(1) NebulaSDK/1.8.100112 Nebula AlipayDefined(nt:WIFI,ws:360|0|3.0) AliApp(AP/10.3.0.8000) AlipayClient/10.3.0.8000 Language/zh-Hans useStatusBar/true isConcaveScreen/true Region/CNAriver/1.0.0";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
    const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
    const CHROME_ANDROID_TABLET: &str = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const HARMONY: &str = "Mozilla/5.0 (Phone; OpenHarmony 4.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36 ArkWeb/4.1.6.1 Mobile HuaweiBrowser/5.0.3.300";
    const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const FIREFOX_LINUX: &str =
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
    const FIREFOX_WINDOWS: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
    /// iPadOS 13+ Safari claims to be a Mac.
    const SAFARI_IPAD_DESKTOP_MODE: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";

    #[test]
    fn detects_real_user_agents() {
        let cases = [
            (WECHAT_IOS, E::WeChat),
            (WECHAT_ANDROID, E::WeChat),
            (WECHAT_WINDOWS, E::WeChat),
            (ALIPAY_IOS, E::Alipay),
            (ALIPAY_ANDROID, E::Alipay),
            (SAFARI_IPHONE, E::MobileBrowser),
            (CHROME_ANDROID, E::MobileBrowser),
            (CHROME_ANDROID_TABLET, E::MobileBrowser),
            (HARMONY, E::MobileBrowser),
            (CHROME_WINDOWS, E::Desktop),
            (CHROME_MAC, E::Desktop),
            (FIREFOX_LINUX, E::Desktop),
            (FIREFOX_WINDOWS, E::Desktop),
            (SAFARI_IPAD_DESKTOP_MODE, E::Desktop),
            ("", E::Desktop),
            ("curl/8.5.0", E::Desktop),
        ];
        for (ua, env) in cases {
            assert_eq!(detect(ua), env, "{ua}");
        }
    }

    #[test]
    fn flags_refine_detection() {
        let touch = Flags {
            touch: true,
            ..Flags::default()
        };
        assert_eq!(
            detect_with(SAFARI_IPAD_DESKTOP_MODE, touch),
            E::MobileBrowser
        );
        assert_eq!(detect_with(CHROME_WINDOWS, Flags::default()), E::Desktop);
        assert_eq!(detect_with(WECHAT_IOS, touch), E::WeChat);
        let wx = Flags {
            wechat_bridge: true,
            ..Flags::default()
        };
        assert_eq!(detect_with(SAFARI_IPHONE, wx), E::WeChat);
        let ali = Flags {
            alipay_bridge: true,
            ..Flags::default()
        };
        assert_eq!(detect_with(CHROME_ANDROID, ali), E::Alipay);
    }

    fn shopper(env: Environment, openid: Option<&str>, buyer_id: Option<&str>) -> Shopper {
        Shopper {
            env,
            openid: openid.map(Into::into),
            buyer_id: buyer_id.map(Into::into),
        }
    }

    /// The routing table, from real User-Agents to the method.
    #[test]
    fn routing_table() {
        use LinkChannel::{Alipay as LA, Wechat as LW};
        let o = Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
        let b = Some("2088102177846875");
        /// (User-Agent, openid, buyer_id, link restriction, expected route)
        type Row<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            Option<LinkChannel>,
            Route,
        );
        #[rustfmt::skip]
        let table: &[Row] = &[
            // WeChat
            (WECHAT_IOS, o, None, None, Route::Pay(M::WechatJsapi)),
            (WECHAT_ANDROID, o, None, None, Route::Pay(M::WechatJsapi)),
            (WECHAT_IOS, None, None, None, Route::Pay(M::Native)),
            (WECHAT_ANDROID, Some(""), None, None, Route::Pay(M::Native)),
            (WECHAT_IOS, o, None, Some(LW), Route::Pay(M::WechatJsapi)),
            (WECHAT_IOS, None, None, Some(LW), Route::Pay(M::Native)),
            (WECHAT_IOS, o, None, Some(LA), Route::OpenInBrowser),
            (WECHAT_ANDROID, None, b, Some(LA), Route::OpenInBrowser),
            // Alipay
            (ALIPAY_IOS, None, b, None, Route::Pay(M::AlipayJsapi)),
            (ALIPAY_ANDROID, None, b, Some(LA), Route::Pay(M::AlipayJsapi)),
            (ALIPAY_ANDROID, None, None, None, Route::Pay(M::Wap)),
            (ALIPAY_IOS, None, Some(""), None, Route::Pay(M::Wap)),
            (ALIPAY_IOS, o, b, Some(LW), Route::Pay(M::Native)),
            // Phone browsers
            (SAFARI_IPHONE, None, None, None, Route::Pay(M::Wap)),
            (CHROME_ANDROID, None, None, None, Route::Pay(M::Wap)),
            (CHROME_ANDROID, o, b, Some(LW), Route::Pay(M::Wap)),
            (SAFARI_IPHONE, None, None, Some(LA), Route::Pay(M::Wap)),
            // Desktop
            (CHROME_WINDOWS, None, None, None, Route::Pay(M::Native)),
            (FIREFOX_LINUX, None, None, None, Route::Pay(M::Native)),
            (FIREFOX_WINDOWS, o, b, Some(LA), Route::Pay(M::Native)),
            (CHROME_MAC, None, None, Some(LW), Route::Pay(M::Native)),
        ];
        for &(ua, openid, buyer_id, link, expected) in table {
            let s = shopper(detect(ua), openid, buyer_id);
            let r = route(&s, link);
            assert_eq!(r, expected, "{ua} {openid:?} {buyer_id:?} {link:?}");
            // Whatever route picks is possible, and resolve keeps it.
            if let Route::Pay(m) = r {
                assert!(is_possible(m, &s, link));
                assert_eq!(resolve(m, &s, link), r);
            }
        }
    }

    #[test]
    fn resolve_keeps_possible_requests_and_falls_back_otherwise() {
        let o = Some("openid");
        let b = Some("buyer");
        let wx = shopper(E::WeChat, o, None);
        // Asking for a QR inside WeChat is fine.
        assert_eq!(resolve(M::Native, &wx, None), Route::Pay(M::Native));
        // Alipay methods inside WeChat fall back to JSAPI.
        assert_eq!(
            resolve(M::AlipayJsapi, &wx, None),
            Route::Pay(M::WechatJsapi)
        );
        assert_eq!(resolve(M::Wap, &wx, None), Route::Pay(M::WechatJsapi));
        // JSAPI without an openid falls back to a QR.
        let wx_anon = shopper(E::WeChat, None, None);
        assert_eq!(
            resolve(M::WechatJsapi, &wx_anon, None),
            Route::Pay(M::Native)
        );
        // A WeChat-only link can't be paid with the Alipay bridge.
        let ali = shopper(E::Alipay, None, b);
        assert_eq!(
            resolve(M::AlipayJsapi, &ali, Some(LinkChannel::Wechat)),
            Route::Pay(M::Native)
        );
        assert_eq!(resolve(M::Wap, &ali, None), Route::Pay(M::Wap));
        // JSAPI requested from a desktop browser (forged request) → QR.
        let desk = shopper(E::Desktop, o, b);
        assert_eq!(resolve(M::WechatJsapi, &desk, None), Route::Pay(M::Native));
        assert_eq!(resolve(M::Wap, &desk, None), Route::Pay(M::Native));
        // Alipay-only link in WeChat: only the QR request survives.
        assert_eq!(
            resolve(M::WechatJsapi, &wx, Some(LinkChannel::Alipay)),
            Route::OpenInBrowser
        );
        assert_eq!(
            resolve(M::Native, &wx, Some(LinkChannel::Alipay)),
            Route::Pay(M::Native)
        );
    }

    /// A restricted link never leads to the other app's channel.
    #[test]
    fn link_restriction_is_respected_everywhere() {
        let envs = [E::WeChat, E::Alipay, E::MobileBrowser, E::Desktop];
        let ids = [None, Some("x")];
        let methods = [M::WechatJsapi, M::AlipayJsapi, M::Wap, M::Native];
        for env in envs {
            for openid in ids {
                for buyer in ids {
                    let s = shopper(env, openid, buyer);
                    for m in methods {
                        for (link, forbidden) in [
                            (
                                LinkChannel::Wechat,
                                [ChannelType::Alipay, ChannelType::AlipayWap],
                            ),
                            (
                                LinkChannel::Alipay,
                                [ChannelType::WeChat, ChannelType::WeChat],
                            ),
                        ] {
                            if let Route::Pay(chosen) = resolve(m, &s, Some(link)) {
                                let ct = channel_type(chosen, Some(link));
                                assert!(!forbidden.contains(&ct), "{s:?} {m:?} {link:?} -> {ct:?}");
                            }
                        }
                    }
                }
            }
        }
    }
}
