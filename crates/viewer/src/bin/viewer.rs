//! The page's entry point (built by Trunk for `wasm32-unknown-unknown`).

#[cfg(target_arch = "wasm32")]
fn main() {
    viewer::ui::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the viewer runs in a browser: build it with `trunk build --release` (see README)");
    std::process::exit(2);
}
