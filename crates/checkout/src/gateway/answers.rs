//! SOUSHOU answers → what the domain needs: the shopper's pay action, the
//! evidence a `query` or `preOrder` answer gives, what a refund,
//! `refundQuery` or `cancelTrade` answer lets the books record, and what
//! each failure class does.
//!
//! Why here and tolerant: `soushou::model` already reads sloppy wire forms
//! (absent fields are `None`, lists may be one object); this module decides
//! which absences matter. A field a method cannot work without (the
//! WeChat JSAPI parameters, Alipay's trade number, a `BAR_CODE`) is
//! [`Error::GatewayIncomplete`]; anything else absent is carried as `None`
//! and judged by the decision that needs it (a `query` answer without
//! `AMT` is never evidence of money: `settle::evidence`).
//!
//! Failures follow one convention, the one `cancel_evidence` set: a call's
//! outcome is `Ok(())` for `SUCCESS`, `Err(Some(code))` for another
//! `RESULT.CODE`, and `Err(None)` for a fault that carries no code (a
//! timeout, an HTTP error, garbage), which says nothing about the effect.

use soushou::model::{OrderResp, QueryResp, RefundQueryResp, RefundResp};
use soushou::types::{OrderState, ResultCode};
use soushou::Fen;

use crate::api::{
    FundPart, GatewayOrder, GatewayRefund, GatewayRefundLine, PayAction, PayMethod, WechatPayParams,
};
use crate::error::Error;
use crate::settle::Report;
use crate::vocab::{OrderStatus, RefundState};

/// A call's outcome as the mappings below read it: `Ok(())` for a
/// `SUCCESS`, `Err(Some(code))` for another `RESULT.CODE`, `Err(None)` for a
/// fault without one.
pub type Outcome<'a> = Result<(), Option<&'a ResultCode>>;

/// What a non-success `RESULT.CODE` says about the request's effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The gateway refused the request; it did nothing (appendix 5:
    /// parameter, signature, amount, contract, merchant, state refusals).
    Refused,
    /// The outcome is unknown: the gateway (or a system behind it) failed
    /// while handling the request, which may or may not have taken effect.
    Unknown,
}

/// Classifies a non-success `RESULT.CODE` (appendix 5).
///
/// `SERIAL_REPEAT` is unknown, not a refusal: our serials are fresh random
/// numbers, so the gateway knowing one means an earlier delivery of this
/// very request reached it — whose outcome is what we do not know. Codes
/// this version does not know are unknown too (the safe side: `query`
/// settles them, whereas a wrong refusal loses track of money).
pub fn classify(code: &ResultCode) -> Verdict {
    use ResultCode as C;
    match code {
        C::Fail
        | C::IllegalParameter
        | C::InvalidSign
        | C::AmtError
        | C::InvalidContract
        | C::UnregisteredBusi
        | C::ChargeNonexistent
        | C::AreadyRevoked => Verdict::Refused,
        C::Success
        | C::DatabaseError
        | C::Exception
        | C::ServiceUnavailable
        | C::HttpException
        | C::IoException
        | C::CreateSecurityConnectionError
        | C::SerialRepeat
        | C::Unknown(_) => Verdict::Unknown,
    }
}

/// What the shopper's page must do, from a creating call's answer (`order`,
/// `creatOrder`, `wapOrder`) for `method`: [`PayAction::from_gateway`] with
/// a missing field as the crate's [`Error::GatewayIncomplete`].
pub fn pay_action(method: PayMethod, resp: &OrderResp) -> Result<PayAction, Error> {
    PayAction::from_gateway(method, resp).map_err(|field| Error::GatewayIncomplete { field })
}

/// The QR content of a NATIVE `order` (the merchant's `POST /v1/qr-orders`
/// shows it): the non-empty `BAR_CODE`.
pub fn qr_content(resp: &OrderResp) -> Result<String, Error> {
    need(&resp.bar_code, "BAR_CODE").map_err(|field| Error::GatewayIncomplete { field })
}

/// A required answer field: present and non-empty, else its wire name.
fn need(v: &Option<String>, name: &'static str) -> Result<String, &'static str> {
    v.as_deref()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or(name)
}

/// The serial numbers a creating answer gives the attempt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Serials<'a> {
    /// `CHARGE_DOWN_CODE`: the gateway's (a refund names the payment by it).
    pub charge_down_code: Option<&'a str>,
    /// `CHARGE_THIRD_CODE`: the wallet's.
    pub charge_third_code: Option<&'a str>,
}

/// The serials to store from a creating answer (`order`, `creatOrder`,
/// `wapOrder`, `preOrder`), so later queries, refunds and notifications can
/// name the payment. Both are optional: an answer without them is still an
/// answer, and `query` works by our charge code.
pub fn serials(resp: &OrderResp) -> Serials<'_> {
    Serials {
        charge_down_code: resp.charge_down_code.as_deref().filter(|s| !s.is_empty()),
        charge_third_code: resp.charge_third_code.as_deref().filter(|s| !s.is_empty()),
    }
}

/// [`classify`] of a failure, a fault without a code being
/// [`Verdict::Unknown`]: only the gateway's own word is a refusal.
pub fn verdict(failure: Option<&ResultCode>) -> Verdict {
    failure.map_or(Verdict::Unknown, classify)
}

/// What a creating call's outcome (`order`, `creatOrder`, `wapOrder`,
/// `preOrder`) records on the attempt now: a final refusal fails it (the
/// gateway did nothing); a success or an unknown outcome records nothing —
/// the attempt stays pending until a notification or `query` settles it
/// (a `preOrder`'s own evidence is [`Report::of_pre_order`]).
pub fn attempt_after(outcome: Outcome<'_>) -> Option<OrderStatus> {
    match outcome {
        Err(failure) if verdict(failure) == Verdict::Refused => Some(OrderStatus::Failed),
        _ => None,
    }
}

/// What a `refund` call's outcome records on the reserved refund: a success
/// is done, a final refusal failed; anything else leaves it pending for
/// `refundQuery` to settle (the money may have moved).
pub fn refund_after(outcome: Outcome<'_>) -> Option<RefundState> {
    match outcome {
        Ok(()) => Some(RefundState::Succeeded),
        Err(failure) if verdict(failure) == Verdict::Refused => Some(RefundState::Failed),
        Err(_) => None,
    }
}

/// Whether a `query` or `cancelTrade` failure says the gateway never heard
/// of the attempt (`CHARGE_NONEXISTENT`): its creating call never arrived,
/// so no money is tied to it. (How long to wait before believing it is the
/// flow's policy, not the answer's.)
pub fn never_heard_of(failure: Option<&ResultCode>) -> bool {
    failure == Some(&ResultCode::ChargeNonexistent)
}

/// The refunds `refundQuery` lists, as [`refund_evidence`] reads them.
pub fn listed_refunds(resp: &RefundQueryResp) -> Vec<ListedRefund<'_>> {
    resp.refund_trade_list
        .iter()
        .map(|r| ListedRefund {
            refund_code: r.refund_code.as_deref(),
            amount: r.refund_amt,
            state: r.state.as_ref(),
        })
        .collect()
}

/// The refunds `refundQuery` lists, as the merchant's
/// `GET /v1/orders/{code}/refunds` shows them (codes and yuan as given;
/// every field optional, as the gateway may leave any out).
pub fn refund_lines(resp: &RefundQueryResp) -> Vec<GatewayRefundLine> {
    resp.refund_trade_list
        .iter()
        .map(|r| GatewayRefundLine {
            refund_code: r.refund_code.clone(),
            refund_down_code: r.refund_down_code.clone(),
            amount: r.refund_amt.map(|a| a.to_yuan()),
            amount_fen: r.refund_amt.map(Fen::fen),
            state: r.state.as_ref().map(|s| s.code().to_owned()),
            end_time: r.end_time.clone(),
        })
        .collect()
}

impl PayAction {
    /// What the page must do for `method`, from the gateway's order answer.
    /// `Err` names the field the gateway left out or empty (the Worker
    /// answers `gateway_incomplete`): without it the page could not pay.
    /// [`pay_action`] is the same with the crate's error.
    pub fn from_gateway(method: PayMethod, resp: &OrderResp) -> Result<PayAction, &'static str> {
        Ok(match method {
            PayMethod::WechatJsapi => PayAction::WechatJsapi {
                params: WechatPayParams {
                    app_id: need(&resp.app_id, "appId")?,
                    time_stamp: need(&resp.time_stamp, "timeStamp")?,
                    nonce_str: need(&resp.nonce_str, "nonceStr")?,
                    package: need(&resp.package_data, "packageData")?,
                    sign_type: need(&resp.sign_type, "signType")?,
                    pay_sign: need(&resp.sign, "sign")?,
                },
            },
            PayMethod::AlipayJsapi => PayAction::AlipayTradePay {
                trade_no: need(&resp.charge_third_code, "CHARGE_THIRD_CODE")?,
            },
            PayMethod::Wap => PayAction::Redirect {
                url: need(&resp.bar_code, "BAR_CODE")?,
            },
            PayMethod::Native => {
                let content = need(&resp.bar_code, "BAR_CODE")?;
                PayAction::Qr {
                    svg: crate::qr::svg(&content),
                    content,
                }
            }
        })
    }
}

impl<'a> Report<'a> {
    /// The report a `query` answer makes.
    pub fn of_query(resp: &'a QueryResp) -> Self {
        Report {
            charge_code: resp.charge_code.as_deref(),
            busi_id: resp.busi_id.as_deref(),
            amount: resp.amt,
            state: resp.state.as_ref(),
        }
    }

    /// The report a `preOrder` answer makes. It has no `STATE`: a `SUCCESS`
    /// with fund bills is the gateway saying the money was taken; one
    /// without (the shopper still typing a password) says nothing yet.
    pub fn of_pre_order(resp: &'a OrderResp) -> Self {
        const PAID: &OrderState = &OrderState::Paid;
        Report {
            charge_code: resp.charge_code.as_deref(),
            busi_id: None,
            amount: resp.amt,
            state: (!resp.fund_bill_list.is_empty()).then_some(PAID),
        }
    }
}

/// The API status a gateway order state (appendix 4) stands for.
///
/// `None` for states that say nothing definite about the payment: 3
/// (revocation applied for, not yet done), 7 (reserved), 8 (refund in
/// progress), 9 (a refund failed; the order keeps its state), the refund
/// record states 10 and 11 (use [`after_refund`](crate::state::after_refund) with the totals instead),
/// and values this version does not know.
pub fn status_of(state: &OrderState) -> Option<OrderStatus> {
    match state {
        OrderState::Pending => Some(OrderStatus::Pending),
        OrderState::Paid => Some(OrderStatus::Paid),
        OrderState::Revoked => Some(OrderStatus::Revoked),
        OrderState::PartiallyRefunded => Some(OrderStatus::PartiallyRefunded),
        OrderState::Refunded => Some(OrderStatus::Refunded),
        OrderState::Closed => Some(OrderStatus::Closed),
        OrderState::RevocationApplied
        | OrderState::Reserved
        | OrderState::Refunding
        | OrderState::RefundFailed
        | OrderState::RefundPending
        | OrderState::RefundSucceeded
        | OrderState::Unknown(_) => None,
    }
}

impl From<&QueryResp> for GatewayOrder {
    fn from(r: &QueryResp) -> Self {
        GatewayOrder {
            state: r.state.as_ref().map(|s| s.code().to_owned()),
            amount: r.amt.map(|a| a.to_yuan()),
            amount_fen: r.amt.map(Fen::fen),
            channel_type: r.channel_type.as_ref().map(|c| c.code().to_owned()),
            charge_down_code: r.charge_down_code.clone(),
            charge_third_code: None,
            end_time: r.end_time.clone(),
        }
    }
}

impl From<&OrderResp> for GatewayOrder {
    fn from(r: &OrderResp) -> Self {
        GatewayOrder {
            state: None,
            amount: r.amt.map(|a| a.to_yuan()),
            amount_fen: r.amt.map(Fen::fen),
            channel_type: r.channel_type.as_ref().map(|c| c.code().to_owned()),
            charge_down_code: r.charge_down_code.clone(),
            charge_third_code: r.charge_third_code.clone(),
            end_time: r.end_time.clone(),
        }
    }
}

impl From<&RefundResp> for GatewayRefund {
    fn from(r: &RefundResp) -> Self {
        GatewayRefund {
            channel_type: r.channel_type.as_ref().map(|c| c.code().to_owned()),
            fund_bills: r
                .fund_bill_list
                .iter()
                .map(|b| FundPart {
                    fund_channel: b.fund_channel.code().to_owned(),
                    amount: b.amount.to_yuan(),
                    amount_fen: b.amount.fen(),
                })
                .collect(),
        }
    }
}

/// One refund as `refundQuery` lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListedRefund<'a> {
    /// `REFUND_CODE` (our `OUT_REFUND_NO`).
    pub refund_code: Option<&'a str>,
    /// `REFUND_AMT`, fen.
    pub amount: Option<Fen>,
    /// `STATE`: 10 pending, 11 succeeded, 9 failed.
    pub state: Option<&'a OrderState>,
}

/// What `refundQuery` says about one of our refunds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundEvidence {
    /// Listed as succeeded with our amount: the refund is done.
    Done,
    /// Listed as failed: it did not happen.
    Failed,
    /// Listed, but not (yet) in a final state: ask again later.
    InProgress,
    /// Not listed: the gateway never made it; sending it again under the
    /// same number is safe (a repeat is refused as `SERIAL_REPEAT`).
    Absent,
    /// Listed with another amount: never count it; log it for a person.
    Distrust,
}

/// Finds our refund `out_refund_no` of `amount` among the listed ones.
pub fn refund_evidence(
    out_refund_no: &str,
    amount: Fen,
    listed: &[ListedRefund<'_>],
) -> RefundEvidence {
    let Some(r) = listed.iter().find(|r| r.refund_code == Some(out_refund_no)) else {
        return RefundEvidence::Absent;
    };
    if r.amount != Some(amount) {
        return RefundEvidence::Distrust;
    }
    match r.state {
        Some(OrderState::RefundSucceeded) | Some(OrderState::Refunded) => RefundEvidence::Done,
        Some(OrderState::RefundFailed) => RefundEvidence::Failed,
        _ => RefundEvidence::InProgress,
    }
}

/// What a `cancelTrade` answer lets the books record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelEvidence {
    /// The gateway revoked it on this request: record `revoked`.
    Revoked,
    /// The gateway says it was revoked before, but with a refusal code:
    /// this request did nothing, and whether an earlier one did is for the
    /// ledger to say. Ask `query` now and record what it reports.
    AskQuery,
    /// Nothing to record now; the re-check window's queries settle it.
    Nothing,
}

/// Decides what a `cancelTrade` answer proves. `applied_for`: the request
/// only applied for a revocation (`opType=ACO`); `answer`: `Ok` for a
/// `SUCCESS`, else the non-success `RESULT.CODE` if the gateway gave one
/// (`Err(None)`: a fault — timeout, HTTP error, garbage — that says nothing).
///
/// A real-time `SUCCESS` is the gateway acting on this request. An
/// `AREADY_REVOKED` is a refusal, so it is never booked on its word: a
/// revocation that is not in the ledger would show the link unpaid while
/// the gateway holds the money (a gateway answering it in error, or a
/// revocation of another attempt confused with this one). Any other answer
/// — an applied-for revocation, a refusal, an outcome-unknown code — says
/// nothing yet.
pub fn cancel_evidence(
    applied_for: bool,
    answer: Result<(), Option<&ResultCode>>,
) -> CancelEvidence {
    match answer {
        Ok(()) if !applied_for => CancelEvidence::Revoked,
        Err(Some(ResultCode::AreadyRevoked)) => CancelEvidence::AskQuery,
        _ => CancelEvidence::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use soushou::codec;
    use soushou::model::{FundBill, RefundTrade};
    use soushou::types::{ChannelType, FundChannel};

    use super::*;
    use OrderStatus::*;

    fn f(n: u64) -> Fen {
        Fen::from_fen(n)
    }

    /// A gateway answer with every field any method needs.
    fn full_order_resp() -> OrderResp {
        let some = |s: &str| Some(s.to_owned());
        OrderResp {
            app_id: some("wx123"),
            time_stamp: some("1795600000"),
            nonce_str: some("nonce"),
            package_data: some("prepay_id=wx42"),
            sign_type: some("RSA"),
            sign: some("c2lnbg=="),
            charge_third_code: some("2026120222001"),
            bar_code: some("weixin://wxpay/bizpayurl?pr=abc"),
            ..OrderResp::default()
        }
    }

    #[test]
    fn pay_action_takes_each_methods_fields_from_the_gateway() {
        let resp = full_order_resp();
        let cases: Vec<(PayMethod, PayAction)> = vec![
            (
                PayMethod::WechatJsapi,
                PayAction::WechatJsapi {
                    params: WechatPayParams {
                        app_id: "wx123".into(),
                        time_stamp: "1795600000".into(),
                        nonce_str: "nonce".into(),
                        package: "prepay_id=wx42".into(),
                        sign_type: "RSA".into(),
                        pay_sign: "c2lnbg==".into(),
                    },
                },
            ),
            (
                PayMethod::AlipayJsapi,
                PayAction::AlipayTradePay {
                    trade_no: "2026120222001".into(),
                },
            ),
            (
                PayMethod::Wap,
                PayAction::Redirect {
                    url: "weixin://wxpay/bizpayurl?pr=abc".into(),
                },
            ),
            (
                PayMethod::Native,
                PayAction::Qr {
                    content: "weixin://wxpay/bizpayurl?pr=abc".into(),
                    svg: crate::qr::svg("weixin://wxpay/bizpayurl?pr=abc"),
                },
            ),
        ];
        for (method, want) in cases {
            assert_eq!(
                PayAction::from_gateway(method, &resp),
                Ok(want),
                "{method:?}"
            );
        }
        let Ok(PayAction::Qr { svg: Some(svg), .. }) =
            PayAction::from_gateway(PayMethod::Native, &resp)
        else {
            panic!("a short BAR_CODE must get an SVG");
        };
        assert!(svg.starts_with("<svg"), "{svg}");
    }

    #[test]
    fn pay_action_names_the_missing_or_empty_gateway_field() {
        type Blank = fn(&mut OrderResp);
        let cases: [(PayMethod, Blank, &str); 8] = [
            (PayMethod::WechatJsapi, |r| r.app_id = None, "appId"),
            (
                PayMethod::WechatJsapi,
                |r| r.time_stamp = Some(String::new()),
                "timeStamp",
            ),
            (PayMethod::WechatJsapi, |r| r.nonce_str = None, "nonceStr"),
            (
                PayMethod::WechatJsapi,
                |r| r.package_data = None,
                "packageData",
            ),
            (PayMethod::WechatJsapi, |r| r.sign_type = None, "signType"),
            (
                PayMethod::WechatJsapi,
                |r| r.sign = Some(String::new()),
                "sign",
            ),
            (
                PayMethod::AlipayJsapi,
                |r| r.charge_third_code = None,
                "CHARGE_THIRD_CODE",
            ),
            (
                PayMethod::Wap,
                |r| r.bar_code = Some(String::new()),
                "BAR_CODE",
            ),
        ];
        for (method, blank, field) in cases {
            let mut resp = full_order_resp();
            blank(&mut resp);
            assert_eq!(
                PayAction::from_gateway(method, &resp),
                Err(field),
                "{method:?}"
            );
        }
        let mut resp = full_order_resp();
        resp.bar_code = None;
        assert_eq!(
            PayAction::from_gateway(PayMethod::Native, &resp),
            Err("BAR_CODE")
        );
        // A method takes only its own fields: WAP does not need WeChat's.
        resp = full_order_resp();
        resp.app_id = None;
        assert!(PayAction::from_gateway(PayMethod::Wap, &resp).is_ok());
    }

    #[test]
    fn every_appendix_5_code_is_classified() {
        // Written out by hand from appendix 5, not derived from the code.
        let table: &[(&str, Verdict)] = &[
            ("FAIL", Verdict::Refused),
            ("ILLEGAL_PARAMETER", Verdict::Refused),
            ("INVALID_SIGN", Verdict::Refused),
            ("AMT_ERROR", Verdict::Refused),
            ("DATABASE_ERROR", Verdict::Unknown),
            ("INVALID_CONTRACT", Verdict::Refused),
            ("UNREGISTERED_BUSI", Verdict::Refused),
            ("EXCEPTION", Verdict::Unknown),
            ("CHARGE_NONEXISTENT", Verdict::Refused),
            ("SERVICE_UNAVAILABLE", Verdict::Unknown),
            ("HTTP_EXCEPTION", Verdict::Unknown),
            ("IO_EXCEPTION", Verdict::Unknown),
            ("CREATE_SECURITY_CONNECTION_ERROR", Verdict::Unknown),
            ("AREADY_REVOKED", Verdict::Refused),
            ("SERIAL_REPEAT", Verdict::Unknown),
            ("SOMETHING_NEW", Verdict::Unknown),
            ("", Verdict::Unknown),
        ];
        for (code, verdict) in table {
            assert_eq!(classify(&ResultCode::from_code(code)), *verdict, "{code}");
        }
        for code in ResultCode::APPENDIX_5 {
            assert!(
                table.iter().any(|(c, _)| *c == code.as_str()),
                "{code:?} not in the table"
            );
        }
    }

    #[test]
    fn a_pre_order_answer_reports_paid_only_with_fund_bills() {
        let mut resp = OrderResp {
            charge_code: Some("c1".into()),
            amt: Some(Fen::from_fen(100)),
            ..OrderResp::default()
        };
        let r = Report::of_pre_order(&resp);
        assert_eq!(
            (r.charge_code, r.amount, r.state),
            (Some("c1"), Some(Fen::from_fen(100)), None)
        );
        resp.fund_bill_list = vec![soushou::model::FundBill {
            fund_channel: soushou::types::FundChannel::Unknown("11".into()),
            amount: Fen::from_fen(100),
        }];
        assert_eq!(Report::of_pre_order(&resp).state, Some(&OrderState::Paid));
        let q = QueryResp {
            charge_code: Some("c1".into()),
            busi_id: Some("b".into()),
            state: Some(OrderState::Paid),
            ..QueryResp::default()
        };
        let r = Report::of_query(&q);
        assert_eq!((r.busi_id, r.state), (Some("b"), Some(&OrderState::Paid)));
    }

    #[test]
    fn gateway_states() {
        let cases = [
            (OrderState::Pending, Some(Pending)),
            (OrderState::Paid, Some(Paid)),
            (OrderState::Revoked, Some(Revoked)),
            (OrderState::RevocationApplied, None),
            (OrderState::PartiallyRefunded, Some(PartiallyRefunded)),
            (OrderState::Refunded, Some(Refunded)),
            (OrderState::Closed, Some(Closed)),
            (OrderState::Reserved, None),
            (OrderState::Refunding, None),
            (OrderState::RefundFailed, None),
            (OrderState::RefundPending, None),
            (OrderState::RefundSucceeded, None),
            (OrderState::Unknown("42".into()), None),
        ];
        for (g, s) in cases {
            assert_eq!(status_of(&g), s, "{g:?}");
        }
    }

    #[test]
    fn refund_evidence_table() {
        use OrderState as S;
        let l = |code: &'static str, amt: u64, state: &'static OrderState| ListedRefund {
            refund_code: Some(code),
            amount: Some(f(amt)),
            state: Some(state),
        };
        let cases: &[(&[ListedRefund<'static>], RefundEvidence)] = &[
            (&[], RefundEvidence::Absent),
            (
                &[l("other", 500, &S::RefundSucceeded)],
                RefundEvidence::Absent,
            ),
            (&[l("R1", 500, &S::RefundSucceeded)], RefundEvidence::Done),
            (&[l("R1", 500, &S::Refunded)], RefundEvidence::Done),
            (
                &[l("R1", 499, &S::RefundSucceeded)],
                RefundEvidence::Distrust,
            ),
            (
                &[l("R1", 500, &S::RefundPending)],
                RefundEvidence::InProgress,
            ),
            (&[l("R1", 500, &S::Refunding)], RefundEvidence::InProgress),
            (&[l("R1", 500, &S::RefundFailed)], RefundEvidence::Failed),
            (
                &[ListedRefund {
                    refund_code: Some("R1"),
                    amount: None,
                    state: Some(&S::RefundSucceeded),
                }],
                RefundEvidence::Distrust,
            ),
            (
                &[ListedRefund {
                    refund_code: Some("R1"),
                    amount: Some(f(500)),
                    state: None,
                }],
                RefundEvidence::InProgress,
            ),
        ];
        for (listed, want) in cases {
            assert_eq!(refund_evidence("R1", f(500), listed), *want, "{listed:?}");
        }
    }

    #[test]
    fn what_a_cancel_answer_proves() {
        use CancelEvidence::*;
        let code = |c| Err(Some(c));
        let cases = [
            (false, Ok(()), Revoked),
            (true, Ok(()), Nothing),
            (false, code(ResultCode::AreadyRevoked), AskQuery),
            (true, code(ResultCode::AreadyRevoked), AskQuery),
            (false, code(ResultCode::Fail), Nothing),
            (false, code(ResultCode::ChargeNonexistent), Nothing),
            (false, code(ResultCode::Exception), Nothing),
            // A timeout or a garbled answer proves nothing: the re-check
            // window's queries settle it.
            (false, Err(None), Nothing),
            (true, Err(None), Nothing),
        ];
        for (applied_for, answer, want) in cases {
            let answer = answer.as_ref().map(|_| ()).map_err(Option::as_ref);
            assert_eq!(
                cancel_evidence(applied_for, answer),
                want,
                "{applied_for} {answer:?}"
            );
        }
    }

    #[test]
    fn pay_action_names_the_missing_field_as_the_crates_error() {
        let resp = full_order_resp();
        for method in [
            PayMethod::WechatJsapi,
            PayMethod::AlipayJsapi,
            PayMethod::Wap,
            PayMethod::Native,
        ] {
            assert_eq!(
                pay_action(method, &resp),
                PayAction::from_gateway(method, &resp).map_err(|_| unreachable!()),
                "{method:?}"
            );
        }
        let bare = OrderResp::default();
        let cases = [
            (PayMethod::WechatJsapi, "appId"),
            (PayMethod::AlipayJsapi, "CHARGE_THIRD_CODE"),
            (PayMethod::Wap, "BAR_CODE"),
            (PayMethod::Native, "BAR_CODE"),
        ];
        for (method, field) in cases {
            assert_eq!(
                pay_action(method, &bare),
                Err(Error::GatewayIncomplete { field }),
                "{method:?}"
            );
        }
    }

    #[test]
    fn qr_content_needs_a_bar_code() {
        let with = |b: Option<&str>| OrderResp {
            bar_code: b.map(str::to_owned),
            ..OrderResp::default()
        };
        let missing = Err(Error::GatewayIncomplete { field: "BAR_CODE" });
        let cases = [
            (
                Some("weixin://wxpay/bizpayurl?pr=abc"),
                Ok("weixin://wxpay/bizpayurl?pr=abc".to_owned()),
            ),
            (Some(""), missing.clone()),
            (None, missing),
        ];
        for (bar_code, want) in cases {
            assert_eq!(qr_content(&with(bar_code)), want, "{bar_code:?}");
        }
    }

    /// Serials as the wire spells them, both spellings of the third code,
    /// and an answer without either.
    #[test]
    fn serials_from_the_wire() {
        let cases: [(&[u8], Serials<'static>); 4] = [
            (
                br#"{"ORDER_RESP":{"RESULT":{"CODE":"SUCCESS","INFO":""},"CHARGE_DOWN_CODE":"D1","CHARGE_THIRD_CODE":"T1"}}"#,
                Serials { charge_down_code: Some("D1"), charge_third_code: Some("T1") },
            ),
            (
                br#"{"ORDER_RESP":{"RESULT":{"CODE":"SUCCESS","INFO":""},"CHARGE_DOWN_CODE":"D1","charge_THIRD_CODE":"T1"}}"#,
                Serials { charge_down_code: Some("D1"), charge_third_code: Some("T1") },
            ),
            (
                br#"{"ORDER_RESP":{"RESULT":{"CODE":"SUCCESS","INFO":""},"CHARGE_DOWN_CODE":"","BAR_CODE":"x"}}"#,
                Serials::default(),
            ),
            (
                b"<ORDER_RESP><RESULT><CODE>SUCCESS</CODE><INFO/></RESULT><CHARGE_DOWN_CODE>D1</CHARGE_DOWN_CODE></ORDER_RESP>",
                Serials { charge_down_code: Some("D1"), charge_third_code: None },
            ),
        ];
        for (wire, want) in cases {
            let resp: OrderResp = codec::decode(wire).unwrap();
            assert_eq!(serials(&resp), want, "{}", String::from_utf8_lossy(wire));
        }
    }

    /// Every failure class of a creating call and of a refund, and what the
    /// books record for it.
    #[test]
    fn what_each_outcome_records() {
        use ResultCode as C;
        let unknown = C::Unknown("SOMETHING_NEW".into());
        let cases: [(Outcome<'_>, Option<OrderStatus>, Option<RefundState>); 9] = [
            (Ok(()), None, Some(RefundState::Succeeded)),
            (Err(Some(&C::Fail)), Some(Failed), Some(RefundState::Failed)),
            (
                Err(Some(&C::AmtError)),
                Some(Failed),
                Some(RefundState::Failed),
            ),
            (
                Err(Some(&C::ChargeNonexistent)),
                Some(Failed),
                Some(RefundState::Failed),
            ),
            (Err(Some(&C::Exception)), None, None),
            (Err(Some(&C::ServiceUnavailable)), None, None),
            // Our serials are fresh: a repeat is an earlier delivery of this
            // very request, whose outcome is unknown.
            (Err(Some(&C::SerialRepeat)), None, None),
            (Err(Some(&unknown)), None, None),
            // A timeout, an HTTP error, garbage: nothing is known.
            (Err(None), None, None),
        ];
        for (outcome, attempt, refund) in cases {
            assert_eq!(attempt_after(outcome), attempt, "{outcome:?}");
            assert_eq!(refund_after(outcome), refund, "{outcome:?}");
        }
        // The whole of appendix 5 agrees with the classification.
        for code in &ResultCode::APPENDIX_5 {
            let refused = classify(code) == Verdict::Refused;
            assert_eq!(
                attempt_after(Err(Some(code))).is_some(),
                refused,
                "{code:?}"
            );
            assert_eq!(verdict(Some(code)), classify(code));
        }
        assert_eq!(verdict(None), Verdict::Unknown);
    }

    #[test]
    fn only_charge_nonexistent_means_never_heard_of() {
        use ResultCode as C;
        let cases = [
            (None, false),
            (Some(C::ChargeNonexistent), true),
            (Some(C::AreadyRevoked), false),
            (Some(C::Fail), false),
            (Some(C::Exception), false),
        ];
        for (failure, want) in cases {
            assert_eq!(never_heard_of(failure.as_ref()), want, "{failure:?}");
        }
    }

    /// The merchant's view of a `query` and a `preOrder` answer: every field
    /// copied when given, `None` when absent (a tolerant reader).
    #[test]
    fn gateway_order_views() {
        let q: QueryResp = codec::decode(
            br#"{"QUERY_RESP":{"RESULT":{"CODE":"SUCCESS","INFO":""},"AMT":"1250","CHANNEL_TYPE":2,"CHARGE_DOWN_CODE":"D1","STATE":"1","END_TIME":"2026-12-07 10:00:00"}}"#,
        )
        .unwrap();
        assert_eq!(
            GatewayOrder::from(&q),
            GatewayOrder {
                state: Some("1".into()),
                amount: Some("12.50".into()),
                amount_fen: Some(1250),
                channel_type: Some("2".into()),
                charge_down_code: Some("D1".into()),
                charge_third_code: None,
                end_time: Some("2026-12-07 10:00:00".into()),
            }
        );
        assert_eq!(
            GatewayOrder::from(&QueryResp::default()),
            GatewayOrder::default()
        );
        let o = OrderResp {
            amt: Some(f(1250)),
            channel_type: Some(ChannelType::Alipay),
            charge_down_code: Some("D1".into()),
            charge_third_code: Some("T1".into()),
            end_time: Some("e".into()),
            ..OrderResp::default()
        };
        assert_eq!(
            GatewayOrder::from(&o),
            GatewayOrder {
                state: None,
                amount: Some("12.50".into()),
                amount_fen: Some(1250),
                channel_type: Some("1".into()),
                charge_down_code: Some("D1".into()),
                charge_third_code: Some("T1".into()),
                end_time: Some("e".into()),
            }
        );
        assert_eq!(
            GatewayOrder::from(&OrderResp::default()),
            GatewayOrder::default()
        );
    }

    #[test]
    fn gateway_refund_view() {
        let r: RefundResp = codec::decode(
            br#"{"REFUND_RESP":{"RESULT":{"CODE":"SUCCESS","INFO":""},"CHANNEL_TYPE":"1","FUND_BILL_LIST":{"TRADEFUNDBILL":{"FUND_CHANNEL":"10","AMOUNT":"3.00"}}}}"#,
        )
        .unwrap();
        assert_eq!(
            GatewayRefund::from(&r),
            GatewayRefund {
                channel_type: Some("1".into()),
                fund_bills: vec![FundPart {
                    fund_channel: "10".into(),
                    amount: "3.00".into(),
                    amount_fen: 300,
                }],
            }
        );
        let bills = RefundResp {
            fund_bill_list: vec![
                FundBill {
                    fund_channel: FundChannel::AlipayBalance,
                    amount: f(100),
                },
                FundBill {
                    fund_channel: FundChannel::AlipayPoints,
                    amount: f(5),
                },
            ],
            ..RefundResp::default()
        };
        assert_eq!(GatewayRefund::from(&bills).fund_bills.len(), 2);
        assert_eq!(
            GatewayRefund::from(&RefundResp::default()),
            GatewayRefund::default()
        );
    }

    /// `refundQuery` as it arrives (one record unwrapped from
    /// `REFUND_TRADE`, or a list), read for the decision and for the
    /// merchant.
    #[test]
    fn refund_query_answers() {
        let one: RefundQueryResp = codec::decode(
            br#"{"REFUND_QUERY_RESP":{"RESULT":{"CODE":"SUCCESS","INFO":""},"REFUND_COUNT":"1","REFUND_TRADE_LIST":{"REFUND_TRADE":{"REFUND_CODE":"R1","REFUND_DOWN_CODE":"RD1","REFUND_AMT":"300","STATE":"11","END_TIME":"t"}}}}"#,
        )
        .unwrap();
        assert_eq!(
            listed_refunds(&one),
            vec![ListedRefund {
                refund_code: Some("R1"),
                amount: Some(f(300)),
                state: Some(&OrderState::RefundSucceeded),
            }]
        );
        assert_eq!(
            refund_evidence("R1", f(300), &listed_refunds(&one)),
            RefundEvidence::Done
        );
        assert_eq!(
            refund_lines(&one),
            vec![GatewayRefundLine {
                refund_code: Some("R1".into()),
                refund_down_code: Some("RD1".into()),
                amount: Some("3.00".into()),
                amount_fen: Some(300),
                state: Some("11".into()),
                end_time: Some("t".into()),
            }]
        );
        // A record the gateway left half empty is listed as it is; the
        // decision distrusts it rather than guessing.
        let sparse = RefundQueryResp {
            refund_trade_list: vec![RefundTrade {
                refund_code: Some("R1".into()),
                ..RefundTrade::default()
            }],
            ..RefundQueryResp::default()
        };
        assert_eq!(
            listed_refunds(&sparse),
            vec![ListedRefund {
                refund_code: Some("R1"),
                amount: None,
                state: None
            }]
        );
        assert_eq!(
            refund_evidence("R1", f(300), &listed_refunds(&sparse)),
            RefundEvidence::Distrust
        );
        assert_eq!(
            refund_lines(&sparse),
            vec![GatewayRefundLine {
                refund_code: Some("R1".into()),
                refund_down_code: None,
                amount: None,
                amount_fen: None,
                state: None,
                end_time: None,
            }]
        );
        // No list at all: nothing listed, so the refund is absent.
        let none: RefundQueryResp = codec::decode(
            br#"{"REFUND_QUERY_RESP":{"RESULT":{"CODE":"SUCCESS","INFO":""},"REFUND_COUNT":"0"}}"#,
        )
        .unwrap();
        assert!(listed_refunds(&none).is_empty() && refund_lines(&none).is_empty());
        assert_eq!(
            refund_evidence("R1", f(300), &listed_refunds(&none)),
            RefundEvidence::Absent
        );
    }

    /// A `query` answer from the wire, with and without the fields evidence
    /// needs.
    #[test]
    fn query_reports_from_the_wire() {
        let full: QueryResp = codec::decode(
            br#"{"QUERY_RESP":{"RESULT":{"CODE":"SUCCESS","INFO":""},"BUSI_ID":"B1","AMT":1250,"CHARGE_CODE":"C1","STATE":"1"}}"#,
        )
        .unwrap();
        assert_eq!(
            Report::of_query(&full),
            Report {
                charge_code: Some("C1"),
                busi_id: Some("B1"),
                amount: Some(f(1250)),
                state: Some(&OrderState::Paid),
            }
        );
        let bare: QueryResp =
            codec::decode(br#"{"QUERY_RESP":{"RESULT":{"CODE":"SUCCESS","INFO":""}}}"#).unwrap();
        assert_eq!(Report::of_query(&bare), Report::default());
    }
}
