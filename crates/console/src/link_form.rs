//! The links screens' pure part (host-tested): the new-link form checked
//! the way the Worker checks it (`checkout::api::CreateLinkRequest::to_payload`,
//! the very function behind `POST /v1/links`) with each refusal placed at
//! the field that caused it; what the shopper will see (the live preview,
//! the printed card); the no-JavaScript embed snippet.

use checkout::api::CreateLinkRequest;
use checkout::shell::escape;
use checkout::vocab::{GoodsLine, LinkKind};
use checkout_page::decode::{enum_str, opt_string, opt_uint, string};

use crate::decode::{boolean, FromJson, Json};

/// A form field a refusal is shown next to (its element id is
/// `link-{name}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The fixed amount.
    Amount,
    /// The smallest amount.
    Min,
    /// The largest amount.
    Max,
    /// What is paid for.
    Subject,
    /// The merchant's reference.
    Ref,
    /// Lifetime in hours.
    Expires,
    /// Where the shopper goes after paying.
    ReturnUrl,
    /// Goods lines.
    Goods,
}

impl Field {
    /// The field's name (its element id is `link-{name}`).
    pub fn name(self) -> &'static str {
        match self {
            Field::Amount => "amount",
            Field::Min => "min",
            Field::Max => "max",
            Field::Subject => "subject",
            Field::Ref => "ref",
            Field::Expires => "expires",
            Field::ReturnUrl => "return-url",
            Field::Goods => "goods",
        }
    }
}

/// The new-link form as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    /// `fixed`, `open` or `counter`.
    pub kind: Option<LinkKind>,
    /// The fixed amount, yuan.
    pub amount: String,
    /// The smallest amount, yuan.
    pub min: String,
    /// The largest amount, yuan.
    pub max: String,
    /// What is paid for.
    pub subject: String,
    /// The merchant's reference (optional).
    pub reference: String,
    /// Lifetime in hours (optional; a counter code lasts until deactivated).
    pub expires_hours: String,
    /// Where to send the shopper afterwards (optional).
    pub return_url: String,
    /// Goods, one per line: `name, price, quantity` (optional).
    pub goods: String,
}

/// A counter code's bounds when the cashier changes nothing: from one fen
/// to the API's largest amount, so creating one is a single tap.
pub const COUNTER_MIN: &str = "0.01";
/// See [`COUNTER_MIN`].
pub const COUNTER_MAX: &str = "10000.00";

impl Form {
    /// The form a kind opens with: a counter code ready to create as is
    /// (bounds filled in, the subject given by the caller: the shop's name).
    pub fn new(kind: LinkKind, subject: &str) -> Form {
        let counter = kind == LinkKind::Counter;
        Form {
            kind: Some(kind),
            min: if counter {
                COUNTER_MIN.into()
            } else {
                String::new()
            },
            max: if counter {
                COUNTER_MAX.into()
            } else {
                String::new()
            },
            subject: subject.to_owned(),
            ..Form::default()
        }
    }

    /// The kind, `fixed` unless chosen.
    pub fn kind(&self) -> LinkKind {
        self.kind.unwrap_or(LinkKind::Fixed)
    }

    /// The `POST /v1/links` body, or the first refusal and the field it
    /// belongs to: the API's own checks (`to_payload`), run before sending.
    pub fn request(&self) -> Result<CreateLinkRequest, (Field, checkout::Error)> {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let fixed = self.kind() == LinkKind::Fixed;
        // Each amount alone first, so the refusal sits at its own field.
        let amounts: &[(Field, &str)] = if fixed {
            &[(Field::Amount, &self.amount)]
        } else {
            &[(Field::Min, &self.min), (Field::Max, &self.max)]
        };
        for (field, value) in amounts {
            checkout::amount::parse_api_amount(value.trim()).map_err(|e| (*field, e))?;
        }
        let expires_in = match opt(&self.expires_hours) {
            None => None,
            Some(h) => Some(
                h.parse::<u64>()
                    .ok()
                    .and_then(|h| h.checked_mul(3600))
                    .ok_or((
                        Field::Expires,
                        checkout::Error::InvalidRequest {
                            field: "expires_in",
                            reason: "must be a whole number of hours",
                        },
                    ))?,
            ),
        };
        let req = CreateLinkRequest {
            amount: fixed.then(|| self.amount.trim().to_owned()),
            min_amount: (!fixed).then(|| self.min.trim().to_owned()),
            max_amount: (!fixed).then(|| self.max.trim().to_owned()),
            subject: self.subject.clone(),
            r#ref: opt(&self.reference),
            expires_in,
            return_url: opt(&self.return_url),
            goods: goods(&self.goods).map_err(|e| (Field::Goods, e))?,
            channel: None,
            kind: Some(self.kind()),
        };
        // The Worker's own validation; `now` and the nonce do not matter here.
        req.to_payload(0, String::new())
            .map_err(|e| (field_of(&e, fixed), e))?;
        Ok(req)
    }
}

/// The field a refusal of `to_payload` names.
fn field_of(e: &checkout::Error, fixed: bool) -> Field {
    match e {
        checkout::Error::InvalidRequest { field, .. } => match *field {
            "subject" => Field::Subject,
            "ref" => Field::Ref,
            "expires_in" => Field::Expires,
            "return_url" => Field::ReturnUrl,
            f if f.starts_with("goods") => Field::Goods,
            _ if fixed => Field::Amount,
            _ => Field::Max,
        },
        _ if fixed => Field::Amount,
        // Bounds that are each fine but inverted: the upper one is wrong.
        _ => Field::Max,
    }
}

/// Goods lines typed as `name, price, quantity` (quantity optional, 1).
pub fn goods(text: &str) -> Result<Vec<GoodsLine>, checkout::Error> {
    let bad = |reason| checkout::Error::InvalidRequest {
        field: "goods",
        reason,
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| {
            let parts: Vec<&str> = line.split([',', '，']).map(str::trim).collect();
            let (name, price, quantity) = match parts.as_slice() {
                [name, price] => (*name, *price, 1),
                [name, price, q] => (
                    *name,
                    *price,
                    q.parse::<u32>()
                        .ok()
                        .filter(|q| *q > 0)
                        .ok_or(bad("quantity must be a whole number above 0"))?,
                ),
                _ => return Err(bad("write each line as: name, price, quantity")),
            };
            Ok(GoodsLine {
                id: format!("{}", i + 1),
                name: name.to_owned(),
                price: price.to_owned(),
                quantity,
            })
        })
        .collect()
}

/// A link as `GET /v1/links` and `POST /v1/links` answer it (tolerant:
/// only what the screens show).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Its id.
    pub id: String,
    /// Its kind.
    pub kind: LinkKind,
    /// The page's address (`null` for a link stored without its token).
    pub url: Option<String>,
    /// The token.
    pub token: Option<String>,
    /// Whether it takes payments.
    pub active: bool,
    /// What is paid for (the list has it; a create answer does not).
    pub subject: Option<String>,
    /// The merchant's reference.
    pub reference: Option<String>,
    /// A fixed link's amount, yuan.
    pub amount: Option<String>,
    /// An open link's or counter code's bounds, yuan.
    pub min_amount: Option<String>,
    /// See `min_amount`.
    pub max_amount: Option<String>,
    /// Unix seconds; `null`: never.
    pub expires_at: Option<u64>,
    /// Unix seconds.
    pub created_at: Option<u64>,
}

impl FromJson for Link {
    fn from_json<J: Json>(v: &J) -> Result<Self, crate::Error> {
        Ok(Link {
            id: string(v, "id")?,
            kind: enum_str(v, "kind")?,
            url: opt_string(v, "url"),
            token: opt_string(v, "token"),
            active: boolean(v, "active")?,
            subject: opt_string(v, "subject"),
            reference: opt_string(v, "ref"),
            amount: opt_string(v, "amount"),
            min_amount: opt_string(v, "min_amount"),
            max_amount: opt_string(v, "max_amount"),
            expires_at: opt_uint(v, "expires_at")?,
            created_at: opt_uint(v, "created_at")?,
        })
    }
}

/// What a link charges, as its card says it: `¥12.30`, or `any` with the
/// bounds (`¥0.01–¥10000.00`) for the shopper's own amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Charge {
    /// A fixed amount, yuan.
    Fixed(String),
    /// The shopper's own amount within bounds, yuan.
    Any(Option<String>, Option<String>),
}

impl Charge {
    /// The form's charge, as typed.
    pub fn of_form(f: &Form) -> Charge {
        match f.kind() {
            LinkKind::Fixed => Charge::Fixed(f.amount.trim().to_owned()),
            _ => Charge::Any(
                Some(f.min.trim().to_owned()).filter(|s| !s.is_empty()),
                Some(f.max.trim().to_owned()).filter(|s| !s.is_empty()),
            ),
        }
    }

    /// A stored link's charge.
    pub fn of_link(l: &Link) -> Charge {
        match (&l.amount, l.kind) {
            (Some(a), LinkKind::Fixed) => Charge::Fixed(a.clone()),
            _ => Charge::Any(l.min_amount.clone(), l.max_amount.clone()),
        }
    }

    /// The bounds as `¥min–¥max` (empty for a fixed amount or none known).
    pub fn bounds(&self) -> String {
        match self {
            Charge::Fixed(_) => String::new(),
            Charge::Any(Some(lo), Some(hi)) => format!("¥{lo}–¥{hi}"),
            Charge::Any(None, Some(hi)) => format!("≤ ¥{hi}"),
            Charge::Any(Some(lo), None) => format!("≥ ¥{lo}"),
            Charge::Any(None, None) => String::new(),
        }
    }
}

/// The public QR image's address of a link page's `url` (`…/c/{token}`
/// → `…/c/{token}/qr.svg`).
pub fn qr_url(url: &str) -> String {
    format!("{}/qr.svg", url.trim_end_matches('/'))
}

/// The embed snippet: a styled pay link and the link's QR image, plain
/// HTML that works on any page without JavaScript (inline styles, so no
/// stylesheet is needed; nothing but the link's own public URLs).
pub fn embed_snippet(url: &str, label: &str, alt: &str) -> String {
    let (url, label, alt) = (escape(url), escape(label), escape(alt));
    let qr = escape(&qr_url(&url));
    format!(
        "<div style=\"display:inline-block;text-align:center;font-family:sans-serif\">\n  \
         <a href=\"{url}\" rel=\"noopener\" style=\"display:inline-block;padding:12px 24px;\
         border-radius:8px;background:#067a44;color:#fff;font-size:16px;font-weight:600;\
         text-decoration:none\">{label}</a>\n  \
         <br>\n  \
         <img src=\"{qr}\" alt=\"{alt}\" width=\"160\" height=\"160\" style=\"margin-top:8px\">\n\
         </div>"
    )
}

/// The wallets the printed card names (every wallet's scanner opens the page).
pub const WALLETS: &str = "WeChat · Alipay · UnionPay";

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: LinkKind) -> Form {
        Form::new(kind, "Tea house")
    }

    #[test]
    fn a_counter_code_is_ready_to_create_as_it_opens() {
        let req = form(LinkKind::Counter).request().unwrap();
        assert_eq!(req.kind, Some(LinkKind::Counter));
        assert_eq!(
            (req.min_amount.as_deref(), req.max_amount.as_deref()),
            (Some(COUNTER_MIN), Some(COUNTER_MAX))
        );
        assert_eq!((req.amount, req.expires_in), (None, None));
        assert_eq!(req.subject, "Tea house");
    }

    #[test]
    fn refusals_sit_at_their_field() {
        let at = |f: Form| f.request().unwrap_err().0;
        let mut f = form(LinkKind::Fixed);
        assert_eq!(at(f.clone()), Field::Amount);
        f.amount = "12.345".into();
        assert_eq!(at(f.clone()), Field::Amount);
        f.amount = "12.30".into();
        assert!(f.request().is_ok());
        let mut s = f.clone();
        s.subject = "  ".into();
        assert_eq!(at(s), Field::Subject);
        let mut r = f.clone();
        r.return_url = "javascript:alert(1)".into();
        assert_eq!(at(r), Field::ReturnUrl);
        let mut x = f.clone();
        x.expires_hours = "soon".into();
        assert_eq!(at(x.clone()), Field::Expires);
        x.expires_hours = "721".into();
        assert_eq!(at(x.clone()), Field::Expires, "over 30 days");
        x.expires_hours = "2".into();
        assert_eq!(x.request().unwrap().expires_in, Some(7200));
        let mut g = f.clone();
        g.goods = "tea".into();
        assert_eq!(at(g.clone()), Field::Goods);
        g.goods = "tea, 6.25, 2\n\n茶，1.00".into();
        let req = g.request().unwrap();
        assert_eq!(req.goods.len(), 2);
        assert_eq!(
            (req.goods[0].quantity, req.goods[1].name.as_str()),
            (2, "茶")
        );
        g.goods = "tea, 6.255".into();
        assert_eq!(at(g), Field::Goods);

        let mut o = form(LinkKind::Open);
        assert_eq!(at(o.clone()), Field::Min);
        o.min = "5.00".into();
        assert_eq!(at(o.clone()), Field::Max);
        o.max = "1.00".into();
        assert_eq!(at(o.clone()), Field::Max, "inverted bounds");
        o.max = "9.00".into();
        let req = o.request().unwrap();
        assert_eq!(req.kind, Some(LinkKind::Open));
        assert_eq!(req.amount, None);
    }

    #[test]
    fn what_the_card_says() {
        let mut f = form(LinkKind::Fixed);
        f.amount = " 12.30 ".into();
        assert_eq!(Charge::of_form(&f), Charge::Fixed("12.30".into()));
        let c = Charge::of_form(&form(LinkKind::Counter));
        assert_eq!(c.bounds(), "¥0.01–¥10000.00");
        let link = Link::from_json(&serde_json::json!({"id":"L","kind":"open",
            "url":"https://w/c/T","token":"T","active":true,"subject":"s","ref":null,
            "amount":null,"min_amount":"1.00","max_amount":"9.00","expires_at":null,
            "created_at":5,"deactivated_at":null,"new":1}))
        .unwrap();
        assert_eq!(
            Charge::of_link(&link),
            Charge::Any(Some("1.00".into()), Some("9.00".into()))
        );
        assert_eq!(qr_url(link.url.as_deref().unwrap()), "https://w/c/T/qr.svg");
    }

    #[test]
    fn the_embed_snippet_is_plain_escaped_html() {
        let s = embed_snippet("https://w.example/c/T", "Pay <now> & \"go\"", "QR");
        assert!(s.contains("href=\"https://w.example/c/T\""), "{s}");
        assert!(s.contains("src=\"https://w.example/c/T/qr.svg\""), "{s}");
        assert!(s.contains("Pay &lt;now&gt; &amp; &quot;go&quot;"), "{s}");
        assert!(!s.contains("<script"), "{s}");
        assert!(!s.contains("<now>"), "{s}");
    }
}
