//! The page's main flows driven through [`update`] with messages, natively.

use ::api::{Action, Step};

use super::*;
use crate::classroom::{Case, ClassState, Classroom, Role};
use crate::protocol::{Backend, BackendChoice, Reply, Request, Wire};
use crate::volume::{Axis, SliceInfo, SliceView, VolumeInfo, Window};

const IMAGE: &str = "aa";

/// Whether an effect matches the pattern.
macro_rules! has {
    ($fx:expr, $($p:tt)+) => {
        $fx.iter().any(|e| matches!(e, $($p)+))
    };
}

fn png(width: u32, height: u32, values: Vec<u8>) -> Vec<u8> {
    let img = image::GrayImage::from_raw(width, height, values).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A 4×3 label map: label 2 in the left two columns, label 7 at one pixel.
fn label_map() -> Vec<u8> {
    png(4, 3, vec![2, 2, 0, 0, 2, 2, 0, 7, 2, 2, 0, 0])
}

/// The person chooses the label map as ground truth; it is uploaded as mask `id`.
fn load_ground_truth(s: &mut State, id: &str) {
    let fx = send(s, Message::GroundTruthFile(label_map()));
    let (bytes, gt, purpose) = fx
        .into_iter()
        .find_map(|e| match e {
            Effect::UploadMask { bytes, gt, purpose } => Some((bytes, gt, purpose)),
            _ => None,
        })
        .expect("the ground truth is uploaded");
    assert_eq!((bytes, purpose), (label_map(), MaskUse::Picture));
    send(
        s,
        Message::MaskUploaded {
            id: id.into(),
            gt,
            purpose,
        },
    );
    assert_eq!(s.session.gt.as_ref().map(|(g, _)| g.as_str()), Some(id));
}

fn send(state: &mut State, message: Message) -> Vec<Effect> {
    update(state, message)
}

fn posts(effects: &[Effect]) -> Vec<&Request> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Post(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn status(effects: &[Effect]) -> Option<&str> {
    effects.iter().rev().find_map(|e| match e {
        Effect::Text { id: "status", text } => Some(text.as_str()),
        _ => None,
    })
}

fn ready_reply(backend: Backend) -> Reply {
    Reply::Ready {
        backend,
        adapter: String::new(),
        cached: true,
        load_ms: 1.0,
        warmup_ms: 1.0,
        fallback_reason: None,
    }
}

fn init() -> Request {
    Request::Init {
        model: "lite_medsam".into(),
        url: "/w".into(),
        sha256: "00".into(),
        layout: Default::default(),
        backend: BackendChoice::Cpu,
    }
}

/// Decoder ready, image `IMAGE` (4×3) on screen with its embedding held.
fn ready_page() -> State {
    let mut s = State::new(BackendChoice::Cpu, Wire::default());
    send(
        &mut s,
        Message::LoadDecoder {
            model: "lite_medsam".into(),
            request: init(),
        },
    );
    send(&mut s, Message::Reply(ready_reply(Backend::CpuWasm)));
    send(&mut s, Message::ScanUploaded { picture: true });
    send(&mut s, Message::ImageShown(meta(IMAGE)));
    // 100 screen pixels per image pixel: clicks on neighbouring pixels are distinct.
    send(
        &mut s,
        Message::Fit {
            width: 400.0,
            height: 300.0,
        },
    );
    assert_eq!(s.view.view.scale, 100.0);
    send(&mut s, image_ready());
    assert!(s.link.embedding_ready);
    s
}

fn meta(id: &str) -> ImageMeta {
    ImageMeta {
        id: id.into(),
        width: 4,
        height: 3,
    }
}

fn image_ready() -> Message {
    Message::Reply(Reply::ImageReady {
        width: 4,
        height: 3,
        model: "lite_medsam".into(),
    })
}

/// A click at the centre of image pixel `(x, y)`.
fn click(s: &mut State, x: f64, y: f64) -> Vec<Effect> {
    let v = s.view.view;
    let mut fx = send(
        s,
        Message::PointerDown {
            sx: (x + 0.5) * v.scale + v.ox,
            sy: (y + 0.5) * v.scale + v.oy,
            button: 0,
            ctrl: false,
        },
    );
    assert!(has!(fx, Effect::Consumed));
    fx.extend(send(s, Message::PointerUp { shift: false }));
    fx
}

/// The worker's answer to decode `seq`: candidates as 4×3 masks.
fn decoded(seq: u32, masks: &[[u8; 12]], ious: Vec<f32>, preview: bool) -> Message {
    Message::Reply(Reply::Decoded {
        seq,
        width: 4,
        height: 3,
        masks: masks.concat(),
        iou_predictions: ious,
        decode_ms: 7.0,
        decoded_steps: 1,
        preview,
    })
}

const LEFT: [u8; 12] = [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0];
const ONE: [u8; 12] = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

#[test]
fn loading_a_scan_asks_for_its_embedding_once_the_decoder_is_ready() {
    let mut s = State::new(BackendChoice::Cpu, Wire::default());
    let fx = send(
        &mut s,
        Message::LoadDecoder {
            model: "m".into(),
            request: init(),
        },
    );
    assert!(matches!(posts(&fx)[..], [Request::Init { model, .. }] if model == "lite_medsam"));
    assert_eq!(s.link.model, "m");
    // An image before the decoder: shown, but no embedding asked for yet.
    send(&mut s, Message::ScanUploaded { picture: true });
    let fx = send(&mut s, Message::ImageShown(meta(IMAGE)));
    assert!(has!(fx, Effect::Fit));
    assert!(!fx.iter().any(|e| matches!(e, Effect::SetImage { .. })));
    let fx = send(&mut s, Message::Reply(ready_reply(Backend::Webgpu)));
    assert!(s.link.decoder_ready && s.view.hover);
    assert!(has!(fx, Effect::HoverChecked(true)));
    assert!(has!(fx, Effect::SetImage { image } if image == IMAGE));
    assert_eq!(
        status(&fx),
        Some("Computing the image embedding on the server…")
    );
    assert!(s.busy());
    let fx = send(&mut s, image_ready());
    assert!(s.link.embedding_ready && !s.busy());
    assert_eq!(s.link.embedding_image.as_deref(), Some(IMAGE));
    assert_eq!(
        status(&fx),
        Some("Ready: drag a box around the structure, or click inside it.")
    );
    // Showing the same image again: the worker holds it, nothing is fetched.
    send(&mut s, Message::ImageShown(meta(IMAGE)));
    assert!(s.link.embedding_ready);
    assert_eq!(s.link.embedding_requests.len(), 0);
}

#[test]
fn a_click_sends_a_decode_and_its_reply_shows_the_mask_and_the_metrics() {
    let mut s = ready_page();
    load_ground_truth(&mut s, "gt1");

    let fx = click(&mut s, 1.0, 1.0);
    let point = Step {
        action: Action::Point {
            x: 1.0,
            y: 1.0,
            positive: true,
        },
        chosen: None,
    };
    assert!(
        matches!(posts(&fx)[..], [Request::Decode { seq: 1, steps, preview: false }] if steps == &vec![point])
    );
    assert!(s.busy() && s.link.in_flight);
    let fx = send(&mut s, decoded(1, &[ONE, LEFT], vec![0.2, 0.9], false));
    assert!(!s.busy());
    assert!(has!(fx, Effect::Render(Part::Results)));
    let shown = s.session.shown.as_ref().unwrap();
    assert_eq!(shown.chosen(), 1);
    assert_eq!(shown.mask().data, LEFT.to_vec());
    // The object under the click, and a perfect overlap with it.
    assert_eq!(s.session.label, Some(2));
    let m = s.session.overlap().unwrap();
    assert!((m.dice - 1.0).abs() < 1e-12 && (m.iou - 1.0).abs() < 1e-12);
    assert_eq!(s.session.chart, vec![Some(1.0)]);
    assert_eq!(s.state_json()["area"], 6);
    // Choosing the other candidate re-decodes with the choice kept.
    let fx = send(&mut s, Message::Choose(0));
    assert!(
        matches!(posts(&fx)[..], [Request::Decode { seq: 2, steps, .. }] if steps[0].chosen == Some(0))
    );
}

#[test]
fn decodes_queue_behind_the_running_one_and_stale_replies_are_dropped() {
    let mut s = ready_page();
    click(&mut s, 0.0, 0.0);
    // A second click while the first decodes: queued, not sent.
    let fx = click(&mut s, 3.0, 2.0);
    assert!(posts(&fx).is_empty());
    // A hover preview does not replace the committed decode waiting.
    s.view.hover = true;
    let fx = send(
        &mut s,
        Message::PointerMove {
            sx: 250.0,
            sy: 50.0,
            shift: false,
        },
    );
    assert!(posts(&fx).is_empty());
    assert!(matches!(s.link.queued, Some((ref steps, false)) if steps.len() == 2));
    // The first reply is stale (a newer decode is committed next): not shown; the queued
    // one goes out.
    let fx = send(&mut s, decoded(1, &[ONE], vec![0.5], false));
    assert!(s.session.shown.is_none());
    assert!(
        matches!(posts(&fx)[..], [Request::Decode { seq: 2, steps, preview: false }] if steps.len() == 2)
    );
    send(&mut s, decoded(2, &[LEFT], vec![0.5], false));
    assert_eq!(s.session.shown.as_ref().unwrap().steps.len(), 2);
    // A preview reply draws the preview only.
    let fx = send(
        &mut s,
        Message::PointerMove {
            sx: 250.0,
            sy: 50.0,
            shift: true,
        },
    );
    assert!(
        matches!(posts(&fx)[..], [Request::Decode { seq: 3, preview: true, steps }] if steps.len() == 3)
    );
    send(&mut s, decoded(3, &[ONE], vec![0.5], true));
    assert_eq!(s.session.preview.as_ref().unwrap().data, ONE.to_vec());
    assert_eq!(s.session.shown.as_ref().unwrap().mask().data, LEFT.to_vec());
}

#[test]
fn undo_and_redo_walk_the_prompts_and_decode_each_version() {
    let mut s = ready_page();
    click(&mut s, 0.0, 0.0);
    send(&mut s, decoded(1, &[ONE], vec![0.5], false));
    click(&mut s, 3.0, 2.0);
    send(&mut s, decoded(2, &[LEFT], vec![0.5], false));
    assert_eq!(s.session.history.steps().len(), 2);
    let fx = send(&mut s, Message::Undo);
    assert_eq!(s.session.history.steps().len(), 1);
    assert!(matches!(posts(&fx)[..], [Request::Decode { seq: 3, steps, .. }] if steps.len() == 1));
    assert!(s.session.waiting());
    send(&mut s, decoded(3, &[ONE], vec![0.5], false));
    let fx = send(&mut s, Message::Redo);
    assert_eq!(s.session.history.steps().len(), 2);
    assert_eq!(posts(&fx).len(), 1);
    // Clicking an existing point removes it; clearing removes all and decodes nothing.
    send(&mut s, decoded(4, &[LEFT], vec![0.5], false));
    click(&mut s, 0.0, 0.0);
    assert_eq!(s.session.history.steps().len(), 1);
    send(&mut s, decoded(5, &[LEFT], vec![0.5], false));
    let fx = send(&mut s, Message::Clear);
    assert!(posts(&fx).is_empty());
    assert!(s.session.shown.is_none() && s.session.chart.is_empty());
    assert!(s.session.history.can_undo());
    assert!(send(&mut s, Message::Redo).is_empty());
}

#[test]
fn the_paper_protocol_shows_its_numbers_when_its_decode_arrives() {
    let mut s = ready_page();
    let fx = send(&mut s, Message::PaperProtocol);
    assert!(matches!(&fx[..], [Effect::Error(e)] if e.contains("ground truth")));
    load_ground_truth(&mut s, "g");
    send(&mut s, Message::Label(Some(2)));
    let fx = send(&mut s, Message::PaperProtocol);
    assert!(s.session.paper_pending);
    assert_eq!(posts(&fx).len(), 1);
    let fx = send(&mut s, decoded(1, &[LEFT], vec![0.5], false));
    let line = fx.iter().find_map(|e| match e {
        Effect::Text {
            id: "paper-result",
            text,
        } => Some(text.clone()),
        _ => None,
    });
    assert_eq!(
        line.as_deref(),
        Some("Paper protocol (centroid click, best of 3): Dice 1.0000, IoU 1.0000")
    );
    assert!(!s.session.paper_pending);
}

fn volume_info() -> VolumeInfo {
    crate::volume::tests::info()
}

/// The server's answer for `view` (an image id per slice and window).
fn slice(view: &SliceView) -> SliceInfo {
    let id = char::from(b'a' + (view.index as u8) * 2 + u8::from(view.window != Window::Default));
    crate::volume::tests::slice(view, id)
}

fn fetched(effects: &[Effect]) -> Option<SliceView> {
    effects.iter().find_map(|e| match e {
        Effect::FetchSlice(view) => Some(view.clone()),
        _ => None,
    })
}

fn arrive(s: &mut State, view: SliceView) -> Vec<Effect> {
    let slice = slice(&view);
    send(
        s,
        Message::SliceArrived {
            view,
            slice,
            width: 4,
            height: 3,
        },
    )
}

#[test]
fn changing_the_slice_fetches_it_and_each_slice_keeps_its_prompts() {
    let mut s = ready_page();
    let fx = send(
        &mut s,
        Message::VolumeOpened {
            info: volume_info(),
            view: None,
        },
    );
    assert!(has!(fx, Effect::VolumePanel(true)));
    assert!(s.scan.image.is_none() && !s.link.embedding_ready);
    let first = fetched(&fx).expect("the first slice is fetched");
    assert_eq!((first.axis, first.index), (Axis::Axial, 2));
    assert!(s.busy());
    let fx = arrive(&mut s, first.clone());
    let generation = match fx.iter().find(|e| matches!(e, Effect::Settle { .. })) {
        Some(Effect::Settle { generation }) => *generation,
        _ => panic!("a settled slice waits before its embedding: {fx:?}"),
    };
    assert_eq!(s.slice_view(), Some(first.clone()));
    let image = s.scan.image.clone().unwrap();
    let fx = send(&mut s, Message::Settled { generation });
    assert!(has!(fx, Effect::SetImage { image: id } if *id == image.id));
    send(&mut s, image_ready());
    click(&mut s, 1.0, 1.0);
    assert_eq!(s.session.history.steps().len(), 1);

    // The next slice: fetched; when it arrives, it has no prompts of its own.
    let fx = send(&mut s, Message::Volume(VolumeEdit::Step(1)));
    let next = fetched(&fx).expect("the next slice is fetched");
    assert_eq!(next.index, 3);
    assert!(has!(fx, Effect::Render(Part::VolumeControls)));
    // Moving again while it is fetched: the newest target follows when it arrives.
    let fx = send(&mut s, Message::Volume(VolumeEdit::Step(1)));
    assert_eq!(fetched(&fx), None);
    let fx = arrive(&mut s, next);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Settle { .. })));
    let newest = fetched(&fx).expect("the newest target is fetched next");
    assert_eq!(newest.index, 4);
    arrive(&mut s, newest);
    assert!(s.session.history.steps().is_empty());
    // Back to the first slice: its prompt is back.
    let fx = send(&mut s, Message::Volume(VolumeEdit::Index(2)));
    arrive(&mut s, fetched(&fx).unwrap());
    assert_eq!(s.session.history.steps().len(), 1);
    assert_eq!(s.state_json()["volume"]["index"], 2);
    // An old generation's timer asks for nothing.
    assert!(
        !send(&mut s, Message::Settled { generation })
            .iter()
            .any(|e| matches!(e, Effect::SetImage { .. }))
    );
}

#[test]
fn a_failed_slice_puts_the_controls_back_and_a_picture_closes_the_volume() {
    let mut s = ready_page();
    let fx = send(
        &mut s,
        Message::VolumeOpened {
            info: volume_info(),
            view: None,
        },
    );
    let first = fetched(&fx).unwrap();
    arrive(&mut s, first.clone());
    let fx = send(&mut s, Message::Volume(VolumeEdit::Step(-1)));
    let wanted = fetched(&fx).unwrap();
    let fx = send(
        &mut s,
        Message::SliceFailed {
            view: wanted,
            error: "gone".into(),
        },
    );
    assert!(matches!(&fx[0], Effect::Error(e) if e.ends_with("gone")));
    assert_eq!(s.browse.as_ref().unwrap().volume.target(), &first);
    let fx = send(&mut s, Message::ScanUploaded { picture: true });
    assert!(s.browse.is_none());
    assert!(has!(fx, Effect::VolumePanel(false)));
}

fn case(image: &str, gt: Option<&str>) -> Case {
    serde_json::from_value(serde_json::json!({
        "image": image, "gt": gt, "label": 2, "notes": "", "steps": []
    }))
    .unwrap()
}

fn room(role: Role) -> Classroom {
    Classroom {
        role,
        title: "Liver".into(),
        cases: vec![case(IMAGE, Some("g")), case("bb", None)],
        current: 0,
        revealed: vec![],
        expires_at: 0,
    }
}

#[test]
fn a_student_joins_follows_the_class_and_posts_after_each_decode() {
    let mut s = ready_page();
    let fx = send(
        &mut s,
        Message::ClassJoined {
            key: "k".into(),
            room: room(Role::Student),
            student: "st".into(),
        },
    );
    assert!(has!(fx, Effect::Render(Part::ClassPanel)));
    assert!(matches!(&fx[..], [.., Effect::OpenCase(c)] if c.image == IMAGE));
    assert_eq!(s.class.as_ref().unwrap().shown, Some(0));
    let fx = send(&mut s, Message::CaseOpened);
    assert!(has!(fx, Effect::AnswerControls(false)));
    assert!(!s.answer_visible());
    // The answer is hidden: no paper protocol for the student.
    assert!(send(&mut s, Message::PaperProtocol).is_empty());

    // A decode answered: the student's result is posted once.
    load_ground_truth(&mut s, "g");
    click(&mut s, 0.0, 0.0);
    let fx = send(&mut s, decoded(1, &[LEFT], vec![0.5], false));
    let post = fx.iter().find_map(|e| match e {
        Effect::PostResult { key, post } => Some((key.clone(), post.clone())),
        _ => None,
    });
    let (key, post) = post.expect("the result is posted");
    assert_eq!((key.as_str(), post.case, post.clicks), ("k", 0, 1));
    assert!((post.dice - 1.0).abs() < 1e-12);
    assert!(
        !send(&mut s, Message::Label(Some(2)))
            .iter()
            .any(|e| matches!(e, Effect::PostResult { .. }))
    );

    // The instructor reveals the case: the answer shows and the paper protocol runs.
    let fx = send(
        &mut s,
        Message::ClassMoved(ClassState {
            current: 0,
            revealed: vec![0],
        }),
    );
    assert!(s.answer_visible());
    assert!(has!(fx, Effect::AnswerControls(true)));
    assert!(s.session.paper_pending);
    assert_eq!(posts(&fx).len(), 1);
    assert_eq!(
        s.class.as_ref().unwrap().state_json()["answer_visible"],
        true
    );

    // The class moves on: the next case opens, its answer hidden again.
    let fx = send(
        &mut s,
        Message::ClassMoved(ClassState {
            current: 1,
            revealed: vec![0],
        }),
    );
    assert!(matches!(&fx[..], [.., Effect::OpenCase(c)] if c.image == "bb"));
    send(&mut s, Message::CaseOpened);
    assert!(!s.answer_visible());
}

#[test]
fn an_instructor_sees_the_answer_and_the_class_results() {
    let mut s = ready_page();
    send(
        &mut s,
        Message::ClassJoined {
            key: "k".into(),
            room: room(Role::Instructor),
            student: "st".into(),
        },
    );
    let fx = send(&mut s, Message::CaseOpened);
    assert!(has!(fx, Effect::AnswerControls(true)));
    assert!(s.answer_visible());
    let fx = send(&mut s, Message::ClassResults(vec![]));
    assert!(matches!(fx[..], [Effect::Render(Part::ClassResults)]));
    assert_eq!(s.class.as_ref().unwrap().state_json()["role"], "instructor");
}

#[test]
fn the_canvas_pans_zooms_and_fits() {
    let mut s = ready_page();
    send(
        &mut s,
        Message::Fit {
            width: 40.0,
            height: 60.0,
        },
    );
    assert_eq!(s.view.view, View::fit(40.0, 60.0, 4.0, 3.0));
    send(&mut s, Message::Space(true));
    send(
        &mut s,
        Message::PointerDown {
            sx: 0.0,
            sy: 0.0,
            button: 0,
            ctrl: false,
        },
    );
    send(
        &mut s,
        Message::PointerMove {
            sx: 5.0,
            sy: -2.0,
            shift: false,
        },
    );
    let fit = View::fit(40.0, 60.0, 4.0, 3.0);
    assert_eq!(
        (s.view.view.ox, s.view.view.oy),
        (fit.ox + 5.0, fit.oy - 2.0)
    );
    let fx = send(&mut s, Message::PointerUp { shift: false });
    assert!(posts(&fx).is_empty() && s.view.drag.is_none());
    send(
        &mut s,
        Message::Wheel {
            sx: 0.0,
            sy: 0.0,
            delta_y: -100.0,
        },
    );
    assert!(s.view.view.scale > fit.scale);
}

#[test]
fn a_401_asks_for_the_token_once_and_the_requests_are_retried_after_signing_in() {
    let mut s = State::new(BackendChoice::Cpu, Wire::default());
    let fx = send(
        &mut s,
        Message::AuthKnown {
            token_required: true,
            signed_in: false,
        },
    );
    assert!(has!(fx, Effect::Render(Part::Auth)));
    assert!(s.auth.can_sign_in() && !s.auth.can_sign_out() && !s.auth.panel);
    assert!(
        s.auth.needed(),
        "uploads wait for the sign-in before they are sent"
    );

    // The upload gets 401: the panel opens; a second 401 while it is open waits too.
    let fx = send(&mut s, Message::Unauthorized { request: 1 });
    assert!(s.auth.panel && has!(fx, Effect::Render(Part::Auth)));
    assert!(!s.auth.message.is_empty());
    send(&mut s, Message::Unauthorized { request: 2 });
    assert_eq!(s.auth.waiting, vec![1, 2]);

    // The token goes to the sign-in request (trimmed), and nowhere else.
    let fx = send(
        &mut s,
        Message::SignIn(Secret(" a-long-enough-token \n".into())),
    );
    let posted: Vec<&Secret> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::SignIn(token) => Some(token),
            _ => None,
        })
        .collect();
    assert_eq!(posted, vec![&Secret("a-long-enough-token".into())]);
    assert!(!format!("{fx:?}").contains("a-long-enough-token"));
    assert!(s.auth.signing_in && s.auth.panel);
    // A second submit while the first is on its way sends nothing.
    let fx = send(
        &mut s,
        Message::SignIn(Secret("a-long-enough-token".into())),
    );
    assert!(!has!(fx, Effect::SignIn(_)));

    // Signed in: the panel closes and both requests are sent again.
    let fx = send(&mut s, Message::SignedIn(Ok(())));
    assert!(has!(fx, Effect::Retry(ids) if *ids == vec![1, 2]));
    assert!(!s.auth.panel && s.auth.signed_in && s.auth.waiting.is_empty());
    assert!(s.auth.can_sign_out() && !s.auth.can_sign_in() && !s.auth.needed());
    assert_eq!(s.state_json()["auth"]["signed_in"], true);

    // Signing out forgets the session; the next 401 opens the panel again.
    let fx = send(&mut s, Message::SignOut);
    assert!(has!(fx, Effect::SignOut));
    send(&mut s, Message::SignedOut);
    assert!(!s.auth.signed_in && s.auth.can_sign_in());
    send(&mut s, Message::Unauthorized { request: 3 });
    assert!(s.auth.panel && s.auth.waiting == vec![3]);
}

#[test]
fn a_wrong_token_keeps_the_panel_with_the_reason_and_cancelling_fails_the_requests() {
    let mut s = State::new(BackendChoice::Cpu, Wire::default());
    send(&mut s, Message::Unauthorized { request: 7 });
    assert!(s.auth.token_required && s.auth.panel);

    // An empty token is not sent.
    let fx = send(&mut s, Message::SignIn(Secret("   ".into())));
    assert!(!has!(fx, Effect::SignIn(_)) && !s.auth.signing_in);
    assert!(s.auth.message.contains("Enter"));

    send(
        &mut s,
        Message::SignIn(Secret("not-the-right-token".into())),
    );
    let fx = send(
        &mut s,
        Message::SignedIn(Err("HTTP 401 Unauthorized: wrong token".into())),
    );
    assert!(!has!(fx, Effect::Retry(_)) && has!(fx, Effect::Render(Part::Auth)));
    assert!(s.auth.panel && !s.auth.signed_in && !s.auth.signing_in);
    assert_eq!(s.auth.message, "HTTP 401 Unauthorized: wrong token");
    assert_eq!(s.auth.waiting, vec![7], "the request still waits");

    // The right token then works.
    let fx = send(&mut s, Message::SignIn(Secret("the-right-token-16".into())));
    assert!(has!(fx, Effect::SignIn(_)));
    let fx = send(&mut s, Message::SignedIn(Ok(())));
    assert!(has!(fx, Effect::Retry(ids) if *ids == vec![7]));

    // A later 401 the person does not answer: closing the panel fails the request.
    send(&mut s, Message::Unauthorized { request: 8 });
    let fx = send(&mut s, Message::SignInCancelled);
    assert!(has!(fx, Effect::GiveUp(ids) if *ids == vec![8]));
    assert!(!s.auth.panel && s.auth.waiting.is_empty() && s.auth.can_sign_in());
}
