//! What the console reads from the list answers (tolerant readers: only
//! the fields it shows; a field added to the API changes nothing here).
//! Answers with a contract type in `checkout::api` (an order, a refund,
//! a statement) are read as that type instead.

use serde::Deserialize;

/// `{"data": [...], "has_more"}`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Page<T> {
    /// The page, newest first.
    pub data: Vec<T>,
    /// Whether more follow the last one (`starting_after` its id).
    #[serde(default)]
    pub has_more: bool,
}

/// An order of `GET /v1/orders`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct OrderRow {
    /// Its id.
    pub charge_code: String,
    /// The link it pays.
    #[serde(default)]
    pub link_id: Option<String>,
    /// The link's merchant reference.
    #[serde(default, rename = "ref")]
    pub reference: Option<String>,
    /// What was bought.
    #[serde(default)]
    pub subject: String,
    /// How (`wechat_jsapi`, `native`, …).
    #[serde(default)]
    pub method: String,
    /// The wallet (`alipay`, `wechat`, …).
    #[serde(default)]
    pub channel: String,
    /// `pending`, `paid`, `refunded`, …
    pub state: String,
    /// In fen.
    pub amount_fen: u64,
    /// Refunded so far, in fen.
    #[serde(default)]
    pub refunded_fen: u64,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, once paid.
    #[serde(default)]
    pub paid_at: Option<u64>,
}

/// A refund of `GET /v1/refunds`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RefundRow {
    /// Its id (`out_refund_no`).
    pub id: String,
    /// The refunded order.
    pub charge_code: String,
    /// In fen.
    pub amount_fen: u64,
    /// `pending`, `succeeded`, `failed`.
    pub state: String,
    /// Unix seconds.
    pub created_at: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_answers_read_tolerantly() {
        let page: Page<OrderRow> = serde_json::from_str(
            r#"{"data":[{"charge_code":"C1","link_id":null,"ref":"r-1","subject":"Tea",
            "kind":"link","method":"native","channel":"wechat","state":"paid","amount":"1.00",
            "amount_fen":100,"refunded_fen":0,"created_at":5,"paid_at":6,"new_field":1}],
            "has_more":true}"#,
        )
        .unwrap();
        assert!(page.has_more);
        assert_eq!(page.data[0].reference.as_deref(), Some("r-1"));
        assert_eq!(page.data[0].paid_at, Some(6));
    }
}
