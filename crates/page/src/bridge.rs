//! The two in-app wallet bridges, as the wallets document them:
//!
//! ```js
//! WeixinJSBridge.invoke('getBrandWCPayRequest', {appId, timeStamp, nonceStr, package, signType, paySign}, cb)
//! AlipayJSBridge.call('tradePay', {tradeNO}, cb)
//! ```
//!
//! Each bridge is injected by its app, possibly after the page's script
//! runs; the app then fires `WeixinJSBridgeReady` / `AlipayJSBridgeReady` on
//! the document. Arguments are built by [`crate::encode`], whose host tests
//! hold the parameter names to `checkout::api::WechatPayParams`' serde
//! derive.

use checkout::api::WechatPayParams;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::AddEventListenerOptions;

use crate::encode;
use crate::js::{describe, document, object, window};
use crate::outcome::{self, BridgeOutcome};
use crate::Error;

/// How long to wait for a bridge's ready event before telling the shopper
/// the wallet is not available here.
const READY_TIMEOUT_MS: i32 = 15_000;

/// Shows WeChat's payment sheet and returns what it answered.
pub async fn wechat_pay(params: &WechatPayParams) -> Result<BridgeOutcome, Error> {
    let bridge = ready("WeixinJSBridge", "WeixinJSBridgeReady").await?;
    let args = object(&encode::wechat_pay_params(params));
    let res = invoke(&bridge, "invoke", "getBrandWCPayRequest", &args).await?;
    let err_msg = field(&res, "err_msg")
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    Ok(outcome::wechat(&err_msg))
}

/// Shows Alipay's payment sheet for `trade_no` and returns what it answered.
pub async fn alipay_trade_pay(trade_no: &str) -> Result<BridgeOutcome, Error> {
    let bridge = ready("AlipayJSBridge", "AlipayJSBridgeReady").await?;
    let args = object(&encode::trade_pay(trade_no));
    let res = invoke(&bridge, "call", "tradePay", &args).await?;
    let code = field(&res, "resultCode")
        .and_then(|v| {
            v.as_string()
                .or_else(|| v.as_f64().map(|n| (n as i64).to_string()))
        })
        .unwrap_or_default();
    Ok(outcome::alipay(&code))
}

fn field(obj: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// The bridge object, waiting for its ready event if the app has not
/// injected it yet.
async fn ready(global: &str, event: &str) -> Result<JsValue, Error> {
    if let Some(bridge) = field(&window(), global) {
        return Ok(bridge);
    }
    let fired = Promise::new(&mut |resolve, _| {
        let options = AddEventListenerOptions::new();
        options.set_once(true);
        let _ = document().add_event_listener_with_callback_and_add_event_listener_options(
            event, &resolve, &options,
        );
    });
    let timeout = Promise::new(&mut |resolve, _| {
        let _ = window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, READY_TIMEOUT_MS);
    });
    let race = Promise::race(&js_sys::Array::of2(&fired, &timeout));
    let _ = JsFuture::from(race).await;
    field(&window(), global).ok_or_else(|| Error::Bridge(format!("{global} is not available")))
}

/// Calls `bridge[method](api, args, callback)` and resolves with what the
/// callback receives.
async fn invoke(
    bridge: &JsValue,
    method: &str,
    api: &str,
    args: &JsValue,
) -> Result<JsValue, Error> {
    let function: Function = field(bridge, method)
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| Error::Bridge(format!("bridge has no {method}()")))?;
    let mut thrown = None;
    let answered = Promise::new(&mut |resolve, _| {
        if let Err(e) = function.call3(bridge, &JsValue::from_str(api), args, &resolve) {
            thrown = Some(e);
        }
    });
    if let Some(e) = thrown {
        return Err(Error::Bridge(describe(&e)));
    }
    JsFuture::from(answered)
        .await
        .map_err(|e| Error::Bridge(describe(&e)))
}
