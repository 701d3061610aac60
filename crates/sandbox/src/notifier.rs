//! Asynchronous payment notifications (document §7).
//!
//! POSTed to `NODIFY_URL` with `sign` appended to its query; body format and
//! encryption follow the URL's own `_type`/`encrypt` (all done by
//! `soushou::envelope::build_notification`). Retried until HTTP 200, at most
//! `notify_attempts` times, `notify_interval_ms` apart. Each attempt is signed
//! afresh (new timestamp), and recorded for `GET /sandbox/notifications`.
//!
//! In `manual` mode nothing is sent on payment: a test driver sends each attempt
//! itself ([`send_manual`]), choosing when, how many copies, which state and
//! whether the signature is forged — deterministic delays, duplicates,
//! reordering and drops without timing luck.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use soushou::envelope::{self, Notification};
use soushou::model::PayNotify;
use soushou::types::OrderState;
use soushou::MerchantKey;
use tokio::task::JoinSet;

use crate::clock::Stamp;
use crate::error::Error;
use crate::faults::{FaultMode, FaultTarget};
use crate::log::{self, NotificationRecord};
use crate::state::{state_code, Order};
use crate::{lock, App};

/// Who sends payment notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NotifyMode {
    /// The sandbox, when an order is paid, with the documented retries (the gateway's behaviour).
    Auto,
    /// Nobody unless asked: `POST /sandbox/notify/{code}` sends one attempt.
    Manual,
}

/// The `PAY_NODIFY` message for `order`, saying `state`. A pending (0) one is a stale
/// message from before the payment, so it carries no channel serial and no fund bills.
pub fn pay_notify(order: &Order, state: OrderState) -> PayNotify {
    let paid = state != OrderState::Pending;
    PayNotify {
        busi_id: order.new.busi_id.clone(),
        oper_id: order.new.oper_id.clone(),
        dev_id: order.new.dev_id.clone(),
        amt: order.new.amt,
        channel_type: order.new.channel_type.clone(),
        charge_code: order.charge_code().to_owned(),
        charge_down_code: order.charge_down_code.clone(),
        charge_third_code: order.charge_third_code.clone().filter(|_| paid),
        pay_subject: order.new.pay_subject.clone(),
        goods_detail: order.new.goods_detail.clone(),
        state,
        merchant_para: order.new.merchant_para.clone(),
        fund_bill_list: if paid {
            order.fund_bill_list.clone()
        } else {
            Vec::new()
        },
        ..PayNotify::default()
    }
}

/// Starts delivering the payment notification of `order` in the background, if it has
/// a `NODIFY_URL` and notifications are automatic.
pub fn schedule(app: &Arc<App>, order: &Order) {
    if app.settings().notify_mode == NotifyMode::Manual {
        return;
    }
    let jobs = Job::new(app, order, order.state.clone())
        .and_then(|job| Ok((job, Job::new(app, order, OrderState::Pending)?)));
    if let Ok((job, stale)) = jobs {
        tokio::spawn(deliver(app.clone(), job, stale));
    }
}

/// One notification to deliver.
struct Job {
    url: String,
    key: MerchantKey,
    charge_code: String,
    notify: PayNotify,
}

impl Job {
    /// The notification of `order` saying `state`; `NoNotifyUrl` when it has nowhere to go.
    fn new(app: &App, order: &Order, state: OrderState) -> Result<Job, Error> {
        let no_url = || Error::NoNotifyUrl(order.charge_code().to_owned());
        let url = order.new.nodify_url.clone().ok_or_else(no_url)?;
        let merchant = app.merchant(&order.new.busi_code).ok_or_else(no_url)?;
        Ok(Job {
            url,
            key: merchant.key.clone(),
            charge_code: order.charge_code().to_owned(),
            notify: pay_notify(order, state),
        })
    }

    /// A record of one attempt of this job, before its outcome is known.
    fn record(&self, app: &App, attempt: u32, fault: Option<String>) -> NotificationRecord {
        NotificationRecord {
            id: lock(&app.notifications).next_id(),
            time: Stamp::now().gateway_time(),
            charge_code: self.charge_code.clone(),
            url: log::mask_url(&self.url),
            attempt,
            state: state_code(&self.notify.state),
            status: None,
            error: None,
            fault,
            copies: 1,
            manual: false,
        }
    }
}

/// Delivers `job`; under the `out_of_order` fault, `stale` (the same order's pending
/// notification) follows it.
async fn deliver(app: Arc<App>, job: Job, stale: Job) {
    // The first attempt's fault decides drop / out-of-order for the whole notification.
    let first = app.take_fault(FaultTarget::Notify);
    match first {
        Some(FaultMode::Drop) => {
            let mut rec = job.record(&app, 0, first.as_ref().map(FaultMode::to_string));
            rec.url = String::new();
            rec.error = Some("never sent (drop fault)".into());
            rec.copies = 0;
            app.record_notification(rec);
        }
        Some(FaultMode::OutOfOrder) => {
            send_with_retries(&app, &job, first).await;
            // A stale notification from before the payment arrives after the real one.
            let fault = app.take_fault(FaultTarget::Notify);
            send_with_retries(&app, &stale, fault).await;
        }
        _ => {
            send_with_retries(&app, &job, first).await;
        }
    }
}

/// How one attempt is sent.
#[derive(Clone, Copy, Debug)]
struct Shape {
    /// Sign with a wrong key.
    bad_sign: bool,
    /// Identical copies sent concurrently.
    copies: u32,
}

/// What the receiver did with one copy: its HTTP status, or the transport error.
pub type CopyOutcome = Result<u16, String>;

/// Sends one attempt of `job`: `copies` identical POSTs at once, signed now. Fills the
/// record's URL, copies, status (the first 200 among the copies, else the last status)
/// and error; returns each copy's outcome in order.
async fn attempt(
    app: &App,
    job: &Job,
    shape: Shape,
    rec: &mut NotificationRecord,
) -> Vec<CopyOutcome> {
    let ts = Stamp::now().unix_ms;
    let built = envelope::build_notification(&job.url, &job.notify, &job.key, ts).and_then(|n| {
        if shape.bad_sign {
            // Same body, but the sign in the URL is made with another key.
            let wrong = MerchantKey::new(format!("{}X", job.key.expose()));
            let bad = envelope::build_notification(&job.url, &job.notify, &wrong, ts)?;
            Ok(Notification { url: bad.url, ..n })
        } else {
            Ok(n)
        }
    });
    let n = match built {
        Ok(n) => n,
        Err(e) => {
            let error = format!("cannot build notification: {e}");
            rec.error = Some(error.clone());
            rec.copies = 0;
            return vec![Err(error); shape.copies as usize];
        }
    };
    rec.url = log::mask_url(&n.url);
    rec.copies = shape.copies;
    let mut sends = JoinSet::new();
    for i in 0..shape.copies as usize {
        let req = app
            .http
            .post(&n.url)
            .header(reqwest::header::CONTENT_TYPE, n.content_type)
            .body(n.body.clone());
        sends.spawn(async move {
            (
                i,
                req.send()
                    .await
                    .map(|r| r.status().as_u16())
                    .map_err(|e| e.to_string()),
            )
        });
    }
    let mut outcomes = vec![Err("not sent".to_owned()); shape.copies as usize];
    while let Some(joined) = sends.join_next().await {
        match joined {
            Ok((i, outcome)) => outcomes[i] = outcome,
            Err(e) => rec.error = Some(e.to_string()),
        }
    }
    for outcome in &outcomes {
        match outcome {
            Ok(status) if rec.status != Some(200) => rec.status = Some(*status),
            Ok(_) => {}
            Err(e) => rec.error = Some(e.clone()),
        }
    }
    if rec.status == Some(200) {
        rec.error = None;
    }
    outcomes
}

/// Sends until a 200 or the attempts run out; returns whether it was accepted. The first
/// attempt is shaped by `first_fault`; each later one takes the notify fault afresh, so
/// a test can change faults mid-way and a limited fault counts attempts.
async fn send_with_retries(app: &Arc<App>, job: &Job, first_fault: Option<FaultMode>) -> bool {
    let settings = app.settings();
    let mut fault = first_fault;
    for n in 1..=settings.notify_attempts {
        if n > 1 {
            fault = app.take_fault(FaultTarget::Notify);
        }
        if let Some(FaultMode::Latency(d)) = fault {
            tokio::time::sleep(d).await;
        }
        let shape = Shape {
            bad_sign: fault == Some(FaultMode::BadSign),
            copies: match fault {
                Some(FaultMode::Duplicate(k)) => k,
                _ => 1,
            },
        };
        let mut rec = job.record(app, n, fault.as_ref().map(FaultMode::to_string));
        attempt(app, job, shape, &mut rec).await;
        let built = rec.copies > 0;
        let accepted = rec.status == Some(200);
        app.record_notification(rec);
        if accepted || !built {
            return accepted;
        }
        if n < settings.notify_attempts {
            tokio::time::sleep(Duration::from_millis(settings.notify_interval_ms)).await;
        }
    }
    false
}

/// What `POST /sandbox/notify/{code}` asks for.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualRequest {
    /// The appendix-4 `STATE` to send; the order's current state when absent.
    pub state: Option<u32>,
    /// Identical copies sent concurrently (1–100, default 1).
    pub copies: Option<u32>,
    /// Sign with a wrong key (a forged notification).
    #[serde(default)]
    pub bad_sign: bool,
}

/// Sends one notification attempt of `order` now, as the driver asked, ignoring the
/// notify faults (the driver shapes it itself); recorded like any attempt. Returns what
/// the receiver did with each copy.
pub async fn send_manual(
    app: &App,
    order: &Order,
    req: ManualRequest,
) -> Result<Vec<CopyOutcome>, Error> {
    let copies = req.copies.unwrap_or(1);
    if !(1..=100).contains(&copies) {
        return Err(Error::Config("copies must be 1..=100".into()));
    }
    let state = match req.state {
        None => order.state.clone(),
        Some(n) => match OrderState::from_number(n) {
            OrderState::Unknown(_) => {
                return Err(Error::Config(format!(
                    "state {n} is not an appendix-4 state"
                )))
            }
            s => s,
        },
    };
    let job = Job::new(app, order, state)?;
    let shape = Shape {
        bad_sign: req.bad_sign,
        copies,
    };
    let mut rec = job.record(app, 1, req.bad_sign.then(|| FaultMode::BadSign.to_string()));
    rec.manual = true;
    let outcomes = attempt(app, &job, shape, &mut rec).await;
    app.record_notification(rec);
    Ok(outcomes)
}
