//! zh-CN and English text. Every string exists in both languages by
//! construction: each language is one value of the same struct.

use crate::error::Problem;
use crate::format::TimeLeft;
use crate::outcome::BridgeOutcome;

/// A language the page speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Simplified Chinese.
    ZhCn,
    /// English.
    En,
}

impl Lang {
    /// Reads a BCP 47 tag loosely: any `zh*` is Chinese, any `en*` English.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        if tag.starts_with("zh") {
            Some(Lang::ZhCn)
        } else if tag.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The `lang` attribute / `?lang=` spelling.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language (the switch toggles between the two).
    pub fn other(self) -> Lang {
        match self {
            Lang::ZhCn => Lang::En,
            Lang::En => Lang::ZhCn,
        }
    }

    /// Unix seconds as a local date and time in this language, in the zone
    /// `offset_east_secs` east of UTC, written as the browsers' `Intl`
    /// writes `{dateStyle: "medium", timeStyle: "short"}` ("2026年12月2日
    /// 14:30", "Dec 2, 2026, 2:30 PM"). Done here rather than by `Intl`:
    /// its first call loads locale data, ~90 ms of a throttled phone's CPU
    /// before the pay button, and older webviews ignore `dateStyle`.
    pub fn datetime(self, unix_secs: u64, offset_east_secs: i64) -> String {
        let local = unix_secs.saturating_add_signed(offset_east_secs);
        let c = crate::format::civil(local, 0);
        match self {
            Lang::ZhCn => format!(
                "{}年{}月{}日 {:02}:{:02}",
                c.year, c.month, c.day, c.hour, c.minute
            ),
            Lang::En => {
                const MONTHS: [&str; 12] = [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec",
                ];
                let month = MONTHS[(c.month as usize).saturating_sub(1) % 12];
                let (hour, half) = match c.hour {
                    0 => (12, "AM"),
                    h @ 1..=11 => (h, "AM"),
                    12 => (12, "PM"),
                    h => (h - 12, "PM"),
                };
                format!(
                    "{month} {}, {}, {hour}:{:02} {half}",
                    c.day, c.year, c.minute
                )
            }
        }
    }

    /// The strings of this language.
    pub fn t(self) -> &'static Strings {
        match self {
            Lang::ZhCn => &ZH,
            Lang::En => &EN,
        }
    }
}

/// Picks the language: `?lang=` first, then the browser's preferred
/// languages in order, then English.
pub fn detect(query: Option<&str>, browser: &[String]) -> Lang {
    query
        .and_then(Lang::from_tag)
        .or_else(|| browser.iter().find_map(|l| Lang::from_tag(l)))
        .unwrap_or(Lang::En)
}

/// Every fixed string of the page.
#[allow(missing_docs)]
pub struct Strings {
    pub title: &'static str,
    pub loading: &'static str,
    pub switch_label: &'static str,
    pub own_name: &'static str,
    pub merchant: &'static str,
    pub subject: &'static str,
    pub amount: &'static str,
    pub amount_to_pay: &'static str,
    pub e_amount: &'static str,
    pub goods: &'static str,
    pub pay_within: &'static str,
    pub expires_at: &'static str,
    pub pay_wechat: &'static str,
    pub pay_alipay: &'static str,
    pub pay_wap: &'static str,
    pub pay_native: &'static str,
    pub creating: &'static str,
    pub opening_wechat: &'static str,
    pub opening_alipay: &'static str,
    pub redirecting: &'static str,
    pub redirect_link: &'static str,
    pub scan_title: &'static str,
    pub scan_hint: &'static str,
    pub waiting: &'static str,
    pub confirming: &'static str,
    pub order_no: &'static str,
    pub cancelled: &'static str,
    pub cancelled_body: &'static str,
    pub wallet_failed: &'static str,
    pub wallet_network: &'static str,
    pub pay_again: &'static str,
    pub paid_title: &'static str,
    pub paid_at: &'static str,
    pub return_merchant: &'static str,
    pub failed_title: &'static str,
    pub failed_body: &'static str,
    pub closed_title: &'static str,
    pub closed_body: &'static str,
    pub refunded_title: &'static str,
    pub refunded_body: &'static str,
    pub invalid_title: &'static str,
    pub invalid_body: &'static str,
    pub expired_title: &'static str,
    pub expired_body: &'static str,
    pub inactive_title: &'static str,
    pub already_paid_title: &'static str,
    pub already_paid_body: &'static str,
    pub browser_title: &'static str,
    pub browser_body: &'static str,
    pub retry: &'static str,
    pub poll_trouble: &'static str,
    pub gave_up: &'static str,
    pub check_again: &'static str,
    pub error_title: &'static str,
    pub e_network: &'static str,
    pub e_gateway_timeout: &'static str,
    pub e_gateway_unavailable: &'static str,
    pub e_gateway_rejected: &'static str,
    pub e_gateway_code: &'static str,
    pub e_storage: &'static str,
    pub e_misconfigured: &'static str,
    pub e_not_found: &'static str,
    pub e_bad_request: &'static str,
    pub e_server: &'static str,
    pub e_wallet: &'static str,
    /// `SIGNIN_INVALID` (the page then signs in again).
    pub e_signin: &'static str,
    pub e_unexpected: &'static str,
    pub minutes: &'static str,
    pub hours: &'static str,
    pub days: &'static str,
}

/// English.
pub static EN: Strings = Strings {
    title: "Checkout",
    loading: "Loading payment details…",
    switch_label: "Switch language",
    own_name: "English",
    merchant: "Payee",
    subject: "For",
    amount: "Amount",
    amount_to_pay: "Amount to pay (yuan)",
    e_amount: "Enter an amount within the range shown, in yuan with at most two decimals.",
    goods: "Items",
    pay_within: "Pay within {t}",
    expires_at: "Link expires",
    pay_wechat: "Pay with WeChat Pay",
    pay_alipay: "Pay with Alipay",
    pay_wap: "Pay now",
    pay_native: "Show payment QR code",
    creating: "Creating your order…",
    opening_wechat: "Opening WeChat Pay…",
    opening_alipay: "Opening Alipay…",
    redirecting: "Opening the payment app…",
    redirect_link: "Nothing happening? Tap here",
    scan_title: "Scan to pay",
    scan_hint: "Scan this code with the payment app on your phone.",
    waiting: "Waiting for payment…",
    confirming: "Confirming your payment…",
    order_no: "Order no.",
    cancelled: "Payment cancelled",
    cancelled_body: "You closed the payment window. You can pay again.",
    wallet_failed: "The payment did not go through",
    wallet_network: "The payment app could not connect",
    pay_again: "Pay again",
    paid_title: "Payment successful",
    paid_at: "Paid at",
    return_merchant: "Return to merchant",
    failed_title: "Payment failed",
    failed_body: "The payment service reported a failure. Nothing was charged.",
    closed_title: "Payment closed",
    closed_body: "This payment was closed without being paid.",
    refunded_title: "Payment refunded",
    refunded_body: "This payment has been refunded.",
    invalid_title: "This payment link is not valid",
    invalid_body: "Make sure you opened the complete link the merchant sent you.",
    expired_title: "This payment link has expired",
    expired_body: "Please ask the merchant for a new link.",
    inactive_title: "This code no longer accepts payments",
    already_paid_title: "Already paid",
    already_paid_body: "This link has already been paid. There is nothing more to pay.",
    browser_title: "Open in your browser",
    browser_body: "Alipay can't be used inside WeChat. Tap ··· at the top right and choose \"Open in Browser\".",
    retry: "Try again",
    poll_trouble: "Connection problem — still checking…",
    gave_up: "No confirmation yet.",
    check_again: "Check again",
    error_title: "Something went wrong",
    e_network: "Couldn't reach the server. Check your connection and try again.",
    e_gateway_timeout: "The payment service took too long to answer. Please try again.",
    e_gateway_unavailable: "The payment service is unavailable right now. Please try again shortly.",
    e_gateway_rejected: "The payment service declined the request.",
    e_gateway_code: "Code",
    e_storage: "The server could not save your order. Please try again.",
    e_misconfigured: "This shop's checkout is not set up correctly. Please contact the merchant.",
    e_not_found: "This order could not be found.",
    e_bad_request: "The request was not accepted.",
    e_server: "The server had a problem (HTTP {status}). Please try again.",
    e_wallet: "The payment app is not available here.",
    e_signin: "Please sign in with the payment app again.",
    e_unexpected: "Something unexpected happened. Please try again.",
    minutes: "{m} min",
    hours: "{h} h {m} min",
    days: "{d} d {h} h",
};

/// 简体中文.
pub static ZH: Strings = Strings {
    title: "收银台",
    loading: "正在加载订单信息…",
    switch_label: "切换语言",
    own_name: "中文",
    merchant: "收款方",
    subject: "商品",
    amount: "金额",
    amount_to_pay: "付款金额（元）",
    e_amount: "请输入范围内的金额，以元为单位，最多两位小数。",
    goods: "商品明细",
    pay_within: "请在{t}内完成支付",
    expires_at: "链接有效期至",
    pay_wechat: "微信支付",
    pay_alipay: "支付宝支付",
    pay_wap: "立即支付",
    pay_native: "显示付款二维码",
    creating: "正在创建订单…",
    opening_wechat: "正在打开微信支付…",
    opening_alipay: "正在打开支付宝…",
    redirecting: "正在跳转到支付应用…",
    redirect_link: "没有跳转？请点击这里",
    scan_title: "扫码支付",
    scan_hint: "请使用手机上的支付应用扫描二维码。",
    waiting: "等待支付…",
    confirming: "正在确认支付结果…",
    order_no: "订单号",
    cancelled: "支付已取消",
    cancelled_body: "您关闭了支付窗口，可以重新支付。",
    wallet_failed: "支付未成功",
    wallet_network: "支付应用网络连接失败",
    pay_again: "重新支付",
    paid_title: "支付成功",
    paid_at: "支付时间",
    return_merchant: "返回商户",
    failed_title: "支付失败",
    failed_body: "支付服务返回失败，未扣款。",
    closed_title: "订单已关闭",
    closed_body: "该笔订单已关闭，未支付。",
    refunded_title: "已退款",
    refunded_body: "该笔支付已退款。",
    invalid_title: "支付链接无效",
    invalid_body: "请确认打开的是商户发送的完整链接。",
    expired_title: "支付链接已过期",
    expired_body: "请联系商户获取新的支付链接。",
    inactive_title: "此码已停止收款",
    already_paid_title: "已支付",
    already_paid_body: "该链接已完成支付，无需重复付款。",
    browser_title: "请在浏览器中打开",
    browser_body: "微信内无法使用支付宝。请点击右上角“···”，选择“在浏览器打开”。",
    retry: "重试",
    poll_trouble: "网络不稳定，正在继续查询…",
    gave_up: "暂未收到支付结果。",
    check_again: "再次查询",
    error_title: "出错了",
    e_network: "无法连接服务器，请检查网络后重试。",
    e_gateway_timeout: "支付服务响应超时，请重试。",
    e_gateway_unavailable: "支付服务暂时不可用，请稍后重试。",
    e_gateway_rejected: "支付服务拒绝了该请求。",
    e_gateway_code: "代码",
    e_storage: "服务器保存订单失败，请重试。",
    e_misconfigured: "商户收银台配置有误，请联系商户。",
    e_not_found: "找不到该订单。",
    e_bad_request: "请求未被接受。",
    e_server: "服务器出错（HTTP {status}），请重试。",
    e_wallet: "当前环境无法使用支付应用。",
    e_signin: "请重新授权登录支付应用。",
    e_unexpected: "发生意外错误，请重试。",
    minutes: "{m}分钟",
    hours: "{h}小时{m}分钟",
    days: "{d}天{h}小时",
};

impl Strings {
    /// "Pay within 23 h 59 min"; `None` once expired.
    pub fn pay_within(&self, left: TimeLeft) -> Option<String> {
        let t = match left {
            TimeLeft::Expired => return None,
            TimeLeft::Minutes(m) => self.minutes.replace("{m}", &m.to_string()),
            TimeLeft::Hours(h, m) => self
                .hours
                .replace("{h}", &h.to_string())
                .replace("{m}", &m.to_string()),
            TimeLeft::Days(d, h) => self
                .days
                .replace("{d}", &d.to_string())
                .replace("{h}", &h.to_string()),
        };
        Some(self.pay_within.replace("{t}", &t))
    }

    /// The sentence for an error, by its stable code.
    pub fn problem(&self, problem: &Problem) -> String {
        match problem {
            Problem::InvalidLink => self.invalid_title.to_owned(),
            Problem::LinkExpired => self.expired_title.to_owned(),
            Problem::LinkInactive => self.inactive_title.to_owned(),
            Problem::AlreadyPaid => self.already_paid_body.to_owned(),
            Problem::NotFound => self.e_not_found.to_owned(),
            Problem::GatewayTimeout => self.e_gateway_timeout.to_owned(),
            Problem::GatewayUnavailable => self.e_gateway_unavailable.to_owned(),
            Problem::GatewayRejected(None) => self.e_gateway_rejected.to_owned(),
            Problem::GatewayRejected(Some(code)) => {
                format!(
                    "{} ({}: {code})",
                    self.e_gateway_rejected, self.e_gateway_code
                )
            }
            Problem::Storage => self.e_storage.to_owned(),
            Problem::Misconfigured => self.e_misconfigured.to_owned(),
            Problem::BadRequest => self.e_bad_request.to_owned(),
            Problem::InvalidAmount => self.e_amount.to_owned(),
            Problem::Server(status) => self.e_server.replace("{status}", &status.to_string()),
            Problem::Network => self.e_network.to_owned(),
            Problem::Wallet => self.e_wallet.to_owned(),
            Problem::SignIn => self.e_signin.to_owned(),
            Problem::Unexpected => self.e_unexpected.to_owned(),
        }
    }

    /// The headline after a wallet answered, while the Worker confirms.
    pub fn after_wallet(&self, outcome: &BridgeOutcome) -> &'static str {
        match outcome {
            BridgeOutcome::Ok | BridgeOutcome::Processing => self.confirming,
            BridgeOutcome::Cancelled => self.cancelled,
            BridgeOutcome::NetworkError => self.wallet_network,
            BridgeOutcome::Failed(_) => self.wallet_failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_order() {
        let zh = vec!["zh-CN".to_string(), "en".to_string()];
        let en = vec!["en-US".to_string(), "zh".to_string()];
        let fr = vec!["fr-FR".to_string(), "zh-TW".to_string()];
        assert_eq!(detect(None, &zh), Lang::ZhCn);
        assert_eq!(detect(None, &en), Lang::En);
        assert_eq!(detect(None, &fr), Lang::ZhCn);
        assert_eq!(detect(None, &[]), Lang::En);
        assert_eq!(detect(Some("en"), &zh), Lang::En);
        assert_eq!(detect(Some("zh-CN"), &en), Lang::ZhCn);
        assert_eq!(detect(Some("xx"), &en), Lang::En);
    }

    #[test]
    fn tags_round_trip() {
        for l in [Lang::ZhCn, Lang::En] {
            assert_eq!(Lang::from_tag(l.tag()), Some(l));
            assert_eq!(l.other().other(), l);
        }
    }

    #[test]
    fn time_left_sentences() {
        assert_eq!(
            EN.pay_within(TimeLeft::Hours(23, 5)).unwrap(),
            "Pay within 23 h 5 min"
        );
        assert_eq!(
            ZH.pay_within(TimeLeft::Minutes(3)).unwrap(),
            "请在3分钟内完成支付"
        );
        assert_eq!(
            ZH.pay_within(TimeLeft::Days(1, 2)).unwrap(),
            "请在1天2小时内完成支付"
        );
        assert_eq!(EN.pay_within(TimeLeft::Expired), None);
    }

    #[test]
    fn problems_have_text_in_both_languages() {
        let p = Problem::GatewayRejected(Some("AMT_ERROR".into()));
        assert!(EN.problem(&p).contains("AMT_ERROR"));
        assert!(ZH.problem(&p).contains("AMT_ERROR"));
        assert!(EN.problem(&Problem::Server(502)).contains("502"));
        assert_ne!(EN.problem(&Problem::Network), ZH.problem(&Problem::Network));
        assert_ne!(
            EN.problem(&Problem::InvalidAmount),
            ZH.problem(&Problem::InvalidAmount)
        );
    }

    #[test]
    fn datetimes_are_written_as_intl_writes_them() {
        // Expected values from Node's Intl: `new Date(ms).toLocaleString(tag,
        // {dateStyle: "medium", timeStyle: "short", timeZone})`.
        let cases = [
            (0, 8 * 3600, Lang::ZhCn, "1970年1月1日 08:00"),
            (0, 8 * 3600, Lang::En, "Jan 1, 1970, 8:00 AM"),
            (1_764_660_600, 8 * 3600, Lang::ZhCn, "2025年12月2日 15:30"),
            (1_764_660_600, 8 * 3600, Lang::En, "Dec 2, 2025, 3:30 PM"),
            (1_764_700_000, 8 * 3600, Lang::ZhCn, "2025年12月3日 02:26"),
            (1_764_700_000, 8 * 3600, Lang::En, "Dec 3, 2025, 2:26 AM"),
            // Midnight and noon in 12-hour English; a zone west of UTC.
            (1_764_633_600, 0, Lang::En, "Dec 2, 2025, 12:00 AM"),
            (1_764_676_800, 0, Lang::En, "Dec 2, 2025, 12:00 PM"),
            (1_764_633_600, -5 * 3600, Lang::En, "Dec 1, 2025, 7:00 PM"),
            (1_764_633_600, -5 * 3600, Lang::ZhCn, "2025年12月1日 19:00"),
        ];
        for (secs, offset, lang, want) in cases {
            assert_eq!(
                lang.datetime(secs, offset),
                want,
                "{secs} {offset} {lang:?}"
            );
        }
    }
}
