//! The decoder worker on WebGPU, falling back to Burn's CPU backend (built by Trunk as a
//! web worker with the `webgpu` feature).

#[cfg(target_arch = "wasm32")]
fn main() {
    viewer::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the decoder worker runs in a browser: build it with `trunk build --release`");
    std::process::exit(2);
}
