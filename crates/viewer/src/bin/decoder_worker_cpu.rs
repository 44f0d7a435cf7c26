//! The decoder worker on Burn's CPU backend only (built by Trunk as a web worker with the
//! `worker` feature): what a browser without a WebGPU adapter downloads.

#[cfg(target_arch = "wasm32")]
fn main() {
    viewer::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the decoder worker runs in a browser: build it with `trunk build --release`");
    std::process::exit(2);
}
