//! zh-CN and English text of the console. The language is chosen as the
//! checkout page chooses it (`?lang=`, then the browser's languages, then
//! English: [`detect`]); every string exists in both languages by
//! construction: each language is one value of [`Strings`].

pub use checkout_page::i18n::{detect, Lang};

use checkout::access::Role;
use checkout::api::ErrorCode;
use checkout::vocab::OrderStatus;

use crate::error::Error;
use crate::route::Route;

/// The strings of `lang`.
pub fn t(lang: Lang) -> &'static Strings {
    match lang {
        Lang::ZhCn => &ZH,
        Lang::En => &EN,
    }
}

/// Every fixed string of the console.
#[allow(missing_docs)]
pub struct Strings {
    pub title: &'static str,
    pub own_name: &'static str,
    pub switch_label: &'static str,
    pub nav_label: &'static str,
    pub today: &'static str,
    pub orders: &'static str,
    pub order: &'static str,
    pub links: &'static str,
    pub new_link: &'static str,
    pub statements: &'static str,
    pub webhooks: &'static str,
    pub staff: &'static str,
    pub settings: &'static str,
    pub not_found: &'static str,
    pub not_allowed: &'static str,
    pub coming: &'static str,
    pub loading: &'static str,
    pub retry: &'static str,
    pub sign_in: &'static str,
    pub sign_in_intro: &'static str,
    pub key_label: &'static str,
    pub key_hint: &'static str,
    pub sign_in_button: &'static str,
    pub signing_in: &'static str,
    pub sign_out: &'static str,
    pub session_ended: &'static str,
    pub signed_in_as: &'static str,
    pub roles: [&'static str; 5],
    pub request_id: &'static str,
    pub e_network: &'static str,
    pub e_unauthorized: &'static str,
    pub e_forbidden: &'static str,
    pub e_not_found: &'static str,
    pub e_invalid: &'static str,
    pub e_amount: &'static str,
    pub e_rate_limited: &'static str,
    pub e_gateway: &'static str,
    pub e_conflict: &'static str,
    pub e_server: &'static str,
    pub e_unexpected: &'static str,
    pub new_counter_code: &'static str,
    pub payments: &'static str,
    pub refunds: &'static str,
    pub net: &'static str,
    pub count: &'static str,
    pub amount: &'static str,
    pub by_channel: &'static str,
    pub latest: &'static str,
    pub no_payments: &'static str,
    pub live_note: &'static str,
    pub differences_warning: &'static str,
    pub failed_webhooks_warning: &'static str,
    pub failed_webhooks_link: &'static str,
    pub differences: &'static str,
    pub states: [&'static str; 7],
    pub filters: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub state: &'static str,
    pub method: &'static str,
    pub channel: &'static str,
    pub link: &'static str,
    pub search: &'static str,
    pub any: &'static str,
    pub apply: &'static str,
    pub clear: &'static str,
    pub more: &'static str,
    pub no_orders: &'static str,
    pub csv: &'static str,
    pub subject: &'static str,
    pub created: &'static str,
    pub paid_at: &'static str,
    pub refunded: &'static str,
    pub history: &'static str,
    pub notifications: &'static str,
    pub gateway_view: &'static str,
    pub gateway_failed: &'static str,
    pub refund: &'static str,
    pub refund_amount: &'static str,
    pub refundable: &'static str,
    pub reason: &'static str,
    pub refund_confirm: &'static str,
    pub confirm: &'static str,
    pub back: &'static str,
    pub refund_done: &'static str,
    pub action_unknown: &'static str,
    pub cancel_order: &'static str,
    pub cancel_confirm: &'static str,
    pub cancel_done: &'static str,
    pub date: &'static str,
    pub no_statements: &'static str,
    pub e_reason: &'static str,
    pub e_exceeds: &'static str,
    pub e_not_refundable: &'static str,
    pub e_day: &'static str,
}

/// Simplified Chinese.
pub static ZH: Strings = Strings {
    title: "商户后台",
    own_name: "中文",
    switch_label: "切换语言",
    nav_label: "导航",
    today: "今日",
    orders: "订单",
    order: "订单详情",
    links: "收款码",
    new_link: "新建收款码",
    statements: "对账单",
    webhooks: "通知",
    staff: "员工",
    settings: "设置",
    not_found: "没有这个页面",
    not_allowed: "你的角色不能使用此页面",
    coming: "即将推出",
    loading: "正在加载…",
    retry: "重试",
    sign_in: "登录",
    sign_in_intro: "用店主发给你的登录链接打开，或输入一次 API 密钥。",
    key_label: "API 密钥",
    key_hint: "以 sk_ 开头；只用于这次登录，不会保存在浏览器里。",
    sign_in_button: "登录",
    signing_in: "正在登录…",
    sign_out: "退出登录",
    session_ended: "登录已过期，请重新登录，之后会回到刚才的页面。",
    signed_in_as: "已登录",
    roles: ["店主", "经理", "收银员", "会计", "只读"],
    request_id: "请求编号",
    e_network: "网络中断，结果未知；请检查网络后重试。",
    e_unauthorized: "密钥或登录无效、已撤销或已过期。",
    e_forbidden: "你的角色无权执行此操作。",
    e_not_found: "未找到。",
    e_invalid: "输入有误，请检查。",
    e_amount: "金额无效。",
    e_rate_limited: "尝试次数过多，请稍后再试。",
    e_gateway: "支付通道暂时无法处理，请稍后重试。",
    e_conflict: "状态已变化，请刷新后再试。",
    e_server: "服务器出错，请稍后重试。",
    e_unexpected: "收到无法识别的回复。",
    new_counter_code: "新建柜台收款码",
    payments: "收款",
    refunds: "退款",
    net: "净额",
    count: "笔数",
    amount: "金额",
    by_channel: "按渠道",
    latest: "最新收款",
    no_payments: "今天还没有收款。",
    live_note: "自动刷新，无需重新加载。",
    differences_warning: "对账单有差异，请核对：",
    failed_webhooks_warning: "Webhook 发送失败的事件：",
    failed_webhooks_link: "查看并重新发送",
    differences: "差异",
    states: [
        "待支付",
        "已支付",
        "已关闭",
        "已撤销",
        "已退款",
        "部分退款",
        "失败",
    ],
    filters: "筛选",
    from: "开始日期",
    to: "结束日期",
    state: "状态",
    method: "支付方式",
    channel: "渠道",
    link: "收款码 ID",
    search: "搜索（订单号、商户单号、商品）",
    any: "全部",
    apply: "应用",
    clear: "清除",
    more: "加载更多",
    no_orders: "没有符合条件的订单。",
    csv: "下载 CSV",
    subject: "商品",
    created: "创建时间",
    paid_at: "支付时间",
    refunded: "已退款",
    history: "状态记录",
    notifications: "支付通知",
    gateway_view: "支付通道实时状态",
    gateway_failed: "暂时无法查询支付通道",
    refund: "退款",
    refund_amount: "退款金额（元）",
    refundable: "可退",
    reason: "退款原因",
    refund_confirm: "确认退款",
    confirm: "确认",
    back: "返回",
    refund_done: "退款已提交",
    action_unknown: "网络中断，已重新读取订单：下方的状态和退款记录说明操作是否已完成。",
    cancel_order: "撤销订单",
    cancel_confirm: "确认撤销此订单？",
    cancel_done: "已撤销",
    date: "日期",
    no_statements: "还没有对账单（每天结束后生成）。",
    e_reason: "请填写退款原因（最多 128 字）。",
    e_exceeds: "超过可退金额。",
    e_not_refundable: "此订单当前不能退款。",
    e_day: "日期格式应为 YYYY-MM-DD。",
};

/// English.
pub static EN: Strings = Strings {
    title: "Merchant console",
    own_name: "English",
    switch_label: "Switch language",
    nav_label: "Navigation",
    today: "Today",
    orders: "Orders",
    order: "Order",
    links: "Links",
    new_link: "New link",
    statements: "Statements",
    webhooks: "Webhooks",
    staff: "Staff",
    settings: "Settings",
    not_found: "No such page",
    not_allowed: "Your role cannot use this page",
    coming: "Coming soon",
    loading: "Loading…",
    retry: "Retry",
    sign_in: "Sign in",
    sign_in_intro: "Open the sign-in link the owner sent you, or type an API key once.",
    key_label: "API key",
    key_hint: "Starts with sk_; used for this sign-in only, never stored in the browser.",
    sign_in_button: "Sign in",
    signing_in: "Signing in…",
    sign_out: "Sign out",
    session_ended: "Your session ended. Sign in again to return to where you were.",
    signed_in_as: "Signed in",
    roles: ["Owner", "Manager", "Cashier", "Accountant", "Viewer"],
    request_id: "Request id",
    e_network: "The network dropped; the result is unknown. Check the connection and retry.",
    e_unauthorized: "The key or sign-in is invalid, revoked or expired.",
    e_forbidden: "Your role may not do this.",
    e_not_found: "Not found.",
    e_invalid: "Something in the input is wrong; please check it.",
    e_amount: "That amount is not valid.",
    e_rate_limited: "Too many attempts; try again later.",
    e_gateway: "The payment gateway could not handle this now; try again later.",
    e_conflict: "The state changed; refresh and try again.",
    e_server: "The server failed; try again later.",
    e_unexpected: "Got an answer the console does not understand.",
    new_counter_code: "New counter code",
    payments: "Payments",
    refunds: "Refunds",
    net: "Net",
    count: "Count",
    amount: "Amount",
    by_channel: "By channel",
    latest: "Latest payments",
    no_payments: "No payments yet today.",
    live_note: "Updates by itself; no need to reload.",
    differences_warning: "A statement has differences to check:",
    failed_webhooks_warning: "Webhook events whose delivery failed:",
    failed_webhooks_link: "see and redeliver them",
    differences: "Differences",
    states: [
        "Pending",
        "Paid",
        "Closed",
        "Revoked",
        "Refunded",
        "Partly refunded",
        "Failed",
    ],
    filters: "Filters",
    from: "From",
    to: "To",
    state: "State",
    method: "Method",
    channel: "Channel",
    link: "Link id",
    search: "Search (charge code, ref, subject)",
    any: "Any",
    apply: "Apply",
    clear: "Clear",
    more: "Load more",
    no_orders: "No orders match.",
    csv: "Download CSV",
    subject: "Subject",
    created: "Created",
    paid_at: "Paid",
    refunded: "Refunded",
    history: "State history",
    notifications: "Payment notifications",
    gateway_view: "The gateway's live view",
    gateway_failed: "The gateway could not be asked now",
    refund: "Refund",
    refund_amount: "Amount to refund (yuan)",
    refundable: "Refundable",
    reason: "Reason",
    refund_confirm: "Confirm the refund",
    confirm: "Confirm",
    back: "Back",
    refund_done: "Refund sent",
    action_unknown: "The network dropped; the order was read again: its state and refunds below say whether it happened.",
    cancel_order: "Cancel the order",
    cancel_confirm: "Cancel this order?",
    cancel_done: "Cancelled",
    date: "Date",
    no_statements: "No statements yet (each is made after its day ends).",
    e_reason: "Give a reason (at most 128 characters).",
    e_exceeds: "More than can be refunded.",
    e_not_refundable: "This order cannot be refunded now.",
    e_day: "Dates are written YYYY-MM-DD.",
};

impl Strings {
    /// A role's name.
    pub fn role(&self, role: Role) -> &'static str {
        let i = match role {
            Role::Owner => 0,
            Role::Manager => 1,
            Role::Cashier => 2,
            Role::Accountant => 3,
            Role::Viewer => 4,
        };
        self.roles[i]
    }

    /// An order state's name (`states` follows `OrderStatus::ALL`; an
    /// unknown spelling shows as the API wrote it).
    pub fn order_state<'a>(&self, state: &'a str) -> &'a str
    where
        'static: 'a,
    {
        OrderStatus::ALL
            .iter()
            .position(|s| s.as_str() == state)
            .map_or(state, |i| self.states[i])
    }

    /// What the merchant is told about a field the console refused before
    /// sending (the Worker's own rule, `checkout::Error`).
    pub fn invalid(&self, error: &checkout::Error) -> &'static str {
        match error {
            checkout::Error::RefundExceeds { .. } => self.e_exceeds,
            checkout::Error::NotRefundable { .. } => self.e_not_refundable,
            checkout::Error::InvalidRequest {
                field: "reason", ..
            } => self.e_reason,
            _ => self.e_amount,
        }
    }

    /// A screen's name (navigation, headings, the document title).
    pub fn screen(&self, route: &Route) -> &'static str {
        match route {
            Route::SignIn => self.sign_in,
            Route::Today => self.today,
            Route::Orders { .. } => self.orders,
            Route::Order(_) => self.order,
            Route::Statements => self.statements,
            Route::Links => self.links,
            Route::NewLink { .. } => self.new_link,
            Route::Webhooks { .. } => self.webhooks,
            Route::Staff => self.staff,
            Route::Settings => self.settings,
            Route::NotFound => self.not_found,
        }
    }

    /// What the merchant is told about `error` (the request id is shown
    /// beside it by the screen).
    pub fn error(&self, error: &Error) -> String {
        use ErrorCode as C;
        match error {
            Error::Network(_) => self.e_network.to_owned(),
            Error::Decode(_) => self.e_unexpected.to_owned(),
            Error::Invalid(e) => self.invalid(e).to_owned(),
            Error::Answer {
                detail: None,
                status,
                ..
            } => match status {
                401 => self.e_unauthorized,
                500.. => self.e_server,
                _ => self.e_unexpected,
            }
            .to_owned(),
            Error::Answer {
                detail: Some(detail),
                status,
                ..
            } => {
                let text = match &detail.code {
                    C::Unauthorized => self.e_unauthorized,
                    C::Forbidden | C::CrossSite => self.e_forbidden,
                    C::NotFound => self.e_not_found,
                    C::InvalidAmount => self.e_amount,
                    C::RefundExceeds => self.e_exceeds,
                    C::NotRefundable => self.e_not_refundable,
                    C::RateLimited => self.e_rate_limited,
                    C::GatewayTimeout | C::GatewayUnavailable | C::GatewayRejected => {
                        self.e_gateway
                    }
                    _ if *status == 409 => self.e_conflict,
                    _ if *status >= 500 => self.e_server,
                    _ => self.e_invalid,
                };
                // The API's own message (English) adds the detail the code
                // cannot (which field, which limit).
                if detail.message.is_empty() {
                    text.to_owned()
                } else {
                    format!("{text} ({})", detail.message)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_is_chosen_as_the_page_chooses_it() {
        assert_eq!(detect(Some("en"), &["zh-CN".into()]), Lang::En);
        assert_eq!(detect(None, &["zh-TW".into(), "en".into()]), Lang::ZhCn);
        assert_eq!(detect(None, &[]), Lang::En);
    }

    #[test]
    fn errors_read_in_both_languages() {
        let e = crate::error::from_answer(
            403,
            Some(
                &serde_json::json!({"error":{"code":"FORBIDDEN","message":"needs refunds:write"}}),
            ),
            None,
        );
        assert_eq!(
            EN.error(&e),
            "Your role may not do this. (needs refunds:write)"
        );
        assert!(ZH.error(&e).starts_with("你的角色无权"));
        assert_eq!(ZH.error(&Error::Network("x".into())), ZH.e_network);
        assert_eq!(EN.role(Role::Cashier), "Cashier");
        assert_eq!(ZH.screen(&Route::Today), "今日");
    }
}
