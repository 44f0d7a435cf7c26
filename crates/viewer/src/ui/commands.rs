//! What the page fetches and loads: each command is an async function that talks to the
//! server (and loads pictures) and ends in [`Outcome`]: the messages for `update` and any
//! picture it loaded. Commands never touch the state; errors a person must see go to the
//! banner here.

use wasm_bindgen::JsValue;
use web_sys::HtmlImageElement;

use crate::js::{body_bytes, describe, error_detail, fetch, get_bytes, request, send};
use crate::link::SharedView;
use crate::state::{ImageMeta, MaskUse, Message, Secret};
use crate::ui::api::{self, Scan};
use crate::ui::dom::{set_text, show_error, sleep_ms};
use crate::volume::SliceView;

/// What a command ends in.
#[derive(Default)]
pub struct Outcome {
    /// A picture it loaded: (image id, element).
    pub image: Option<(String, HtmlImageElement)>,
    /// Messages for `update`, in order.
    pub messages: Vec<Message>,
}

impl Outcome {
    fn of(messages: Vec<Message>) -> Self {
        Self {
            image: None,
            messages,
        }
    }
}

/// `method path` with an optional JSON body; the reply's bytes, or the server's reason.
pub async fn call(method: &str, path: &str, body: Option<String>) -> Result<Vec<u8>, String> {
    let body = body.map(|b| JsValue::from_str(&b));
    send(method, path, body.as_ref(), body.is_some()).await
}

/// Loads stored image `id` as a picture. It is fetched like every other read (so a 401
/// waits for the sign-in and a class page names its key), then shown from a `blob:` URL.
pub async fn load_image(id: &str) -> Result<HtmlImageElement, String> {
    let bytes = get_bytes(&api::image_url(id)).await?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes.as_slice()));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(|e| describe(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| describe(&e))?;
    let element = HtmlImageElement::new().map_err(|e| describe(&e))?;
    element.set_src(&url);
    let decoded = wasm_bindgen_futures::JsFuture::from(element.decode()).await;
    let _ = web_sys::Url::revoke_object_url(&url);
    decoded.map_err(|e| format!("the image did not load: {}", describe(&e)))?;
    Ok(element)
}

/// Loads image `id` and puts it on screen (a 2-D scan), after `before`.
async fn show_image(id: &str, mut before: Vec<Message>) -> Outcome {
    match load_image(id).await {
        Ok(element) => {
            before.push(Message::ImageShown(ImageMeta {
                id: id.to_string(),
                width: element.natural_width() as usize,
                height: element.natural_height() as usize,
            }));
            Outcome {
                image: Some((id.to_string(), element)),
                messages: before,
            }
        }
        Err(e) => {
            show_error(&e);
            Outcome::of(before)
        }
    }
}

/// Uploads a scan (and, for a picture, its ground truth `mask`) and shows it.
pub async fn open_scan(bytes: Vec<u8>, mask: Option<Vec<u8>>) -> Outcome {
    show_error("");
    set_text("status", "Uploading the scan…");
    match api::upload_scan(&bytes).await {
        Err(e) => {
            show_error(&format!("the scan was not accepted: {e}"));
            Outcome::default()
        }
        Ok(Scan::Image(uploaded)) => {
            let mut outcome =
                show_image(&uploaded.id, vec![Message::ScanUploaded { picture: true }]).await;
            if outcome.image.is_some()
                && let Some(mask) = mask
            {
                outcome.messages.push(Message::GroundTruthFile(mask));
            }
            outcome
        }
        // Slices arrive asynchronously; a ground truth is loaded on a slice (or as a label
        // volume) once one is shown.
        Ok(Scan::Volume(info)) => Outcome::of(vec![
            Message::ScanUploaded { picture: false },
            Message::VolumeOpened {
                info: *info,
                view: None,
            },
        ]),
    }
}

/// Opens demo `index` of the server's list.
pub async fn open_demo(index: usize) -> Outcome {
    let demos = api::demos().await;
    let Some(demo) = demos.get(index) else {
        return Outcome::default();
    };
    let image = match get_bytes(&demo.image).await {
        Ok(b) => b,
        Err(e) => {
            show_error(&format!("demo scan: {e}"));
            return Outcome::default();
        }
    };
    let mask = match &demo.mask {
        Some(url) => get_bytes(url).await.ok(),
        None => None,
    };
    open_scan(image, mask).await
}

/// Opens a shared view: its image or volume slice, ground truth, label and steps.
pub async fn open_link(link: SharedView) -> Outcome {
    if let Some(view) = &link.view {
        match api::volume(&view.volume).await {
            Ok(info) => {
                let gt = link_gt(&link).await;
                return Outcome::of(vec![Message::LinkOpened {
                    link,
                    gt,
                    volume: Some(Box::new(info)),
                }]);
            }
            Err(e) => show_error(&format!(
                "this link's volume is not on this server ({e}); showing its stored slice only"
            )),
        }
    }
    if let Err(e) = get_bytes(&api::image_url(&link.image)).await {
        show_error(&format!(
            "this link's image is not on this server ({e}); upload the scan again"
        ));
        return Outcome::default();
    }
    let gt = link_gt(&link).await;
    let image = link.image.clone();
    show_image(
        &image,
        vec![Message::LinkOpened {
            link,
            gt,
            volume: None,
        }],
    )
    .await
}

/// A share link's ground truth (id, bytes); it is decoded once the image size is known.
async fn link_gt(link: &SharedView) -> Option<(String, Vec<u8>)> {
    let gt = link.gt.as_ref()?;
    match get_bytes(&api::mask_url(gt)).await {
        Ok(bytes) => Some((gt.clone(), bytes)),
        Err(e) => {
            show_error(&format!(
                "this link's ground truth is not on this server ({e})"
            ));
            None
        }
    }
}

/// Renders volume slice `view` on the server and loads its picture.
pub async fn fetch_slice(view: SliceView) -> Outcome {
    let result = match api::slice(&view).await {
        Ok(slice) => load_image(&slice.id).await.map(|element| (slice, element)),
        Err(e) => Err(e),
    };
    match result {
        Ok((slice, element)) => Outcome {
            messages: vec![Message::SliceArrived {
                view,
                width: element.natural_width() as usize,
                height: element.natural_height() as usize,
                slice: slice.clone(),
            }],
            image: Some((slice.id, element)),
        },
        Err(error) => Outcome::of(vec![Message::SliceFailed { view, error }]),
    }
}

/// Waits [`crate::state::SETTLE_MS`] after target change `generation`.
pub async fn settle(generation: u64) -> Outcome {
    sleep_ms(crate::state::SETTLE_MS).await;
    Outcome::of(vec![Message::Settled { generation }])
}

/// Stores a mask on the server.
pub async fn upload_mask(
    bytes: Vec<u8>,
    gt: crate::ground_truth::GroundTruth,
    purpose: MaskUse,
) -> Outcome {
    match api::upload("/api/v1/masks", &bytes).await {
        Ok(uploaded) => Outcome::of(vec![Message::MaskUploaded {
            id: uploaded.id,
            gt,
            purpose,
        }]),
        Err(e) => {
            show_error(&match purpose {
                MaskUse::Picture => format!("the ground truth was not accepted: {e}"),
                MaskUse::LabelSlice(_) => format!("a label slice was not accepted: {e}"),
            });
            Outcome::default()
        }
    }
}

/// `GET /api/v1/auth`: whether the server needs a token and this browser is signed in
/// (nothing when the server has no such route: it is an open one).
pub async fn auth_status() -> Outcome {
    let status = match request("GET", "/api/v1/auth", None, false) {
        Ok(req) => match fetch(&req).await {
            Ok(response) if response.ok() => body_bytes(&response)
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<::api::AuthStatus>(&b).ok()),
            _ => None,
        },
        Err(_) => None,
    };
    Outcome::of(
        status
            .map(|s| Message::AuthKnown {
                token_required: s.token_required,
                signed_in: s.signed_in,
            })
            .into_iter()
            .collect(),
    )
}

/// `POST /api/v1/auth/sign-in` with `token` (the server answers with its session cookie).
pub async fn sign_in(token: Secret) -> Outcome {
    let body = ::api::SignIn { token: token.0 };
    let body = JsValue::from_str(&serde_json::to_string(&body).unwrap_or_default());
    let outcome = match request("POST", "/api/v1/auth/sign-in", Some(&body), true) {
        Ok(req) => match fetch(&req).await {
            Ok(response) if response.ok() => Ok(()),
            Ok(response) if response.status() == 401 => {
                Err("The server refused this token: check it and try again.".into())
            }
            Ok(response) => Err(error_detail(&response).await),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    Outcome::of(vec![Message::SignedIn(outcome)])
}

/// `POST /api/v1/auth/sign-out`: the server forgets the session and expires the cookie.
pub async fn sign_out() -> Outcome {
    let sent = match request("POST", "/api/v1/auth/sign-out", None, false) {
        Ok(req) => fetch(&req).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(response) if response.ok() => Outcome::of(vec![Message::SignedOut]),
        Ok(response) => {
            show_error(&format!(
                "signing out failed: {}",
                error_detail(&response).await
            ));
            Outcome::default()
        }
        Err(e) => {
            show_error(&format!("signing out failed: {e}"));
            Outcome::default()
        }
    }
}
