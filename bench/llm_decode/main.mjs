// Exposes both engines to the Playwright driver (bench/llm_decode.py) as window.bench.
import * as ours from "./ours.mjs";
import * as wllama from "./wllama.mjs";

window.bench = { ours, wllama };
window.benchReady = true;
document.getElementById("status").textContent = `ready (crossOriginIsolated ${self.crossOriginIsolated})`;
