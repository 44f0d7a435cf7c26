//! A stable-Rust stand-in for the cargo-fuzz targets in `fuzz/`: seeded mutations of real
//! and synthetic files through every decoder for a bounded time (default 2 s per decoder;
//! `SAMSCOPE_MUTATION_SECS` sets it). Every input must give `Ok` or an error, never a panic;
//! a panicking input is written to the target's temporary folder and named in the failure.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use imaging::{Axis, Limits, Scan, SourceFormat, Volume, Window};

fn testdata(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("SAMSCOPE_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("SAMSCOPE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/samscope")
                })
                .join("testdata")
        });
    let path = dir.join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/fetch-testdata.sh", path.display()))
}

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

/// Runs `decode` on mutations of `seeds` for the configured time.
fn run(target: &str, seeds: &[Vec<u8>], decode: impl Fn(&[u8])) {
    let secs = std::env::var("SAMSCOPE_MUTATION_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ target.len() as u64);
    let mut runs = 0u64;
    for seed in seeds {
        decode(seed); // every seed on its own first
    }
    while Instant::now() < deadline {
        let input = mutate(&seeds[rng.below(seeds.len())], &mut rng);
        if catch_unwind(AssertUnwindSafe(|| decode(&input))).is_err() {
            let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("mutation-crash-{target}.bin"));
            std::fs::File::create(&path)
                .and_then(|mut f| f.write_all(&input))
                .unwrap();
            panic!("{target}: an input panicked; it is in {}", path.display());
        }
        runs += 1;
    }
    eprintln!("{target}: {runs} mutated inputs in {secs} s, no panic");
}

fn decode_volume(bytes: &[u8]) {
    if let Ok(Scan::Volume(v)) = imaging::decode_scan(bytes, &limits()) {
        exercise(&v);
    }
}

fn nifti(dims: [i16; 3], datatype: i16, bitpix: i16, data: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 352];
    h[..4].copy_from_slice(&348i32.to_le_bytes());
    for (i, d) in [3, dims[0], dims[1], dims[2], 1, 1, 1, 1]
        .into_iter()
        .enumerate()
    {
        h[40 + 2 * i..42 + 2 * i].copy_from_slice(&d.to_le_bytes());
    }
    h[70..72].copy_from_slice(&datatype.to_le_bytes());
    h[72..74].copy_from_slice(&bitpix.to_le_bytes());
    for (i, p) in [1.0f32, 1.0, 1.5, 2.0].into_iter().enumerate() {
        h[76 + 4 * i..80 + 4 * i].copy_from_slice(&p.to_le_bytes());
    }
    h[108..112].copy_from_slice(&352f32.to_le_bytes());
    h[252..256].copy_from_slice(&[1, 0, 1, 0]);
    for (i, v) in [-1f32, 0., 0., 5., 0., 1.5, 0., 6., 0., 0., 2., 7.]
        .into_iter()
        .enumerate()
    {
        h[280 + 4 * i..284 + 4 * i].copy_from_slice(&v.to_le_bytes());
    }
    h[344..348].copy_from_slice(b"n+1\0");
    h.extend_from_slice(data);
    h
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = flate2::write::GzEncoder::new(&mut out, flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap();
    out
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
            "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n{extra}TransformMatrix = 0 1 0 0 0 -1 1 0 0\nOffset = 1 2 3\nElementSpacing = 1 1 2\nDimSize = 8 8 8\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n"
        )
        .into_bytes()
    };
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    zlib.write_all(&c).unwrap();
    let text: String = c.iter().map(|v| format!("{v} ")).collect();
    let fixture = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/metaimage/mni152_crop.mha"),
    )
    .unwrap();
    let seeds = vec![
        [head(""), c.clone()].concat(),
        [head("CompressedData = True\n"), zlib.finish().unwrap()].concat(),
        [head("BinaryData = False\n"), text.into_bytes()].concat(),
        [head("HeaderSize = -1\n"), c.clone()].concat(),
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
        let _ = imaging::decode_image(b, &limits());
    });
    seeds.push(nifti(
        [8, 8, 8],
        2,
        8,
        &content().iter().map(|v| v / 64).collect::<Vec<_>>(),
    ));
    run("labels", &seeds, |b| {
        if let Ok(v) = imaging::decode_labels(b, &limits()) {
            for axis in Axis::ALL {
                v.label_slice(axis, v.slice_count(axis) - 1)
                    .expect("a label volume slices");
            }
        }
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
        if let Ok(v) = Volume::decode(b, &limits()) {
            exercise(&v);
        }
    });
}
