//! Tests of the volume browsing model (`crate::volume`).

use super::*;
use crate::ground_truth::GroundTruth;

/// A 4×3×5 CT-like volume as the server describes it.
pub(crate) fn info() -> VolumeInfo {
    serde_json::from_value(serde_json::json!({
        "id": "5b".repeat(32), "dims": [4, 3, 5], "channels": 1, "sample_type": "i16",
        "spacing_mm": [1.0, 1.0, 2.0],
        "affine_lps": [[1.0, 0, 0, -10.0], [0, 1.0, 0, -20.0], [0, 0, 2.0, -30.0], [0, 0, 0, 1.0]],
        "oriented": true, "inverted": false,
        "slices": { "axial": 5, "coronal": 3, "sagittal": 4, "native": 5 },
        "slice_size": { "axial": [4, 3], "coronal": [4, 5], "sagittal": [3, 5], "native": [4, 3] },
        "value_range": [-1024.0, 3071.0],
        "default_window": { "center": 40.0, "width": 400.0 },
        "presets": { "bone": { "center": 400.0, "width": 1800.0 },
                     "ct_abdomen": { "center": -314.5, "width": 1353.0 },
                     "lung": { "center": -600.0, "width": 1500.0 } }
    }))
    .unwrap()
}

/// The server's answer for `view`, stored as image `id` (repeated to 64 characters).
pub(crate) fn slice(view: &SliceView, id: char) -> SliceInfo {
    serde_json::from_value(serde_json::json!({
        "id": id.to_string().repeat(64), "width": 4, "height": 3,
        "volume_id": view.volume, "axis": view.axis.as_str(), "index": view.index,
        "window": { "requested": view.window.to_string(), "lower": -160.0, "upper": 240.0,
                    "inverted": false },
        "pixel_spacing_mm": [1.0, 1.0], "origin_lps": [-10.0, -20.0, -26.0],
        "column_direction": [1, 0, 0], "row_direction": [0, 1, 0]
    }))
    .unwrap()
}

#[test]
fn the_server_description_reads_and_the_first_view_is_the_middle_axial_slice() {
    let info = info();
    assert_eq!(info.slice_count(Axis::Coronal), 3);
    assert!(!info.is_single_slice());
    assert_eq!(
        info.axes(),
        vec![Axis::Axial, Axis::Coronal, Axis::Sagittal]
    );
    let view = info.initial_view();
    assert_eq!(
        (view.axis, view.index, view.window),
        (Axis::Axial, 2, Window::Default)
    );
    assert_eq!(
        view.request_body(),
        r#"{"axis":"axial","index":2,"window":"default"}"#
    );
    let mut single = info.clone();
    single.slices.insert("native".into(), 1);
    assert_eq!(single.initial_view().axis, Axis::Native);
}

#[test]
fn a_view_round_trips_as_json_and_refuses_bad_fields() {
    let view = SliceView {
        volume: "ab".repeat(32),
        axis: Axis::Coronal,
        index: 7,
        window: Window::Manual(WindowLevel {
            center: -314.5,
            width: 1353.0,
        }),
    };
    let text = serde_json::to_string(&view).unwrap();
    assert_eq!(
        text,
        format!(
            r#"{{"volume":"{}","axis":"coronal","index":7,"window":"-314.5,1353"}}"#,
            "ab".repeat(32)
        )
    );
    assert_eq!(serde_json::from_str::<SliceView>(&text).unwrap(), view);
    for window in ["ct_abdomen", "p0.5-99.5", "minmax", "default", "40,400"] {
        let v = SliceView::parse(&view.volume, "axial", 0, window).unwrap();
        assert_eq!(v.window.to_string(), window);
    }
    assert!(SliceView::parse("xyz", "axial", 0, "default").is_err());
    assert!(SliceView::parse(&view.volume, "oblique", 0, "default").is_err());
    assert!(SliceView::parse(&view.volume, "axial", 0, "40,-1").is_err());
    assert!(SliceView::parse(&view.volume, "axial", 0, "nonsense").is_err());
}

#[test]
fn moving_through_the_volume_clamps_and_remembers_the_index_per_axis() {
    let info = info();
    let mut state = VolumeState::<()>::new(info.clone(), info.initial_view()).unwrap();
    assert!(state.step(1));
    assert_eq!(state.target().index, 3);
    assert!(state.step(10));
    assert_eq!(state.target().index, 4, "clamped to the last slice");
    assert!(!state.step(1), "already at the end");
    assert!(state.step(-100));
    assert_eq!(state.target().index, 0);
    assert!(state.set_axis(Axis::Sagittal));
    assert_eq!(state.target().index, 2, "middle of 4 sagittal slices");
    assert!(state.set_index(3));
    assert!(state.set_axis(Axis::Axial));
    assert_eq!(state.target().index, 0, "back where axial was");
    assert!(state.set_axis(Axis::Sagittal));
    assert_eq!(state.target().index, 3);
    let g = state.generation();
    assert!(state.set_window(Window::Preset(imaging::Preset::Lung)));
    assert_eq!(state.generation(), g + 1);
    assert!(!state.set_window(Window::Manual(WindowLevel {
        center: 0.0,
        width: 0.0
    })));
}

#[test]
fn fetches_follow_the_latest_target_and_slices_keep_their_own_memory() {
    let info = info();
    let mut state = VolumeState::<Vec<&str>>::new(info.clone(), info.initial_view()).unwrap();
    let first = state.next_fetch().unwrap();
    assert!(state.next_fetch().is_none(), "one fetch at a time");
    state.step(1);
    assert!(!state.settled());
    assert_eq!(
        state.arrived(first.clone(), slice(&first, 'a')),
        Arrival::NewSlice { previous: None }
    );
    assert!(!state.settled(), "the target moved on meanwhile");
    let second = state.next_fetch().unwrap();
    assert_eq!(second.index, 3);
    assert_eq!(
        state.arrived(second.clone(), slice(&second, 'b')),
        Arrival::NewSlice {
            previous: Some((Axis::Axial, 2))
        }
    );
    assert!(state.settled());
    assert!(state.next_fetch().is_none());
    // Prompts of slice 2 are kept while slice 3 is shown.
    state.remember((Axis::Axial, 2), vec!["box on slice 2"]);
    // A window change is the same slice.
    state.set_window(Window::Preset(imaging::Preset::Bone));
    let third = state.next_fetch().unwrap();
    assert_eq!(
        state.arrived(third.clone(), slice(&third, 'c')),
        Arrival::SameSlice
    );
    assert_eq!(state.recall((Axis::Axial, 2)), Some(vec!["box on slice 2"]));
    assert_eq!(state.recall((Axis::Axial, 2)), None);
    // A failed fetch puts the controls back on the slice shown.
    state.step(-1);
    state.next_fetch().unwrap();
    state.fetch_failed();
    assert_eq!(state.target(), &third);
    assert!(state.settled());
    // Views of another volume or outside it are refused.
    let mut outside = third.clone();
    outside.index = 99;
    assert!(VolumeState::<()>::new(info.clone(), outside).is_err());
}

#[test]
fn positions_and_labels_read_like_a_viewer() {
    assert_eq!(slice_label(0, 120), "slice 1 / 120");
    assert_eq!(
        position_label(Axis::Axial, [-10.0, -20.0, -26.0], true).as_deref(),
        Some("z = -26.0 mm (I)")
    );
    assert_eq!(
        position_label(Axis::Coronal, [0.0, 12.25, 0.0], true).as_deref(),
        Some("y = 12.2 mm (P)")
    );
    assert_eq!(
        position_label(Axis::Sagittal, [3.0, 0.0, 0.0], true).as_deref(),
        Some("x = 3.0 mm (L)")
    );
    assert_eq!(position_label(Axis::Axial, [0.0; 3], false), None);
    assert_eq!(position_label(Axis::Native, [0.0; 3], true), None);
    assert_eq!(short_number(-991.0), "-991");
    assert_eq!(short_number(0.25), "0.25");
    assert_eq!(short_number(-0.0001), "0");
}

#[test]
fn window_choices_list_the_papers_abdomen_window_first_then_mr_percentiles() {
    let choices = window_choices(&info());
    let values: Vec<&str> = choices.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(
        values,
        [
            "default",
            "ct_abdomen",
            "lung",
            "bone",
            "p0.5-99.5",
            "p1-99",
            "minmax"
        ]
    );
    assert_eq!(choices[1].1, "CT abdomen [-991, 362]");
    assert_eq!(choices[0].1, "file window (C 40 W 400)");
    for (value, _) in &choices {
        assert!(value.parse::<Window>().is_ok(), "{value}");
    }
    let info = info();
    assert_eq!(
        known_level(&info, &Window::Preset(imaging::Preset::CtAbdomen))
            .map(|w| (w.lower(), w.upper())),
        Some((-991.0, 362.0))
    );
    assert_eq!(known_level(&info, &Window::MR_PERCENTILES), None);
}

#[test]
fn the_drag_gesture_changes_width_horizontally_and_level_vertically() {
    let start = WindowLevel {
        center: 40.0,
        width: 400.0,
    };
    let range = [-1024.0, 3071.0];
    let w = dragged_window(start, 100.0, 0.0, range);
    assert_eq!(w.center, 40.0);
    assert_eq!(w.width, 400.0 + 819.0, "4095 per 500 px, rounded to 1 HU");
    let w = dragged_window(start, 0.0, -50.0, range);
    assert_eq!((w.center, w.width), (40.0 - 410.0, 400.0));
    let w = dragged_window(start, -10_000.0, 0.0, range);
    assert!(w.width > 0.0 && w.width <= 2.0, "{w:?}");
    // Normalised data keeps fine steps.
    let w = dragged_window(
        WindowLevel {
            center: 0.5,
            width: 1.0,
        },
        1.0,
        0.0,
        [0.0, 1.0],
    );
    assert_eq!(w.width, 1.002);
    assert_eq!(round_for_span(12.345_678, 1.0), 12.3457);
}

#[test]
fn the_preview_lut_is_exact_inside_the_shown_window() {
    let shown = WindowLevel::from_bounds(0.0, 255.0);
    let same = preview_lut(shown, shown, false);
    assert!(same.iter().enumerate().all(|(i, &v)| v as usize == i));
    // Narrowing to [100, 150]: 100 → 0, 125 → 128 (half up), 150 → 255, beyond clipped.
    let narrow = preview_lut(shown, WindowLevel::from_bounds(100.0, 150.0), false);
    assert_eq!(
        (
            narrow[99],
            narrow[100],
            narrow[125],
            narrow[150],
            narrow[200]
        ),
        (0, 0, 128, 255, 255)
    );
    // Inverted (MONOCHROME1) stays inverted.
    let inv = preview_lut(shown, WindowLevel::from_bounds(100.0, 150.0), true);
    assert_eq!((inv[255 - 100], inv[255 - 150]), (255, 0));
}

fn nrrd(sizes: [usize; 3], data: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "NRRD0004\ntype: uint8\ndimension: 3\nspace: left-posterior-superior\nsizes: {} {} {}\n\
         space directions: (1,0,0) (0,1,0) (0,0,2)\nkinds: domain domain domain\n\
         endian: little\nencoding: raw\nspace origin: (-10,-20,-30)\n\n",
        sizes[0], sizes[1], sizes[2]
    )
    .into_bytes();
    bytes.extend_from_slice(data);
    bytes
}

#[test]
fn a_label_volume_on_the_scans_grid_slices_into_ground_truth_masks() {
    let info = info();
    let mut data = vec![0u8; 4 * 3 * 5];
    // Voxel (i=1, j=2, k=3) is label 7.
    data[3 * 12 + 2 * 4 + 1] = 7;
    let labels =
        imaging::decode_labels(&nrrd([4, 3, 5], &data), &imaging::Limits::default()).unwrap();
    check_label_grid(&info, &labels).unwrap();
    for axis in [Axis::Axial, Axis::Coronal, Axis::Sagittal] {
        let [w, h] = info.slice_size[axis.as_str()];
        let pngs: Vec<Option<Vec<u8>>> = (0..info.slice_count(axis))
            .map(|i| label_slice_png(&labels, axis, i).unwrap())
            .collect();
        assert_eq!(
            pngs.iter().filter(|p| p.is_some()).count(),
            1,
            "{axis}: one slice holds the voxel"
        );
        let png = pngs.into_iter().flatten().next().unwrap();
        let gt = GroundTruth::decode(&png, w, h).unwrap();
        assert_eq!(gt.labels(), vec![(7, 1)], "{axis}");
    }
    assert!(label_slice_png(&labels, Axis::Axial, 9).is_err());

    let other =
        imaging::decode_labels(&nrrd([4, 3, 4], &data[..48]), &imaging::Limits::default()).unwrap();
    assert!(
        check_label_grid(&info, &other)
            .unwrap_err()
            .contains("4×3×4")
    );
}
