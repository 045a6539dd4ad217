// BM25 and reciprocal rank fusion, exactly as py_agent.retrieval computes them (same analyzer,
// same arithmetic in the same order, same tie-breaking), so the edge returns the native
// ranking. The Unicode tables the analyzer needs (Python's `\w`, `str.isdigit`, `str.casefold`)
// are generated from Python at build time (build_tools/edge_build.py), and the BM25 idf of every
// term is Python's own `Bm25Index.idf`, so no float is recomputed differently here.

/** The analyzer of py_agent.retrieval.bm25.analyze, from the build's Unicode tables. */
export function makeAnalyzer(tables) {
  const cls = (ranges) =>
    ranges
      .map(([lo, hi]) => (lo === hi ? `\\u{${lo.toString(16)}}` : `\\u{${lo.toString(16)}}-\\u{${hi.toString(16)}}`))
      .join("");
  const word = new RegExp(`[${cls(tables.word)}]+`, "gu");
  const digit = new RegExp(`^[${cls(tables.digits)}]$`, "u");
  const fold = new Map(Object.entries(tables.casefold));
  const casefold = (text) => {
    let out = "";
    for (const ch of text) out += fold.get(ch) ?? ch;
    return out;
  };
  return (text) => {
    const folded = casefold(text.normalize("NFKC"));
    const terms = [];
    for (const [token] of folded.matchAll(word)) {
      // Python counts code points: a 1-character token is one code point.
      const single = token.length === 1 || (token.length === 2 && token.codePointAt(0) > 0xffff);
      if (!single || digit.test(token)) terms.push(token);
    }
    return terms;
  };
}

/** Okapi BM25 over the edge form of bm25.json (postings with Python's idf in front). */
export class Bm25 {
  constructor(doc, analyze) {
    this.k1 = doc.k1;
    this.b = doc.b;
    this.avgLen = doc.avg_len;
    this.docIds = doc.doc_ids;
    this.docLengths = doc.doc_lengths;
    this.terms = new Map(Object.entries(doc.terms));
    this.analyze = analyze;
  }

  get length() {
    return this.docIds.length;
  }

  /** [passage id, score] of the k best passages, best first; ties by row. */
  search(query, k) {
    if (k <= 0 || this.docIds.length === 0) return [];
    const { k1, b, avgLen, docLengths } = this;
    const scores = new Map();
    for (const term of new Set(this.analyze(query))) {
      const postings = this.terms.get(term);
      if (postings === undefined) continue;
      const idf = postings[0];
      for (let i = 1; i < postings.length; i += 2) {
        const row = postings[i];
        const tf = postings[i + 1];
        const norm = k1 * (1.0 - b + (b * docLengths[row]) / avgLen);
        scores.set(row, (scores.get(row) ?? 0.0) + (idf * tf * (k1 + 1.0)) / (tf + norm));
      }
    }
    const best = [...scores].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, k);
    return best.map(([row, score]) => [this.docIds[row], score]);
  }
}

/**
 * py_agent.retrieval.fusion.reciprocal_rank_fusion: Σ 1/(k + rank); equal scores keep the
 * order in which items were first seen.
 * @param {number[][]} rankings each best first
 * @returns {[number, number][]} [item, fused score] best first
 */
export function reciprocalRankFusion(rankings, k = 60, limit = undefined) {
  const scores = new Map();
  for (const ranking of rankings) {
    const seen = new Set();
    ranking.forEach((item, index) => {
      if (seen.has(item)) return;
      seen.add(item);
      scores.set(item, (scores.get(item) ?? 0.0) + 1.0 / (k + index + 1));
    });
  }
  const fused = [...scores].sort((x, y) => y[1] - x[1]); // stable: first seen first on ties
  return limit === undefined ? fused : fused.slice(0, limit);
}

/**
 * py_agent.retrieval.search.DocsSearch.search: BM25 (and dense, when given) `candidates` each,
 * fused with RRF, the top k with the rank each retriever gave them.
 */
export function hybridSearch({ passages, bm25, query, k, dense, candidates = 20 }) {
  const rankings = { bm25: bm25.search(query, candidates).map(([row]) => row) };
  if (dense !== undefined) rankings.dense = dense(candidates);
  return reciprocalRankFusion(Object.values(rankings), 60, k).map(([row, score]) => {
    const ranks = {};
    for (const [name, ranking] of Object.entries(rankings)) {
      const at = ranking.indexOf(row);
      if (at >= 0) ranks[name] = at + 1;
    }
    return { ...passages[row], score, ranks };
  });
}
