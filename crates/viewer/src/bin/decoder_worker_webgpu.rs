//! The decoder worker on WebGPU, falling back to Burn's CPU backend (built by Trunk as a
//! web worker with the `webgpu` feature).

fn main() {
    viewer::worker_main();
}
