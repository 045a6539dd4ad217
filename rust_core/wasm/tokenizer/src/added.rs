//! Added tokens (`<start_of_turn>`, `<unused12>`, "\n\n", …) are cut out of the raw text before
//! normalisation, as Hugging Face does: leftmost-longest matches, non-overlapping, scanning on
//! after each match. A special token that the caller did not allow is still matched and then
//! left in the text as plain characters — exactly what `encode_special_tokens` does there, so
//! that "<end_of_turn>" typed by a user never becomes the control token.

use crate::scan::{find, ByteSet};

/// One node of a byte trie; children sorted by byte.
#[derive(Debug, Clone, Default)]
struct Node {
    children: Vec<(u8, u32)>,
    token: Option<u32>, // index into `AddedTokens::tokens`
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddedToken {
    pub id: u32,
    pub special: bool,
}

#[derive(Debug, Clone)]
pub struct AddedTokens {
    nodes: Vec<Node>,
    tokens: Vec<AddedToken>,
    first_bytes: ByteSet,
}

/// A piece of input: plain text for the model, or an added token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Token(u32),
}

impl AddedTokens {
    pub fn new<'a>(tokens: impl IntoIterator<Item = (&'a str, AddedToken)>) -> Self {
        let mut nodes = vec![Node::default()];
        let mut list = Vec::new();
        for (content, token) in tokens {
            let mut at = 0usize;
            for &b in content.as_bytes() {
                let next = match nodes[at].children.binary_search_by_key(&b, |c| c.0) {
                    Ok(i) => nodes[at].children[i].1 as usize,
                    Err(i) => {
                        nodes.push(Node::default());
                        let new = nodes.len() - 1;
                        nodes[at].children.insert(i, (b, new as u32));
                        new
                    }
                };
                at = next;
            }
            if at != 0 {
                // A duplicate content keeps the later id, like a map insert would.
                nodes[at].token = Some(list.len() as u32);
                list.push(token);
            }
        }
        let first_bytes = ByteSet::new(nodes[0].children.iter().map(|c| c.0));
        Self {
            nodes,
            tokens: list,
            first_bytes,
        }
    }

    /// The longest added token starting at `at`, as (token, length in bytes).
    fn longest_at(&self, text: &[u8], at: usize) -> Option<(AddedToken, usize)> {
        let mut node = 0usize;
        let mut best = None;
        for (k, &b) in text[at..].iter().enumerate() {
            let children = &self.nodes[node].children;
            match children.binary_search_by_key(&b, |c| c.0) {
                Ok(i) => node = children[i].1 as usize,
                Err(_) => break,
            }
            if let Some(t) = self.nodes[node].token {
                best = Some((self.tokens[t as usize], k + 1));
            }
        }
        best
    }

    /// Splits `text` into plain-text and added-token segments; calls `f` for each in order.
    pub fn split<'a>(&self, text: &'a str, allow_special: bool, mut f: impl FnMut(Segment<'a>)) {
        let bytes = text.as_bytes();
        let mut plain_from = 0; // start of the pending plain text
        let mut at = 0;
        while let Some(i) = find(bytes, at, &self.first_bytes) {
            match self.longest_at(bytes, i) {
                Some((tok, len)) => {
                    if !tok.special || allow_special {
                        if plain_from < i {
                            f(Segment::Text(&text[plain_from..i]));
                        }
                        f(Segment::Token(tok.id));
                        plain_from = i + len;
                    }
                    at = i + len;
                }
                None => at = i + 1,
            }
        }
        if plain_from < text.len() {
            f(Segment::Text(&text[plain_from..]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> AddedTokens {
        let t = |id, special| AddedToken { id, special };
        AddedTokens::new([
            ("<end_of_turn>", t(106, true)),
            ("<end>", t(7, false)),
            ("\n", t(107, false)),
            ("\n\n", t(108, false)),
            ("of", t(9, false)),
        ])
    }

    fn segments(text: &str, allow: bool) -> Vec<Segment<'_>> {
        let mut out = Vec::new();
        tokens().split(text, allow, |s| out.push(s));
        out
    }

    #[test]
    fn leftmost_longest() {
        use Segment::*;
        assert_eq!(
            segments("a<end_of_turn>\n\n\nb", true),
            [Text("a"), Token(106), Token(108), Token(107), Text("b")]
        );
        assert_eq!(segments("<end>x", true), [Token(7), Text("x")]);
        assert_eq!(segments("", true), []);
    }

    #[test]
    fn disallowed_special_stays_text_and_hides_inner_matches() {
        use Segment::*;
        // "of" inside the dropped match is not matched again (Hugging Face behaves the same).
        assert_eq!(
            segments("a<end_of_turn>b", false),
            [Text("a<end_of_turn>b")]
        );
        assert_eq!(
            segments("of<end_of_turn>\n", false),
            [Token(9), Text("<end_of_turn>"), Token(107)]
        );
    }
}
