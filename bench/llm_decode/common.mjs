// Shared by both engines: the correctness check and fetching.

// "Water boils at a temperature of" with BOS (Gemma 3 tokenizer ids), and " 100" as it splits.
export const CHECK_PROMPT_TEXT = "Water boils at a temperature of";
export const CHECK_PROMPT_IDS = [2, 17390, 104264, 657, 496, 4022, 529];
export const EXPECTED_START_IDS = [236743, 236770, 236771, 236771];

export async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
