// Starts the decoder worker (Trunk builds decoder-worker.js / decoder-worker_bg.wasm).
//
// CubeCL's WGSL kernels read the subgroup size, which a browser only allows on a device
// created with the "subgroups" feature; wgpu's WebGPU backend does not know that feature,
// so every adapter's requestDevice adds it when the adapter has it.
(function requestSubgroupsOnDevices() {
  const proto = self.GPUAdapter && self.GPUAdapter.prototype;
  if (!proto || proto.__samscopeSubgroups) return;
  const original = proto.requestDevice;
  proto.requestDevice = function (descriptor) {
    const d = Object.assign({}, descriptor || {});
    const wanted = Array.from(d.requiredFeatures || []);
    if (this.features.has("subgroups") && !wanted.includes("subgroups")) wanted.push("subgroups");
    d.requiredFeatures = wanted;
    return original.call(this, d);
  };
  proto.__samscopeSubgroups = true;
})();
// Messages that arrive while the wasm module loads are kept and handed to the handler the
// module installs.
const early = [];
self.onmessage = (event) => early.push(event);
importScripts("./decoder-worker.js");
wasm_bindgen({ module_or_path: "./decoder-worker_bg.wasm" }).then(() => {
  for (const event of early.splice(0)) self.onmessage(event);
});
