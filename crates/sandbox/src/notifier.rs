//! Asynchronous payment notifications (document §7).
//!
//! POSTed to `NODIFY_URL` with `sign` appended to its query; body format and
//! encryption follow the URL's own `_type`/`encrypt` (all done by
//! `soushou::envelope::build_notification`). Retried until HTTP 200, at most
//! `notify_attempts` times, `notify_interval_ms` apart. Each attempt is signed
//! afresh (new timestamp), and recorded for `GET /sandbox/notifications`.

use std::sync::Arc;
use std::time::Duration;

use soushou::envelope::{self, Notification};
use soushou::model::PayNotify;
use soushou::types::OrderState;
use soushou::MerchantKey;
use tokio::task::JoinSet;

use crate::clock::Stamp;
use crate::faults::{FaultMode, FaultTarget};
use crate::log::{self, NotificationRecord};
use crate::state::{state_code, Order};
use crate::{lock, App};

/// The `PAY_NODIFY` message for an order in its current state.
pub fn pay_notify(order: &Order) -> PayNotify {
    PayNotify {
        busi_id: order.new.busi_id.clone(),
        oper_id: order.new.oper_id.clone(),
        dev_id: order.new.dev_id.clone(),
        amt: order.new.amt,
        channel_type: order.new.channel_type.clone(),
        charge_code: order.charge_code().to_owned(),
        charge_down_code: order.charge_down_code.clone(),
        charge_third_code: order.charge_third_code.clone(),
        pay_subject: order.new.pay_subject.clone(),
        goods_detail: order.new.goods_detail.clone(),
        state: order.state.clone(),
        merchant_para: order.new.merchant_para.clone(),
        fund_bill_list: order.fund_bill_list.clone(),
        ..PayNotify::default()
    }
}

/// Starts delivering the payment notification of `order` in the background, if it has a `NODIFY_URL`.
pub fn schedule(app: &Arc<App>, order: &Order) {
    let Some(url) = order.new.nodify_url.clone() else {
        return;
    };
    let Some(merchant) = app.merchant(&order.new.busi_code) else {
        return;
    };
    let job = Job {
        url,
        key: merchant.key.clone(),
        charge_code: order.charge_code().to_owned(),
        notify: pay_notify(order),
    };
    tokio::spawn(deliver(app.clone(), job));
}

struct Job {
    url: String,
    key: MerchantKey,
    charge_code: String,
    notify: PayNotify,
}

async fn deliver(app: Arc<App>, job: Job) {
    match app.fault(FaultTarget::Notify) {
        Some(FaultMode::Drop) => {
            let id = lock(&app.notifications).next_id();
            app.record_notification(NotificationRecord {
                id,
                time: Stamp::now().gateway_time(),
                charge_code: job.charge_code.clone(),
                url: String::new(),
                attempt: 0,
                state: state_code(&job.notify.state),
                status: None,
                error: Some("never sent (drop fault)".into()),
                fault: Some(FaultMode::Drop.to_string()),
                copies: 0,
            });
        }
        Some(FaultMode::OutOfOrder) => {
            send_with_retries(&app, &job).await;
            // A stale notification from before the payment arrives after the real one.
            let stale = Job {
                notify: PayNotify {
                    state: OrderState::Pending,
                    charge_third_code: None,
                    fund_bill_list: Vec::new(),
                    ..job.notify.clone()
                },
                url: job.url.clone(),
                key: job.key.clone(),
                charge_code: job.charge_code.clone(),
            };
            send_with_retries(&app, &stale).await;
        }
        _ => {
            send_with_retries(&app, &job).await;
        }
    }
}

/// Sends until a 200 or the attempts run out; returns whether it was accepted.
async fn send_with_retries(app: &Arc<App>, job: &Job) -> bool {
    let settings = app.settings();
    for attempt in 1..=settings.notify_attempts {
        // Faults are re-read on every attempt so tests can change them mid-way.
        let fault = app.fault(FaultTarget::Notify);
        if let Some(FaultMode::Latency(d)) = fault {
            tokio::time::sleep(d).await;
        }
        let ts = Stamp::now().unix_ms;
        let built =
            envelope::build_notification(&job.url, &job.notify, &job.key, ts).and_then(|n| {
                if fault == Some(FaultMode::BadSign) {
                    // Same body, but the sign in the URL is made with another key.
                    let wrong = MerchantKey::new(format!("{}X", job.key.expose()));
                    let bad = envelope::build_notification(&job.url, &job.notify, &wrong, ts)?;
                    Ok(Notification { url: bad.url, ..n })
                } else {
                    Ok(n)
                }
            });
        let id = lock(&app.notifications).next_id();
        let mut rec = NotificationRecord {
            id,
            time: Stamp::now().gateway_time(),
            charge_code: job.charge_code.clone(),
            url: log::mask_url(&job.url),
            attempt,
            state: state_code(&job.notify.state),
            status: None,
            error: None,
            fault: fault.as_ref().map(FaultMode::to_string),
            copies: 1,
        };
        let n = match built {
            Ok(n) => n,
            Err(e) => {
                rec.error = Some(format!("cannot build notification: {e}"));
                app.record_notification(rec);
                return false;
            }
        };
        rec.url = log::mask_url(&n.url);
        let copies = match fault {
            Some(FaultMode::Duplicate(k)) => k,
            _ => 1,
        };
        rec.copies = copies;
        let mut sends = JoinSet::new();
        for _ in 0..copies {
            let req = app
                .http
                .post(&n.url)
                .header(reqwest::header::CONTENT_TYPE, n.content_type)
                .body(n.body.clone());
            sends.spawn(async move { req.send().await.map(|r| r.status().as_u16()) });
        }
        while let Some(joined) = sends.join_next().await {
            match joined {
                Ok(Ok(status)) => {
                    if rec.status != Some(200) {
                        rec.status = Some(status);
                    }
                }
                Ok(Err(e)) => rec.error = Some(e.to_string()),
                Err(e) => rec.error = Some(e.to_string()),
            }
        }
        let accepted = rec.status == Some(200);
        if accepted {
            rec.error = None;
        }
        app.record_notification(rec);
        if accepted {
            return true;
        }
        if attempt < settings.notify_attempts {
            tokio::time::sleep(Duration::from_millis(settings.notify_interval_ms)).await;
        }
    }
    false
}
