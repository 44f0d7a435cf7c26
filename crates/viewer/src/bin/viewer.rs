//! The page's entry point (built by Trunk for `wasm32-unknown-unknown`).

fn main() {
    viewer::page_main();
}
