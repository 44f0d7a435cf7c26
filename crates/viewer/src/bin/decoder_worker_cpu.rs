//! The decoder worker on Burn's CPU backend only (built by Trunk as a web worker with the
//! `worker` feature): what a browser without a WebGPU adapter downloads.

fn main() {
    viewer::worker_main();
}
