//! Links: the list (`GET /v1/links`: kind and state filters, paging,
//! deactivate), a new link (fixed, shopper's amount, counter code) with a
//! live preview of what the shopper sees, and a link's card: the QR large,
//! SVG and PNG downloads, copy and share, the A6 print card and the
//! no-JavaScript embed snippet. The form's checks are the Worker's own
//! (`crate::link_form`).

use checkout::access::Permission;
use checkout::vocab::LinkKind;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::{ErrorNote, Heading, Loading};
use crate::api::{self, Extra};
use crate::ctx::Ctx;
use crate::error::Error;
use crate::js;
use crate::link_form::{self, Charge, Field, Form, Link};
use crate::model::{Health, Page};
use crate::route::Route;
use crate::screen_text::{text, Text};

/// A text of the screen's strings, in the user's language.
type Words = fn(&Text) -> &'static str;

/// This screen's strings in the current language (reactive).
fn tx(ctx: &Ctx) -> &'static Text {
    text(ctx.lang.get())
}

/// The shop's name as the page shows it (`GET /v1/settings`), for the
/// preview, the printed card and a counter code's default subject.
fn merchant_name() -> LocalResource<Option<String>> {
    LocalResource::new(|| async {
        api::get::<Health>("/v1/settings")
            .await
            .ok()
            .map(|h| h.merchant_name)
    })
}

/// The links list.
#[component]
pub fn Links() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let kind = RwSignal::new(String::new());
    let state = RwSignal::new(String::new());
    let rows = RwSignal::new(Vec::<Link>::new());
    let has_more = RwSignal::new(false);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<Error>);
    let merchant = merchant_name();
    let load = move |after: Option<String>| {
        let mut q = vec!["limit=20".to_owned()];
        let k = kind.get_untracked();
        if !k.is_empty() {
            q.push(format!("kind={k}"));
        }
        let s = state.get_untracked();
        if !s.is_empty() {
            q.push(format!("active={s}"));
        }
        if let Some(a) = &after {
            q.push(format!("starting_after={a}"));
        }
        let path = format!("/v1/links?{}", q.join("&"));
        loading.set(true);
        spawn_local(async move {
            let answer = api::get::<Page<Link>>(&path).await;
            loading.set(false);
            match answer {
                Ok(page) => {
                    if after.is_none() {
                        rows.set(page.data);
                    } else {
                        rows.update(|r| r.extend(page.data));
                    }
                    has_more.set(page.has_more);
                    error.set(None);
                }
                Err(e) => error.set(Some(ctx.check(e))),
            }
        });
    };
    load(None);
    let new = |k: &str| {
        Route::NewLink {
            kind: Some(k.to_owned()),
        }
        .href()
    };
    view! {
        <Heading text=Signal::derive(move || ctx.t().links.to_owned())/>
        {move || ctx.can(Permission::Charge).then(|| {
            let t = tx(&ctx);
            view! {
                <div class="actions">
                    <a class="button primary" id="new-counter-link" href=new("counter")>
                        {t.kind(LinkKind::Counter)}
                    </a>
                    <a class="button" id="new-fixed-link" href=new("fixed")>{t.kind(LinkKind::Fixed)}</a>
                    <a class="button" id="new-open-link" href=new("open")>{t.kind(LinkKind::Open)}</a>
                </div>
            }
        })}
        <div class="filters">
            <label>
                {move || tx(&ctx).kind_label}
                <select id="filter-kind" on:change=move |ev| {
                    kind.set(event_target_value(&ev));
                    load(None);
                }>
                    <option value="">{move || tx(&ctx).all}</option>
                    {[LinkKind::Fixed, LinkKind::Open, LinkKind::Counter]
                        .into_iter()
                        .map(|k| view! {
                            <option value={checkout::vocab::Spelled::spelling(k)}>{move || tx(&ctx).kind(k)}</option>
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                {move || tx(&ctx).filter_state}
                <select id="filter-active" on:change=move |ev| {
                    state.set(event_target_value(&ev));
                    load(None);
                }>
                    <option value="">{move || tx(&ctx).all}</option>
                    <option value="true">{move || tx(&ctx).active}</option>
                    <option value="false">{move || tx(&ctx).inactive}</option>
                </select>
            </label>
        </div>
        {move || error.get().map(|error| view! { <ErrorNote error id="links-error"/> })}
        <ul class="rows link-rows" id="links">
            <For
                each=move || rows.get()
                key=|l| (l.id.clone(), l.active)
                children=move |link| view! { <LinkRow link rows merchant/> }
            />
        </ul>
        {move || {
            let empty = rows.with(Vec::is_empty) && !loading.get() && error.with(Option::is_none);
            empty.then(|| view! { <p class="muted" id="links-empty">{tx(&ctx).empty}</p> })
        }}
        {move || loading.get().then(|| view! { <Loading/> })}
        {move || (has_more.get() && !loading.get()).then(|| view! {
            <button
                type="button"
                id="links-more"
                on:click=move |_| load(rows.with_untracked(|r| r.last().map(|l| l.id.clone())))
            >
                {tx(&ctx).more}
            </button>
        })}
    }
}

/// One link of the list: what it charges, its state, its card on demand,
/// and deactivation (confirmed inline) for the roles that may.
#[component]
fn LinkRow(
    link: Link,
    rows: RwSignal<Vec<Link>>,
    merchant: LocalResource<Option<String>>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let open = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Error>);
    let id = link.id.clone();
    let charge = Charge::of_link(&link);
    let subject = link.subject.clone().unwrap_or_default();
    let active = link.active;
    let kind = link.kind;
    let deactivate = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            busy.set(true);
            spawn_local(async move {
                let answer = api::send::<Link>(
                    "POST",
                    &format!("/v1/links/{id}/deactivate"),
                    None::<&()>,
                    Extra::default(),
                )
                .await;
                busy.set(false);
                match answer {
                    Ok(done) => rows.update(|r| {
                        if let Some(l) = r.iter_mut().find(|l| l.id == done.id) {
                            l.active = false;
                        }
                    }),
                    Err(e) => error.set(Some(ctx.check(e))),
                }
            });
        }
    };
    let card_link = link.clone();
    view! {
        <li class="link-row" data-id=id.clone() data-kind={checkout::vocab::Spelled::spelling(kind)}>
            <div class="link-line">
                <strong>{subject}</strong>
                <span>{move || amount_text(tx(&ctx), &charge)}</span>
                <span class="muted">{move || tx(&ctx).kind(kind)}</span>
                <span class={if active { "badge on" } else { "badge off" }}>
                    {move || if active { tx(&ctx).active } else { tx(&ctx).inactive }}
                </span>
            </div>
            <div class="actions">
                {active.then(|| view! {
                    <button
                        type="button"
                        class="show-qr"
                        aria-expanded=move || open.get().to_string()
                        on:click=move |_| open.update(|o| *o = !*o)
                    >
                        {move || if open.get() { tx(&ctx).hide } else { tx(&ctx).show }}
                    </button>
                })}
                {move || (active && ctx.can(Permission::Charge) && !confirming.get()).then(|| view! {
                    <button type="button" class="deactivate" on:click=move |_| confirming.set(true)>
                        {tx(&ctx).deactivate}
                    </button>
                })}
            </div>
            {move || (active && confirming.get()).then(|| {
                let deactivate = deactivate.clone();
                view! {
                    <div class="card confirm" role="group">
                        <p>{tx(&ctx).deactivate_confirm}</p>
                        <div class="actions">
                            <button type="button" class="danger confirm-deactivate" disabled=move || busy.get() on:click=deactivate>
                                {tx(&ctx).deactivate}
                            </button>
                            <button type="button" on:click=move |_| confirming.set(false)>"✕"</button>
                        </div>
                    </div>
                }
            })}
            {move || error.get().map(|error| view! { <ErrorNote error/> })}
            {move || open.get().then(|| {
                let name = merchant.get().flatten().unwrap_or_default();
                view! { <LinkCard link=card_link.clone() merchant=name/> }
            })}
        </li>
    }
}

/// What a link charges, in words: `¥12.30`, or "any amount ¥0.01–¥500.00".
fn amount_text(t: &Text, charge: &Charge) -> String {
    match charge {
        Charge::Fixed(a) if a.is_empty() => "¥—".to_owned(),
        Charge::Fixed(a) => format!("¥{a}"),
        any => format!("{} {}", t.any_amount, any.bounds())
            .trim()
            .to_owned(),
    }
}

/// A new link's form, its live preview, and once created its card.
#[component]
pub fn NewLink(kind: Option<String>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let start = match kind.as_deref() {
        Some("open") => LinkKind::Open,
        Some("counter") => LinkKind::Counter,
        _ => LinkKind::Fixed,
    };
    let form = RwSignal::new(Form::new(start, ""));
    let merchant = merchant_name();
    // The shop's name is the subject a counter code starts with, so a
    // cashier creates one with a single tap.
    Effect::new(move |_| {
        if let Some(Some(name)) = merchant.get() {
            if form.with_untracked(|f| f.subject.is_empty()) {
                form.update(|f| f.subject = name);
            }
        }
    });
    let field_error = RwSignal::new(None::<(Field, String)>);
    let error = RwSignal::new(None::<Error>);
    let busy = RwSignal::new(false);
    let created = RwSignal::new(None::<Link>);
    // One Idempotency-Key per form filled: a double tap, or a retry after
    // a dropped answer, creates one link.
    let key = RwSignal::new(js::random_id());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let typed = form.get_untracked();
        let req = match typed.request() {
            Ok(req) => req,
            Err((field, e)) => {
                field_error.set(Some((field, e.to_string())));
                focus(&format!("link-{}", field.name()));
                return;
            }
        };
        field_error.set(None);
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            let idempotency = key.get_untracked();
            let answer = api::send::<Link>(
                "POST",
                "/v1/links",
                Some(&req),
                Extra {
                    idempotency_key: Some(&idempotency),
                    ..Extra::default()
                },
            )
            .await;
            busy.set(false);
            match answer {
                Ok(mut link) => {
                    // The create answer names the link; the card shows what
                    // was asked for.
                    link.subject = Some(req.subject.clone());
                    link.amount = req.amount.clone();
                    link.min_amount = req.min_amount.clone();
                    link.max_amount = req.max_amount.clone();
                    created.set(Some(link));
                    key.set(js::random_id());
                    focus("created-heading");
                }
                Err(e) => error.set(Some(ctx.check(e))),
            }
        });
    };
    let input = move |field: Field, set: fn(&mut Form, String)| {
        let t = move || tx(&ctx);
        let (label, hint): (Words, Option<Words>) = match field {
            Field::Amount => (|t| t.amount, None),
            Field::Min => (|t| t.min, None),
            Field::Max => (|t| t.max, None),
            Field::Subject => (|t| t.subject, None),
            Field::Ref => (|t| t.reference, None),
            Field::Expires => (|t| t.expires_hours, Some(|t| t.expires_hint)),
            Field::ReturnUrl => (|t| t.return_url, None),
            Field::Goods => (|t| t.goods, Some(|t| t.goods_hint)),
        };
        let id = format!("link-{}", field.name());
        let err_id = format!("{id}-error");
        let hint_id = format!("{id}-hint");
        let described = format!("{hint_id} {err_id}");
        let value = move || {
            form.with(|f| match field {
                Field::Amount => f.amount.clone(),
                Field::Min => f.min.clone(),
                Field::Max => f.max.clone(),
                Field::Subject => f.subject.clone(),
                Field::Ref => f.reference.clone(),
                Field::Expires => f.expires_hours.clone(),
                Field::ReturnUrl => f.return_url.clone(),
                Field::Goods => f.goods.clone(),
            })
        };
        let wrong = move || field_error.with(|e| e.as_ref().is_some_and(|(f, _)| *f == field));
        let mode = match field {
            Field::Amount | Field::Min | Field::Max => "decimal",
            Field::Expires => "numeric",
            _ => "text",
        };
        let control = if field == Field::Goods {
            view! {
                <textarea
                    id=id.clone()
                    rows="3"
                    aria-describedby=described.clone()
                    aria-invalid=move || wrong().then_some("true")
                    prop:value=value
                    on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))
                ></textarea>
            }
            .into_any()
        } else {
            view! {
                <input
                    id=id.clone()
                    type="text"
                    inputmode=mode
                    autocomplete="off"
                    aria-describedby=described.clone()
                    aria-invalid=move || wrong().then_some("true")
                    prop:value=value
                    on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))
                />
            }
            .into_any()
        };
        view! {
            <div class="field">
                <label for=id.clone()>{move || label(t())}</label>
                {control}
                {hint.map(|h| view! { <p class="hint" id=hint_id.clone()>{move || h(t())}</p> })}
                {move || field_error.get().filter(|(f, _)| *f == field).map(|(_, reason)| view! {
                    <p class="alert" role="alert" id=err_id.clone()>
                        {format!("{}: {reason}", t().field_error)}
                    </p>
                })}
            </div>
        }
    };
    let kind_now = move || form.with(Form::kind);
    view! {
        <Heading text=Signal::derive(move || ctx.t().new_link.to_owned())/>
        {move || match created.get() {
            Some(link) => {
                let name = merchant.get().flatten().unwrap_or_default();
                view! {
                    <h2 id="created-heading" tabindex="-1">{tx(&ctx).created}</h2>
                    <LinkCard link merchant=name/>
                    <button
                        type="button"
                        id="create-another"
                        on:click=move |_| {
                            created.set(None);
                            form.update(|f| *f = Form::new(f.kind(), &f.subject));
                        }
                    >
                        {tx(&ctx).another}
                    </button>
                }
                .into_any()
            }
            None => view! {
                <div class="split">
                    <form class="card form" id="new-link-form" on:submit=submit novalidate>
                        <fieldset class="kinds">
                            <legend>{move || tx(&ctx).kind_label}</legend>
                            {[LinkKind::Counter, LinkKind::Fixed, LinkKind::Open]
                                .into_iter()
                                .map(|k| {
                                    let spelled = checkout::vocab::Spelled::spelling(k);
                                    view! {
                                        <label class="kind">
                                            <input
                                                type="radio"
                                                name="kind"
                                                id=format!("kind-{spelled}")
                                                value=spelled
                                                prop:checked=move || kind_now() == k
                                                on:change=move |_| form.update(|f| {
                                                    let subject = f.subject.clone();
                                                    *f = Form::new(k, &subject);
                                                })
                                            />
                                            <span>
                                                <strong>{move || tx(&ctx).kind(k)}</strong>
                                                <span class="hint">{move || tx(&ctx).kind_hint(k)}</span>
                                            </span>
                                        </label>
                                    }
                                })
                                .collect_view()}
                        </fieldset>
                        {move || if kind_now() == LinkKind::Fixed {
                            input(Field::Amount, |f, v| f.amount = v).into_any()
                        } else {
                            view! {
                                {input(Field::Min, |f, v| f.min = v)}
                                {input(Field::Max, |f, v| f.max = v)}
                            }
                            .into_any()
                        }}
                        {input(Field::Subject, |f, v| f.subject = v)}
                        {input(Field::Ref, |f, v| f.reference = v)}
                        {input(Field::Expires, |f, v| f.expires_hours = v)}
                        {input(Field::ReturnUrl, |f, v| f.return_url = v)}
                        {input(Field::Goods, |f, v| f.goods = v)}
                        {move || error.get().map(|error| view! { <ErrorNote error id="create-error"/> })}
                        <button type="submit" id="create-link" class="primary big" disabled=move || busy.get()>
                            {move || if busy.get() { tx(&ctx).creating } else { tx(&ctx).create }}
                        </button>
                    </form>
                    <Preview form merchant/>
                </div>
            }
            .into_any(),
        }}
    }
}

/// What the shopper will see, as the form is typed: the shop, what for,
/// the amount (or "any amount" and its bounds), the goods.
#[component]
fn Preview(form: RwSignal<Form>, merchant: LocalResource<Option<String>>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    view! {
        <section class="card preview" id="link-preview" aria-labelledby="preview-heading">
            <h2 id="preview-heading">{move || tx(&ctx).preview}</h2>
            <div class="shopper">
                <p class="shop">{move || merchant.get().flatten().unwrap_or_default()}</p>
                <p class="what" id="preview-subject">{move || form.with(|f| f.subject.clone())}</p>
                <p class="how-much" id="preview-amount">
                    {move || form.with(|f| amount_text(tx(&ctx), &Charge::of_form(f)))}
                </p>
                <ul class="goods">
                    {move || form.with(|f| link_form::goods(&f.goods).unwrap_or_default())
                        .into_iter()
                        .map(|g| view! { <li>{format!("{} × {} · ¥{}", g.name, g.quantity, g.price)}</li> })
                        .collect_view()}
                </ul>
                <p class="wallets">{link_form::WALLETS}</p>
            </div>
        </section>
    }
}

/// A link's card: the QR large (the Worker's public image of the link),
/// its address to copy or share, SVG and PNG downloads, the A6 print card
/// (what `@media print` prints) and the embed snippet with its preview.
#[component]
fn LinkCard(link: Link, merchant: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let Some(url) = link.url.clone() else {
        return view! { <p class="muted">"—"</p> }.into_any();
    };
    let qr = link_form::qr_url(&url);
    let charge = Charge::of_link(&link);
    let subject = link.subject.clone().unwrap_or_default();
    let copied = RwSignal::new(false);
    let file = format!("soushou-{}", &link.id[..link.id.len().min(12)]);
    let copy = {
        let url = url.clone();
        move |_| {
            let url = url.clone();
            spawn_local(async move {
                copied.set(copy_text(&url).await);
            });
        }
    };
    let share = {
        let (url, subject) = (url.clone(), subject.clone());
        move |_| share_url(&url, &subject)
    };
    let png = {
        let (qr, file) = (qr.clone(), file.clone());
        move |_| download_png(&qr, &format!("{file}.png"))
    };
    let snippet = move || link_form::embed_snippet(&url, tx(&ctx).pay_now, tx(&ctx).qr_alt);
    let url_text = link.url.clone().unwrap_or_default();
    view! {
        <div class="card link-card" data-id=link.id.clone()>
            <div class="a6" id="print-card">
                <p class="a6-shop">{merchant}</p>
                <p class="a6-subject">{subject}</p>
                <p class="a6-amount">{move || amount_text(tx(&ctx), &charge)}</p>
                <img class="qr" id="qr" src=qr.clone() alt=move || tx(&ctx).qr_alt width="280" height="280"/>
                <p class="a6-wallets">{link_form::WALLETS}</p>
            </div>
            <label for="link-url">{move || tx(&ctx).url}</label>
            <input id="link-url" type="text" readonly prop:value=url_text.clone()/>
            <div class="actions">
                <button type="button" id="copy-link" on:click=copy>
                    {move || if copied.get() { tx(&ctx).copied } else { tx(&ctx).copy }}
                </button>
                {can_share().then(|| view! {
                    <button type="button" id="share-link" on:click=share>{move || tx(&ctx).share}</button>
                })}
                <a class="button" id="download-svg" href=qr download=format!("{file}.svg")>
                    {move || tx(&ctx).download_svg}
                </a>
                <button type="button" id="download-png" on:click=png>{move || tx(&ctx).download_png}</button>
                <button type="button" id="print-link" on:click=move |_| {
                    let _ = js::window().print();
                }>
                    {move || tx(&ctx).print}
                </button>
            </div>
            <details class="embed" id="embed">
                <summary>{move || tx(&ctx).embed}</summary>
                <p class="hint">{move || tx(&ctx).embed_intro}</p>
                <label for="embed-code">{move || tx(&ctx).embed_snippet}</label>
                <textarea id="embed-code" readonly rows="6" prop:value=snippet></textarea>
                <p class="hint">{move || tx(&ctx).embed_preview}</p>
                // The snippet's look with the console's own classes: the
                // console's policy refuses inline styles, the merchant's
                // page does not (the snippet carries them).
                <div class="embed-preview" id="embed-preview">
                    <a class="embed-pay" href=url_text.clone() rel="noopener">{move || tx(&ctx).pay_now}</a>
                    <br/>
                    <img class="embed-qr" src=link_form::qr_url(&url_text) alt=move || tx(&ctx).qr_alt width="160" height="160"/>
                </div>
            </details>
        </div>
    }
    .into_any()
}

/// Moves the focus to the element `id` (a field with a refusal, a
/// result's heading), after the view updated.
fn focus(id: &str) {
    let id = id.to_owned();
    spawn_local(async move {
        js::sleep(0).await;
        if let Some(el) = js::document()
            .get_element_by_id(&id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
}

/// `navigator[name]`, if the browser has it.
fn navigator_member(name: &str) -> Option<(JsValue, js_sys::Function)> {
    let nav: JsValue = js::window().navigator().into();
    let member = js_sys::Reflect::get(&nav, &JsValue::from_str(name)).ok()?;
    member.dyn_into::<js_sys::Function>().ok().map(|f| (nav, f))
}

/// Whether the browser can share (`navigator.share`: phones).
fn can_share() -> bool {
    navigator_member("share").is_some()
}

/// Copies `text` (`navigator.clipboard.writeText`); whether it worked.
async fn copy_text(text: &str) -> bool {
    let nav: JsValue = js::window().navigator().into();
    let Ok(clipboard) = js_sys::Reflect::get(&nav, &JsValue::from_str("clipboard")) else {
        return false;
    };
    let Ok(write) = js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText"))
        .and_then(|f| f.dyn_into::<js_sys::Function>())
    else {
        return false;
    };
    match write.call1(&clipboard, &JsValue::from_str(text)) {
        Ok(promise) => JsFuture::from(js_sys::Promise::from(promise)).await.is_ok(),
        Err(_) => false,
    }
}

/// Opens the phone's share sheet for the link.
fn share_url(url: &str, title: &str) {
    let Some((nav, share)) = navigator_member("share") else {
        return;
    };
    let data = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&data, &"url".into(), &JsValue::from_str(url));
    let _ = js_sys::Reflect::set(&data, &"title".into(), &JsValue::from_str(title));
    // A dismissed sheet rejects; nothing to do then.
    if let Ok(promise) = share.call1(&nav, &data) {
        spawn_local(async move {
            let _ = JsFuture::from(js_sys::Promise::from(promise)).await;
        });
    }
}

/// Side of the PNG, pixels: sharp when printed at 8 cm and 300 dpi.
const PNG_SIDE: u32 = 1024;

/// Downloads the QR as a PNG: the Worker's SVG (same origin, so the canvas
/// stays readable) drawn on a canvas in the browser.
fn download_png(svg_url: &str, name: &str) {
    let doc = js::document();
    let Ok(img) = doc
        .create_element("img")
        .map(|e| e.unchecked_into::<web_sys::HtmlImageElement>())
    else {
        return;
    };
    let name = name.to_owned();
    let drawn = img.clone();
    let onload = Closure::once(move || {
        let doc = js::document();
        let Ok(canvas) = doc
            .create_element("canvas")
            .map(|e| e.unchecked_into::<web_sys::HtmlCanvasElement>())
        else {
            return;
        };
        canvas.set_width(PNG_SIDE);
        canvas.set_height(PNG_SIDE);
        let Some(ctx) = canvas
            .get_context("2d")
            .ok()
            .flatten()
            .and_then(|c| c.dyn_into::<web_sys::CanvasRenderingContext2d>().ok())
        else {
            return;
        };
        ctx.set_fill_style_str("#fff");
        ctx.fill_rect(0.0, 0.0, f64::from(PNG_SIDE), f64::from(PNG_SIDE));
        let side = f64::from(PNG_SIDE);
        let _ = ctx.draw_image_with_html_image_element_and_dw_and_dh(&drawn, 0.0, 0.0, side, side);
        let Ok(data) = canvas.to_data_url_with_type("image/png") else {
            return;
        };
        if let Ok(a) = doc
            .create_element("a")
            .map(|e| e.unchecked_into::<web_sys::HtmlAnchorElement>())
        {
            a.set_href(&data);
            a.set_download(&name);
            a.set_id("png-data");
            let _ = doc.body().map(|b| b.append_child(&a));
            a.click();
            a.remove();
        }
    });
    img.set_onload(Some(onload.as_ref().unchecked_ref()));
    onload.forget();
    img.set_src(svg_url);
}
