//! Signing in from the page: the sign-in panel and the sign-in/sign-out controls (DOM
//! events → [`Message`]s), and the requests that wait on a 401
//! ([`crate::js::set_sign_in`]; the state's [`crate::state::Effect::Retry`] or
//! [`crate::state::Effect::GiveUp`] ends the wait, see `page`). The `/api/v1/auth` calls
//! are commands.

use std::rc::Rc;

use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlElement, HtmlInputElement};

use crate::state::{Message, Secret};
use crate::ui::dom::{by_id, listen};
use crate::ui::page::{Shared, dispatch};

/// Makes every request the page sends ([`crate::js::send`], [`crate::js::get_bytes`])
/// wait for a sign-in on 401, and wires the panel's controls.
pub fn install(page: &Shared) {
    let (asks, waits) = (page.clone(), page.clone());
    crate::js::set_sign_in(crate::js::SignIn {
        needed: Rc::new(move || asks.state.borrow().auth.needed()),
        wait: Rc::new(move || Box::pin(wait_for_sign_in(waits.clone()))),
    });
    let submit = page.clone();
    listen::<web_sys::Event>(
        &by_id::<HtmlElement>("sign-in").into(),
        "submit",
        move |e| {
            e.prevent_default();
            let input: HtmlInputElement = by_id("sign-in-token");
            let token = Secret(input.value());
            // The token lives in the DOM only while it is typed.
            input.set_value("");
            dispatch(&submit, Message::SignIn(token));
        },
    );
    let on_click = |id: &str, message: fn() -> Message| {
        let page = page.clone();
        listen::<web_sys::Event>(&by_id::<HtmlElement>(id).into(), "click", move |_| {
            dispatch(&page, message());
        });
    };
    on_click("sign-in-cancel", || Message::SignInCancelled);
    on_click("sign-in-open", || Message::ShowSignIn);
    on_click("sign-out", || Message::SignOut);
}

/// A request got 401 (or would): it is numbered, the state shows the panel, and it resolves when
/// the state says to retry (`true`) or to give up (`false`).
async fn wait_for_sign_in(page: Shared) -> bool {
    let id = {
        let mut dom = page.dom.borrow_mut();
        dom.next_wait += 1;
        dom.next_wait
    };
    let waits = page.clone();
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        waits.dom.borrow_mut().sign_in_waits.insert(id, resolve);
    });
    dispatch(&page, Message::Unauthorized { request: id });
    JsFuture::from(promise)
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}
