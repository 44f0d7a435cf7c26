//! A stable-Rust stand-in for the cargo-fuzz targets in `fuzz/`: seeded mutations of real
//! and synthetic files through every decoder, a fixed number per decoder (default
//! [`DEFAULT_RUNS`]; `SAMSCOPE_MUTATION_RUNS` sets it), from a seed of its own (the same
//! inputs on every run and machine). Every input must give `Ok` or an error, never a panic;
//! a panicking input is written to the target's temporary folder and named in the failure.
//! Each decoder must also see both outcomes among its inputs, so mutations that no longer
//! reach it (all refused, or all unchanged) fail the test instead of passing it.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use imaging::{Axis, Limits, Scan, SourceFormat, Volume, Window};
use test_support::scans::{Nifti1, gzip as gz, mha, zlib};
use test_support::{metaimage_fixture, read_testdata as testdata};

/// Mutated inputs per decoder unless `SAMSCOPE_MUTATION_RUNS` says otherwise.
const DEFAULT_RUNS: u64 = 10_000;

fn limits() -> Limits {
    Limits {
        max_bytes: 8 << 20,
        max_pixels: 16 << 20,
        max_alloc: 256 << 20,
    }
}

/// xorshift64*: deterministic mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: [u32; 9] = [
    0,
    1,
    0x7F,
    0xFF,
    0x8000,
    0xFFFF,
    0x7FFF_FFFF,
    0xFFFF_FFF0,
    0xFFFF_FFFF,
];

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        if data.is_empty() {
            break;
        }
        let at = rng.below(data.len());
        match rng.below(6) {
            0 => data[at] ^= 1 << rng.below(8),
            1 => data[at] = rng.next() as u8,
            2 => {
                let v = INTERESTING[rng.below(INTERESTING.len())].to_le_bytes();
                let n = [1, 2, 4][rng.below(3)].min(data.len() - at);
                data[at..at + n].copy_from_slice(&v[..n]);
            }
            3 => data.truncate(at),
            4 => {
                let end = (at + 1 + rng.below(64)).min(data.len());
                data.drain(at..end);
            }
            _ => {
                let chunk: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                data.splice(at..at, chunk);
            }
        }
    }
    data
}

fn exercise(volume: &Volume) {
    for axis in Axis::ALL {
        let (w, h) = volume.slice_size(axis);
        if (w * h) as u64 > limits().max_pixels {
            continue;
        }
        let last = volume.slice_count(axis) - 1;
        let _ = volume.render(axis, last, &Window::Default, SourceFormat::Nifti);
        let _ = volume.label_slice(axis, 0);
    }
    let again = Volume::decode(&volume.encode(), &limits()).expect("a volume re-decodes");
    assert!(again.encode() == volume.encode());
}

/// FNV-1a of the target's name: each target mutates from its own seed.
fn seed_of(target: &str) -> u64 {
    target.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Runs `decode` (which says whether the input decoded) on each of `seeds`, then on
/// [`DEFAULT_RUNS`] (or `SAMSCOPE_MUTATION_RUNS`) mutations of them.
fn run(target: &str, seeds: &[Vec<u8>], decode: impl Fn(&[u8]) -> bool) {
    let runs: u64 = std::env::var("SAMSCOPE_MUTATION_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_RUNS);
    assert!(!seeds.is_empty(), "{target}: no seeds");
    for seed in seeds {
        decode(seed); // every seed on its own first
    }
    let mut rng = Rng(seed_of(target));
    let (mut decoded, mut refused) = (0u64, 0u64);
    for _ in 0..runs {
        let input = mutate(&seeds[rng.below(seeds.len())], &mut rng);
        match catch_unwind(AssertUnwindSafe(|| decode(&input))) {
            Ok(true) => decoded += 1,
            Ok(false) => refused += 1,
            Err(_) => {
                let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                    .join(format!("mutation-crash-{target}.bin"));
                std::fs::File::create(&path)
                    .and_then(|mut f| f.write_all(&input))
                    .unwrap();
                panic!("{target}: an input panicked; it is in {}", path.display());
            }
        }
    }
    eprintln!("{target}: {runs} mutated inputs, {decoded} decoded, {refused} refused, no panic");
    if runs >= 100 {
        assert!(
            decoded > 0 && refused > 0,
            "{target}: {decoded} decoded, {refused} refused: the mutations should give both"
        );
    }
}

fn decode_volume(bytes: &[u8]) -> bool {
    match imaging::decode_scan(bytes, &limits()) {
        Ok(Scan::Volume(v)) => {
            exercise(&v);
            true
        }
        Ok(Scan::Image(_)) => true,
        Err(_) => false,
    }
}

/// A NIfTI-1 file with qform and sform codes set (the sform an axis-aligned
/// 1 × 1.5 × 2 mm grid, `i` running to the right).
fn nifti(dims: [i16; 3], datatype: i16, bitpix: i16, data: &[u8]) -> Vec<u8> {
    Nifti1 {
        dims,
        datatype,
        bitpix,
        pixdim: [1.0, 1.0, 1.5, 2.0],
        qform_code: 1,
        sform: Some((
            1,
            [
                [-1.0, 0.0, 0.0, 5.0],
                [0.0, 1.5, 0.0, 6.0],
                [0.0, 0.0, 2.0, 7.0],
            ],
        )),
        ..Default::default()
    }
    .file(data)
}

fn content() -> Vec<u8> {
    (0..512u32).map(|v| (v * 37 % 251) as u8).collect()
}

#[test]
fn dicom_survives_mutations() {
    let seeds: Vec<Vec<u8>> = [
        "CT_small.dcm",
        "MR_small.dcm",
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_RLE.dcm",
        "SC_rgb_rle.dcm",
        "SC_rgb_jpeg_dcmtk.dcm",
        "rtdose.dcm",
    ]
    .iter()
    .map(|n| testdata(n))
    .collect();
    run("dicom", &seeds, decode_volume);
}

#[test]
fn nifti_survives_mutations() {
    let c = content();
    let i16s: Vec<u8> = c
        .iter()
        .flat_map(|&v| (v as i16 * 9 - 700).to_le_bytes())
        .collect();
    let plain = [
        nifti([8, 8, 8], 2, 8, &c),
        nifti([8, 8, 8], 4, 16, &i16s),
        nifti([8, 8, 2], 128, 24, &c[..384]),
    ];
    let seeds: Vec<Vec<u8>> = plain
        .iter()
        .cloned()
        .chain(plain.iter().map(|p| gz(p)))
        .collect();
    run("nifti", &seeds, decode_volume);
}

#[test]
fn nrrd_survives_mutations() {
    let c = content();
    let head = |t: &str, enc: &str| {
        format!(
            "NRRD0004\ntype: {t}\ndimension: 3\nsizes: 8 8 8\nspace: left-posterior-superior\nspace directions: (1,0,0) (0,1,0) (0,0,2)\nkinds: domain domain domain\nendian: little\nencoding: {enc}\n\n"
        )
        .into_bytes()
    };
    let text: String = c.iter().map(|v| format!("{v} ")).collect();
    let seeds = vec![
        [head("uchar", "raw"), c.clone()].concat(),
        [head("uchar", "gzip"), gz(&c)].concat(),
        [head("uchar", "ascii"), text.into_bytes()].concat(),
        [testdata("mni152_crop.nrrd")[..400].to_vec()].concat(),
    ];
    run("nrrd", &seeds, decode_volume);
}

#[test]
fn metaimage_survives_mutations() {
    let c = content();
    let head = |extra: &str| {
        format!(
            "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n{extra}TransformMatrix = 0 1 0 0 0 -1 1 0 0\nOffset = 1 2 3\nElementSpacing = 1 1 2\nDimSize = 8 8 8\nElementType = MET_UCHAR\n"
        )
    };
    let text: String = c.iter().map(|v| format!("{v} ")).collect();
    let fixture = std::fs::read(metaimage_fixture("mni152_crop.mha")).unwrap();
    let seeds = vec![
        mha(&head(""), &c),
        mha(&head("CompressedData = True\n"), &zlib(&c)),
        mha(&head("BinaryData = False\n"), text.as_bytes()),
        mha(&head("HeaderSize = -1\n"), &c),
        fixture,
    ];
    run("metaimage", &seeds, decode_volume);
}

#[test]
fn raster_images_and_label_maps_survive_mutations() {
    let grey = image::GrayImage::from_fn(8, 8, |x, y| image::Luma([(x * 8 + y) as u8 / 16]));
    let mut seeds = Vec::new();
    for format in [
        image::ImageFormat::Png,
        image::ImageFormat::Tiff,
        image::ImageFormat::Pnm,
    ] {
        let mut out = std::io::Cursor::new(Vec::new());
        grey.write_to(&mut out, format).unwrap();
        seeds.push(out.into_inner());
    }
    run("raster", &seeds, |b| {
        imaging::decode_image(b, &limits()).is_ok()
    });
    seeds.push(nifti(
        [8, 8, 8],
        2,
        8,
        &content().iter().map(|v| v / 64).collect::<Vec<_>>(),
    ));
    run("labels", &seeds, |b| {
        let Ok(v) = imaging::decode_labels(b, &limits()) else {
            return false;
        };
        for axis in Axis::ALL {
            v.label_slice(axis, v.slice_count(axis) - 1)
                .expect("a label volume slices");
        }
        true
    });
}

#[test]
fn stored_volumes_survive_mutations() {
    let Scan::Volume(v) =
        imaging::decode_scan(&nifti([8, 8, 8], 2, 8, &content()), &limits()).unwrap()
    else {
        panic!("a volume")
    };
    run("volume_codec", &[v.encode()], |b| {
        let Ok(v) = Volume::decode(b, &limits()) else {
            return false;
        };
        exercise(&v);
        true
    });
}
