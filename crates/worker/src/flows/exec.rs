//! The plan executor: runs a `checkout::flow` decision the way the
//! executor's contract says (`checkout::flow`'s module doc): load the
//! snapshot, decide, write the plan's writes as one D1 batch
//! (`store::plan`), decide again when a claim lost (at most
//! `flow::MAX_ROUNDS` rounds without a call), follow `Next` (a gateway
//! call through `platform::gateway`, its answer the flow's next input),
//! log, and hand back the answer and the follow-ups (which the caller
//! runs with `flows::follow_up`, now or in the background).
//!
//! Why one executor: the flows' decisions are pure and table-tested in
//! `checkout`, and the interleavings search runs the same plans against an
//! in-memory store; the Worker's part is this mechanical loop, so what a
//! flow does is what its `decide` says, and each store visit is one batch
//! per round.

use std::future::Future;
use std::time::Duration;

use checkout::flow::{self, Call, Fault, FollowUp, Log, Next, Plan, Reply, Write};
use checkout::gateway::CreateRequest;
use soushou::model::{CancelTradeResp, OrderResp, QueryResp, RefundQueryResp, RefundResp};
use worker::Delay;

use crate::platform::context::Cx;
use crate::platform::db::Db;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::gateway;
use crate::platform::log::{now_secs, Level};
use crate::store::plan::{self as batch, Ran, Read};

/// A call's answer, whichever call it was.
pub enum Answered {
    /// `order`, `creatOrder`, `wapOrder` or `preOrder`.
    Created(Reply<OrderResp>),
    /// `query`.
    Query(Reply<QueryResp>),
    /// `refund`.
    Refund(Reply<RefundResp>),
    /// `refundQuery`.
    RefundQuery(Reply<RefundQueryResp>),
    /// `cancelTrade`.
    Cancel(Reply<CancelTradeResp>),
    /// The merchant's endpoint, to a webhook POST.
    Webhook(flow::webhook::Posted),
}

/// One flow as the executor runs it: what it reads, its `decide`, and how
/// a call's answer becomes its next input.
pub trait Flow {
    /// What `decide` reads.
    type Snapshot;
    /// The flow's input.
    type Input;
    /// The flow's answer.
    type Answer;

    /// Reads the snapshot for deciding `input` (a write-then-read flow
    /// reads none before its first batch: see [`Flow::batch_snapshot`]).
    fn load(&self, cx: &Cx, input: &Self::Input)
        -> impl Future<Output = ApiResult<Self::Snapshot>>;

    /// The read the batch of a plan ending in `next` carries (the
    /// write-then-read flows); none by default.
    fn read<'d>(
        &self,
        _db: &'d Db,
        _input: &Self::Input,
        _next: &Next<Self::Answer>,
    ) -> ApiResult<Read<'d>> {
        Ok(Read::None)
    }

    /// The next snapshot, taken from what a batch read and did (`None`:
    /// load it afresh).
    fn batch_snapshot(&self, _ran: &Ran, _writes: &[Write]) -> ApiResult<Option<Self::Snapshot>> {
        Ok(None)
    }

    /// The flow's decision.
    fn decide(
        &self,
        snapshot: &Self::Snapshot,
        input: &Self::Input,
        now: u64,
    ) -> Plan<Self::Answer>;

    /// The input after a call's answer.
    fn answered(&self, input: &Self::Input, answer: Answered) -> ApiResult<Self::Input>;
}

/// What a flow run ended with.
pub struct Outcome<A> {
    /// The flow's answer.
    pub answer: A,
    /// The flows to run after the answer (`flows::follow_up`).
    pub after: Vec<FollowUp>,
    /// The error of the last call that failed, for a route that answers
    /// with it (the fault keeps only the gateway's code).
    pub fault: Option<ApiError>,
    /// The events its batches handed to the queue, to send now that they
    /// committed (`flows::webhook::send_later`).
    pub enqueued: Vec<u64>,
}

/// Runs `flow` from `input` to its answer.
pub async fn run<F: Flow>(cx: &Cx, flow: &F, input: F::Input) -> ApiResult<Outcome<F::Answer>> {
    let snapshot = flow.load(cx, &input).await?;
    run_from(cx, flow, input, snapshot).await
}

/// [`run`] from a snapshot the caller already read.
pub async fn run_from<F: Flow>(
    cx: &Cx,
    flow: &F,
    mut input: F::Input,
    mut snapshot: F::Snapshot,
) -> ApiResult<Outcome<F::Answer>> {
    let (mut fault, mut idle, mut enqueued) = (None, 0, Vec::new());
    while idle < flow::MAX_ROUNDS {
        idle += 1;
        let (step, read) = round(cx, flow, &snapshot, &input, &mut enqueued).await?;
        match step {
            Step::Done(answer, after) => {
                return Ok(Outcome {
                    answer,
                    after,
                    fault,
                    enqueued,
                })
            }
            Step::Again => {}
            Step::Call(call) => {
                idle = 0;
                let (answer, failed) = send(cx, call).await?;
                fault = failed;
                input = flow.answered(&input, answer)?;
            }
        }
        snapshot = match read {
            Some(read) => read,
            None => flow.load(cx, &input).await?,
        };
    }
    Err(ApiError::Storage(format!(
        "a flow made {} rounds without a call",
        flow::MAX_ROUNDS
    )))
}

/// What follows a round.
enum Step<A> {
    /// Answer, then run these follow-ups.
    Done(A, Vec<FollowUp>),
    /// Send this call (after its pause, if any).
    Call(Call),
    /// Decide again (a lost claim, or the plan said so).
    Again,
}

/// One round: decide, write the plan's batch, log. Returns what follows
/// and the next snapshot when the batch read it (`None`: load it; always
/// after a lost claim, which skips the plan's next step); adds the events
/// the batch handed to the queue to `enqueued`.
async fn round<F: Flow>(
    cx: &Cx,
    flow: &F,
    snapshot: &F::Snapshot,
    input: &F::Input,
    enqueued: &mut Vec<u64>,
) -> ApiResult<(Step<F::Answer>, Option<F::Snapshot>)> {
    let (db, now) = (cx.db()?, now_secs());
    let plan = flow.decide(snapshot, input, now);
    let mut ran = batch::run(db, &plan.writes, flow.read(db, input, &plan.next)?, now).await?;
    enqueued.append(&mut ran.enqueued);
    log(cx, &plan.log);
    let lost = (plan.writes.iter().zip(&ran.changed)).any(|(w, c)| w.is_claim() && !c);
    if lost {
        return Ok((Step::Again, None));
    }
    let read = flow.batch_snapshot(&ran, &plan.writes)?;
    let step = match plan.next {
        Next::Done(answer) => Step::Done(answer, plan.after),
        Next::Again => Step::Again,
        Next::Call(call) => Step::Call(call),
        Next::CallAfter(ms, call) => {
            Delay::from(Duration::from_millis(ms)).await;
            Step::Call(call)
        }
    };
    Ok((step, read))
}

/// Logs a plan's fields on the request's line and its events as lines.
fn log(cx: &Cx, logs: &[Log]) {
    for l in logs {
        match l {
            Log::Field(key, value) => cx.log.set(key, value.clone()),
            Log::Event {
                level,
                name,
                fields,
            } => {
                let level = match level {
                    flow::Level::Info => Level::Info,
                    flow::Level::Warn => Level::Warn,
                    flow::Level::Error => Level::Error,
                };
                cx.log.event(level, name, fields.clone());
            }
        }
    }
}

/// Sends a built call; its answer, and the error when it failed.
async fn send(cx: &Cx, call: Call) -> ApiResult<(Answered, Option<ApiError>)> {
    match &call {
        Call::Webhook(post) => {
            let posted = crate::platform::webhook::post(cx, post).await?;
            return Ok((Answered::Webhook(posted), None));
        }
        Call::EpayNotify(url) => {
            let posted = crate::platform::webhook::epay_notify(cx, url).await?;
            return Ok((Answered::Webhook(posted), None));
        }
        _ => {}
    }
    let cfg = cx.settings.gateway()?;
    let (answer, error) = match call {
        Call::Query(r) => reply(gateway::call(cx, &cfg, &r).await, Answered::Query)?,
        Call::Refund(r) => reply(gateway::call(cx, &cfg, &r).await, Answered::Refund)?,
        Call::RefundQuery(r) => reply(gateway::call(cx, &cfg, &r).await, Answered::RefundQuery)?,
        Call::Cancel(r) => reply(gateway::call(cx, &cfg, &r).await, Answered::Cancel)?,
        Call::Create(r) => {
            let sent = match *r {
                CreateRequest::Order(r) => gateway::call(cx, &cfg, &r).await,
                CreateRequest::CreatOrder(r) => gateway::call(cx, &cfg, &r).await,
                CreateRequest::WapOrder(r) => gateway::call(cx, &cfg, &r).await,
            };
            reply(sent, Answered::Created)?
        }
        Call::PreOrder(r) => {
            let timeout = Duration::from_millis(cx.settings.pos_gateway_timeout_ms()?);
            let sent = gateway::call_within(cx, &cfg, &*r, timeout).await;
            reply(sent, Answered::Created)?
        }
        Call::Webhook(_) | Call::EpayNotify(_) => {
            return Err(ApiError::Internal("a webhook sent twice".into()))
        }
    };
    Ok((answer, error))
}

/// A call's result as the flow reads it: the gateway's refusal code, or
/// no usable answer (a timeout, garbage); a failure before sending (the
/// configuration, a request the envelope refuses) is the run's error.
fn reply<T>(
    result: ApiResult<T>,
    answered: fn(Reply<T>) -> Answered,
) -> ApiResult<(Answered, Option<ApiError>)> {
    let (reply, error) = split(result)?;
    Ok((answered(reply), error))
}

/// A call's result as the flow reads it, and the error it failed with
/// ([`reply`]; a POS charge's `preOrder`, sent before its flow starts).
pub fn split<T>(result: ApiResult<T>) -> ApiResult<(Reply<T>, Option<ApiError>)> {
    let fault = match &result {
        Ok(_) => None,
        Err(ApiError::Gateway(soushou::Error::Gateway { code, .. })) => {
            Some(Fault::Code(code.clone()))
        }
        Err(ApiError::GatewayTimeout | ApiError::GatewayUnreachable | ApiError::Gateway(_)) => {
            Some(Fault::NoAnswer)
        }
        Err(_) => None,
    };
    match (result, fault) {
        (Ok(resp), _) => Ok((Ok(resp), None)),
        (Err(e), Some(fault)) => Ok((Err(fault), Some(e))),
        (Err(e), None) => Err(e),
    }
}

/// A flow's gateway fault as the merchant API reports it: the failed
/// call's own error when there is one (a timeout, the gateway's message).
pub fn fault_error(fault: Fault, error: Option<ApiError>) -> ApiError {
    error.unwrap_or(match fault {
        Fault::Code(code) => ApiError::Gateway(soushou::Error::Gateway {
            code,
            info: String::new(),
        }),
        Fault::NoAnswer => ApiError::GatewayUnreachable,
    })
}

/// A flow answered with a call it did not make (a bug: its call and its
/// input mapping disagree).
pub fn out_of_turn(flow: &str) -> ApiError {
    ApiError::Internal(format!("the {flow} flow was answered out of turn"))
}
