//! Native encode throughput of the core, without any binding in the way:
//! `cargo run --release --example encode_speed -- VOCAB.gtok TEXT_FILE [RUNS]`.
//! The text is encoded whole and in ~4 KB chunks; prints MB/s per run.

use std::time::Instant;

use gea_tokenizer::{EncodeOptions, Tokenizer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: encode_speed VOCAB.gtok TEXT_FILE [RUNS]".into());
    }
    let t = Instant::now();
    let tok = Tokenizer::from_bytes(&std::fs::read(&args[1])?)?;
    println!("load {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let text = std::fs::read_to_string(&args[2])?;
    let runs: usize = args.get(3).map_or(Ok(3), |r| r.parse())?;
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + 4096).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        chunks.push(&text[start..end]);
        start = end;
    }
    let mb = text.len() as f64 / 1e6;
    let opts = EncodeOptions {
        add_bos: true,
        allow_special: false,
    };
    for run in 0..runs {
        let t = Instant::now();
        let n: usize = chunks.iter().map(|c| tok.encode(c, opts).len()).sum();
        let chunked = mb / t.elapsed().as_secs_f64();
        let t = Instant::now();
        let whole = tok.encode(&text, opts).len();
        let whole_mbs = mb / t.elapsed().as_secs_f64();
        println!("run {run}: chunked {chunked:.1} MB/s ({n} ids), whole {whole_mbs:.1} MB/s ({whole} ids)");
    }
    Ok(())
}
