//! Daily statements (bearer `ADMIN_TOKEN`): `GET /v1/statements?from&to`,
//! `GET /v1/statements/{date}[?revision=N]`, `GET
//! /v1/statements/{date}.csv`. Built by the cron (`flows::statement`);
//! figures in `checkout::statement`, CSV cells in `checkout::csv`.

use checkout::csv::{self, Line};
use checkout::list::Channel;
use checkout::statement::{self, Day, Movement, Statement};
use worker::{Request, Response};

use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::csv_download;
use crate::platform::log::{now_secs, RequestLog};
use crate::store::statements::{self as store, LineRow};

/// Rows per D1 read of a statement's CSV.
const CHUNK: u32 = 1000;

/// `{"data": [...]}` of `GET /v1/statements`.
#[derive(serde::Serialize)]
pub struct StatementList {
    data: Vec<Statement>,
}

/// `GET /v1/statements?from=YYYY-MM-DD&to=YYYY-MM-DD`: the latest revision
/// of each day, newest first.
pub async fn list(cx: &Cx, req: &Request) -> ApiResult<StatementList> {
    let url = req.url()?;
    let (mut from, mut to) = (None, None);
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "from" => from = Some(v.into_owned()),
            "to" => to = Some(v.into_owned()),
            other => {
                return Err(ApiError::InvalidRequest(format!(
                    "{other}: unknown parameter"
                )))
            }
        }
    }
    let (from, to) = statement::range(from.as_deref(), to.as_deref(), now_secs())?;
    let data = store::list(cx.db()?, from, to).await?;
    Ok(StatementList { data })
}

/// The day of a path segment, or 400.
fn day(date: &str) -> ApiResult<Day> {
    Day::parse(date).ok_or_else(|| ApiError::InvalidRequest("date: must be YYYY-MM-DD".into()))
}

/// `GET /v1/statements/{date}` (the latest revision, or `?revision=N`),
/// or `{date}.csv`.
pub async fn get(cx: &Cx, req: &Request, date: &str) -> ApiResult<Response> {
    if let Some(date) = date.strip_suffix(".csv") {
        return day_csv(cx, day(date)?).await;
    }
    let day = day(date)?;
    let mut revision = None;
    for (k, v) in req.url()?.query_pairs() {
        match (k.as_ref(), v.parse::<u32>()) {
            ("revision", Ok(r)) if r >= 1 => revision = Some(r),
            _ => {
                return Err(ApiError::InvalidRequest(
                    "only `revision` (a whole number from 1) is accepted".into(),
                ))
            }
        }
    }
    let s = store::get(cx.db()?, day, revision)
        .await?
        .ok_or(ApiError::NotFound("statement"))?;
    crate::platform::http::json(200, &s)
}

/// Where a statement export stands between chunks: the payments, then
/// the refunds, each by its own keyset.
struct DayExport {
    cx: Cx,
    day: Day,
    refunds: bool,
    last: Option<(u64, String)>,
    rows: u64,
}

/// A stored line as a CSV line.
fn line(r: &LineRow) -> Line<'_> {
    let movement = match &r.out_refund_no {
        None => Movement::Payment,
        Some(no) => statement::refund_movement(&r.charge_code, no),
    };
    Line {
        movement,
        at: r.at,
        charge_code: &r.charge_code,
        out_refund_no: r.out_refund_no.as_deref(),
        channel: Channel::of(&r.channel_type),
        method: &r.method,
        amount: r.amount_fen,
        subject: &r.subject,
        reference: r.merchant_ref.as_deref(),
    }
}

impl DayExport {
    /// The next chunk of lines, switching from payments to refunds.
    async fn next(mut self) -> ApiResult<Option<(String, DayExport)>> {
        loop {
            let db = self.cx.db()?;
            let key = self.last.as_ref().map(|(at, id)| (*at, id.as_str()));
            let rows = if self.refunds {
                store::refund_lines(db, self.day, CHUNK, key).await?
            } else {
                store::payment_lines(db, self.day, CHUNK, key).await?
            };
            match rows.last() {
                Some(last) => {
                    let id = last.out_refund_no.as_ref().unwrap_or(&last.charge_code);
                    self.last = Some((last.at, id.clone()));
                    self.rows += rows.len() as u64;
                    let text: String = rows.iter().map(|r| csv::statement_row(&line(r))).collect();
                    return Ok(Some((text, self)));
                }
                None if !self.refunds => {
                    self.refunds = true;
                    self.last = None;
                }
                None => {
                    self.cx.log.set("rows", self.rows);
                    self.cx.log.finish(200, None);
                    return Ok(None);
                }
            }
        }
    }
}

/// `GET /v1/statements/{date}.csv`: the day's payments, then its refunds,
/// one row each (the movements the statement sums), streamed. Only for a
/// day that has a statement, so the rows are those of a settled day.
async fn day_csv(cx: &Cx, day: Day) -> ApiResult<Response> {
    store::get(cx.db()?, day, None)
        .await?
        .ok_or(ApiError::NotFound("statement"))?;
    let path = format!("/v1/statements/{day}.csv");
    let log = RequestLog::new(cx.log.request_id().to_owned(), "export", "GET", &path);
    let export = DayExport {
        cx: Cx::with_settings(cx.settings.clone(), log),
        day,
        refunds: false,
        last: None,
        rows: 0,
    };
    let head = format!("{}{}", csv::BOM, csv::header(&csv::STATEMENT_COLUMNS));
    csv_download(
        &format!("statement-{day}.csv"),
        head,
        export,
        DayExport::next,
    )
}
