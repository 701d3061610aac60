//! Desktop: the QR code to scan, the amount, and the live status.

use leptos::prelude::*;

use super::{OrderNo, PollLine, Summary, Title};
use crate::ctx::Ctx;

/// The QR screen; `svg` is markup made by [`checkout::qr::svg`] in Rust.
#[component]
pub fn QrScreen(charge_code: String, svg: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let amount = {
        ctx.with(|s| s.link.as_ref().map(|l| crate::format::yuan(l.money.fen())))
            .unwrap_or_default()
    };
    view! {
        <div class="qr-box">
            <Title text=t.scan_title/>
            <p class="amount" id="qr-amount">{amount}</p>
            <div class="qr" id="qr" role="img" aria-label=t.scan_title inner_html=svg></div>
            <p class="hint">{t.scan_hint}</p>
            <PollLine/>
            <OrderNo charge_code/>
        </div>
        <Summary compact=true/>
    }
}
