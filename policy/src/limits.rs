//! Every bound on a trusted issuer's policy, in one place, and the checks that hold them.
//!
//! The `cel` crate's parser (ANTLR-generated) and its interpreter recurse on the machine stack,
//! and a stack overflow aborts the whole process (every concurrent request with it; it cannot
//! be caught). Debug builds (`make dev`, `make test`) use far more stack per level than release
//! builds, so the bounds are measured there. Measured on this machine, debug build, 2 MiB thread
//! (tokio's worker stack), `cel` 0.15:
//!
//! | shape | overflows at |
//! |---|---|
//! | parentheses, calls, `!(…)` nested | 12 levels |
//! | lists `[[…]]`, maps `{"a": {…}}` nested | 11 levels |
//! | `exists(x, …)` nested | 16 levels |
//! | `a ? b : c ? …` chained | ~208 |
//! | `a.b.c…`, `a[0][0]…`, `1 + 1 + …`, `1 == 1 == …` (parse) | ~1,100–1,300 |
//! | the same chains, evaluated (each call level ~40 KiB) | ~53 |
//!
//! (`&&`/`||` chains and `!!…`/`--…` are loops in the grammar and balanced or folded in the
//! tree: no overflow at 2,048.) So the parser gets a nesting bound of half what it survives, the
//! text is scanned for it before parsing, and the tree it builds gets a depth bound that keeps
//! evaluation on the caller's (tokio worker) thread within 768 KiB of its 2 MiB.
//!
//! The table was measured with the crate's default, ANTLR-generated parser. Trustgate parses
//! with its hand-written Pratt parser instead (feature `parser_pratt`; the crate still marks it
//! hidden): same AST, same errors with positions, far less stack per level, and without the
//! ANTLR runtime, about 1 MB less in each binary (BENCHMARKS.md). The bounds stay as measured
//! for the hungrier parser, and the stack tests in `limits/tests.rs` parse the deepest accepted
//! shapes on a small stack with the parser in use.

use cel::IdedExpr;
use cel::common::ast::{CallExpr, EntryExpr, Expr};

/// Longest expression, in characters: checked first, so no later step sees more. Enough for
/// any condition a person writes and reads; the lower bounds below do the real protecting.
pub const MAX_EXPRESSION_CHARS: usize = 4_096;

/// Deepest nesting of brackets (`(`, `[`, `{`, calls) plus `?:` conditionals, as the scan before
/// parsing counts it and as the parser's own `max_recursion_depth` is set. The parser overflows
/// a 2 MiB stack at 11 levels in a debug build (table above); 5 is half of that, and the test
/// `the_deepest_accepted_expressions_parse_on_a_small_stack` parses the worst accepted shapes
/// on a 1.25 MiB stack.
pub const MAX_NESTING: usize = 5;

/// Longest chain of selections, indexes, calls and binary operators (other than `&&`/`||`)
/// in one operand at one nesting level, as the scan counts it. Such chains are left-recursive
/// in the grammar: each link is a level of the parse tree (~1.7 KiB of stack to parse in
/// debug). 32 links at each of the 6 levels add under 400 KiB.
pub const MAX_CHAIN: usize = 32;

/// Deepest expression tree after parsing and macro expansion (a leaf is depth 1). Evaluation
/// recurses once per level (~40 KiB per call level in a debug build) on the caller's thread,
/// a tokio worker with 2 MiB: the worst 16-deep trees overflow a 512 KiB stack but not a
/// 768 KiB one (test `the_deepest_accepted_expressions_evaluate_on_a_small_stack` runs them on
/// 768 KiB), leaving over 1.25 MiB to the callers. At 20 levels they needed over 768 KiB.
/// Typical policies are 3–10 deep; a concatenation of 15 parts fits.
pub const MAX_TREE_DEPTH: usize = 16;

/// Comprehensions (`all`, `exists`, `exists_one`, `map`, `filter`) inside the loop body of
/// another, at most: a third level multiplies the work once more for no policy anyone needs.
pub const MAX_COMPREHENSION_NESTING: usize = 2;

/// Elements all comprehensions of one evaluation may iterate over together (each loop is
/// charged its whole range when it starts). Two nested loops over 1,000 claims are 10^6
/// steps, ~4 s in a debug build; this budget keeps an evaluation near 50 ms in debug and a
/// few ms in release.
pub const MAX_ITERATIONS: i64 = 10_000;

/// Longest list anywhere in the claims; a longer one refuses the token before evaluation.
pub const MAX_CLAIMS_LIST: usize = 1_000;

/// Deepest claims document, counting objects and lists (the top-level object is depth 1);
/// deeper refuses the token before evaluation. Converting and comparing values recurses per
/// level: the deepest accepted claims evaluate on the same 768 KiB as the deepest expressions
/// (test `the_deepest_accepted_claims_evaluate_on_a_small_stack`). Identity providers nest
/// 2–4 deep.
pub const MAX_CLAIMS_DEPTH: usize = 16;

/// Largest result of one claim mapping, as compact JSON: a mapped claim travels in every
/// access token and refresh, so it stays small.
pub const MAX_MAPPED_CLAIM_BYTES: usize = 4_096;

/// Longest issued `sub`, in bytes.
pub const MAX_SUBJECT_BYTES: usize = 1_024;

/// Most claim mappings per trusted issuer.
pub const MAX_MAPPINGS: usize = 32;

/// Longest claim name (characters).
pub const MAX_CLAIM_NAME_CHARS: usize = 64;

/// Checks the length, then scans the text for nesting and chain length without parsing it.
/// Strings and comments are skipped; an unbalanced bracket is left for the parser to report
/// with its position. The error says where (line:column) the bound was passed.
pub fn check_source(source: &str) -> Result<(), String> {
    let chars = source.chars().count();
    if chars > MAX_EXPRESSION_CHARS {
        return Err(format!(
            "is {chars} characters long; at most {MAX_EXPRESSION_CHARS} are allowed"
        ));
    }
    Scan::new(source).run()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prev {
    /// Start, an operator, an opening bracket or a separator: a `[` here is a list, a `-` or
    /// `!` a unary operator.
    Operator,
    /// An identifier: a `(` here is a call.
    Ident,
    /// A literal or a closing bracket.
    Value,
}

struct Group {
    /// `?` seen in the current element of this group (a `,` ends the element).
    conditionals: usize,
    /// Chain links of the enclosing segment when this group opened.
    outer_chain: usize,
}

struct Scan<'a> {
    text: &'a [u8],
    source: &'a str,
    at: usize,
    groups: Vec<Group>,
    /// `?` at the top level.
    conditionals: usize,
    chain: usize,
    prev: Prev,
}

impl<'a> Scan<'a> {
    fn new(source: &'a str) -> Scan<'a> {
        Scan {
            text: source.as_bytes(),
            source,
            at: 0,
            groups: Vec::new(),
            conditionals: 0,
            chain: 0,
            prev: Prev::Operator,
        }
    }

    fn run(mut self) -> Result<(), String> {
        while let Some(&byte) = self.text.get(self.at) {
            let start = self.at;
            match byte {
                b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' => self.at += 1,
                b'/' if self.peek(1) == Some(b'/') => {
                    while self.text.get(self.at).is_some_and(|b| *b != b'\n') {
                        self.at += 1;
                    }
                }
                b'"' | b'\'' => {
                    self.skip_string();
                    self.prev = Prev::Value;
                }
                b'0'..=b'9' => {
                    self.skip_number();
                    self.prev = Prev::Value;
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                    let word_end = self.word_end();
                    let word = &self.text[self.at..word_end];
                    let quoted = matches!(self.text.get(word_end), Some(b'"' | b'\''));
                    if quoted
                        && matches!(
                            word,
                            b"r" | b"R"
                                | b"b"
                                | b"B"
                                | b"rb"
                                | b"rB"
                                | b"Rb"
                                | b"RB"
                                | b"br"
                                | b"bR"
                                | b"Br"
                                | b"BR"
                        )
                    {
                        self.at = word_end;
                        self.skip_string();
                        self.prev = Prev::Value;
                    } else if word == b"in" {
                        self.at = word_end;
                        self.link(start)?;
                    } else {
                        self.at = word_end;
                        self.prev = Prev::Ident;
                    }
                }
                b'(' | b'[' | b'{' => {
                    // A call or an index is also a link of the chain it continues.
                    let continues = match byte {
                        b'(' => self.prev == Prev::Ident,
                        b'[' => self.prev != Prev::Operator,
                        _ => false,
                    };
                    if continues {
                        self.chain += 1;
                        self.check_chain(start)?;
                    }
                    self.groups.push(Group {
                        conditionals: 0,
                        outer_chain: self.chain,
                    });
                    self.chain = 0;
                    self.at += 1;
                    self.prev = Prev::Operator;
                    self.check_nesting(start)?;
                }
                b')' | b']' | b'}' => {
                    if let Some(group) = self.groups.pop() {
                        self.chain = group.outer_chain;
                    }
                    self.at += 1;
                    self.prev = Prev::Value;
                }
                b',' => {
                    match self.groups.last_mut() {
                        Some(group) => group.conditionals = 0,
                        None => self.conditionals = 0,
                    }
                    self.separator(1);
                }
                b'?' => {
                    match self.groups.last_mut() {
                        Some(group) => group.conditionals += 1,
                        None => self.conditionals += 1,
                    }
                    self.separator(1);
                    self.check_nesting(start)?;
                }
                b':' => self.separator(1),
                b'&' if self.peek(1) == Some(b'&') => self.separator(2),
                b'|' if self.peek(1) == Some(b'|') => self.separator(2),
                b'.' => {
                    self.at += 1;
                    self.link(start)?;
                }
                b'=' | b'!' | b'<' | b'>' => {
                    self.at += if self.peek(1) == Some(b'=') { 2 } else { 1 };
                    self.link(start)?;
                }
                b'+' | b'-' | b'*' | b'/' | b'%' => {
                    self.at += 1;
                    self.link(start)?;
                }
                // Anything else is the parser's to report; step over the whole character.
                _ => {
                    self.at += self.source[self.at..]
                        .chars()
                        .next()
                        .map_or(1, char::len_utf8);
                    self.prev = Prev::Value;
                }
            }
        }
        Ok(())
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.text.get(self.at + ahead).copied()
    }

    fn word_end(&self) -> usize {
        let mut end = self.at;
        while self
            .text
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            end += 1;
        }
        end
    }

    /// `&&`, `||`, `?`, `:` and `,` end an operand: `&&`/`||` are loops in the grammar and a
    /// balanced tree after it, the others separate operands the tree holds side by side.
    fn separator(&mut self, width: usize) {
        self.at += width;
        self.chain = 0;
        self.prev = Prev::Operator;
    }

    fn link(&mut self, start: usize) -> Result<(), String> {
        self.chain += 1;
        self.prev = Prev::Operator;
        self.check_chain(start)
    }

    fn check_chain(&self, start: usize) -> Result<(), String> {
        if self.chain > MAX_CHAIN {
            return Err(format!(
                "chains more than {MAX_CHAIN} selections, indexes, calls or operators in one \
                 operand at {}; split it with parentheses or &&/||",
                self.position(start)
            ));
        }
        Ok(())
    }

    fn check_nesting(&self, start: usize) -> Result<(), String> {
        let nesting = self.groups.len()
            + self.conditionals
            + self.groups.iter().map(|g| g.conditionals).sum::<usize>();
        if nesting > MAX_NESTING {
            return Err(format!(
                "nests more than {MAX_NESTING} levels deep at {} (each bracket, call and ?: \
                 counts one level)",
                self.position(start)
            ));
        }
        Ok(())
    }

    fn skip_string(&mut self) {
        let quote = self.text[self.at];
        let triple = self.peek(1) == Some(quote) && self.peek(2) == Some(quote);
        self.at += if triple { 3 } else { 1 };
        while let Some(&b) = self.text.get(self.at) {
            if b == b'\\' {
                self.at += 2;
            } else if b == quote
                && (!triple || (self.peek(1) == Some(quote) && self.peek(2) == Some(quote)))
            {
                self.at += if triple { 3 } else { 1 };
                return;
            } else if b == b'\n' && !triple {
                return;
            } else {
                self.at += 1;
            }
        }
    }

    /// Digits, a fraction and an exponent, or hex: the `.` of `1.5` is not a selection.
    fn skip_number(&mut self) {
        let hex = matches!(self.peek(1), Some(b'x' | b'X')) && self.text[self.at] == b'0';
        while let Some(&b) = self.text.get(self.at) {
            let exponent_sign =
                !hex && matches!(b, b'+' | b'-') && matches!(self.text[self.at - 1], b'e' | b'E');
            let fraction = b == b'.' && self.peek(1).is_some_and(|d| d.is_ascii_digit());
            if b.is_ascii_alphanumeric() || exponent_sign || fraction {
                self.at += 1;
            } else {
                return;
            }
        }
    }

    /// 1-based line and column (in characters) of byte `offset`.
    fn position(&self, offset: usize) -> String {
        let before = &self.source[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        format!("{line}:{column}")
    }
}

/// What the parsed tree holds that the bounds care about.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TreeShape {
    pub depth: usize,
    /// Comprehensions inside the loop body of another, plus one; 0 without any.
    pub comprehension_nesting: usize,
}

/// Measures the tree. Recursive, but only ever run on a tree the parser built within
/// [`MAX_NESTING`] and [`MAX_CHAIN`], on the compile thread's large stack.
pub fn tree_shape(expr: &IdedExpr) -> TreeShape {
    let shapes: Vec<TreeShape> = children(expr).into_iter().map(tree_shape).collect();
    let depth = 1 + shapes.iter().map(|s| s.depth).max().unwrap_or(0);
    let mut nesting = shapes
        .iter()
        .map(|s| s.comprehension_nesting)
        .max()
        .unwrap_or(0);
    if let Expr::Comprehension(_) = &expr.expr {
        // `children` lists the loop condition and step third and fourth.
        let body = shapes[2]
            .comprehension_nesting
            .max(shapes[3].comprehension_nesting);
        nesting = nesting.max(body + 1);
    }
    TreeShape {
        depth,
        comprehension_nesting: nesting,
    }
}

fn children(expr: &IdedExpr) -> Vec<&IdedExpr> {
    match &expr.expr {
        Expr::Call(call) => call
            .target
            .as_deref()
            .into_iter()
            .chain(&call.args)
            .collect(),
        Expr::Select(select) => vec![&select.operand],
        Expr::List(list) => list.elements.iter().collect(),
        Expr::Map(map) => entries(&map.entries),
        Expr::Struct(s) => entries(&s.entries),
        Expr::Comprehension(c) => vec![
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ],
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => Vec::new(),
    }
}

fn entries(entries: &[cel::common::ast::IdedEntryExpr]) -> Vec<&IdedExpr> {
    entries
        .iter()
        .flat_map(|e| match &e.expr {
            EntryExpr::MapEntry(m) => vec![&m.key, &m.value],
            EntryExpr::StructField(f) => vec![&f.value],
        })
        .collect()
}

/// The function every comprehension's range passes through, to charge its size to the
/// evaluation's [`MAX_ITERATIONS`]. `@` cannot start a CEL identifier, so no expression can
/// name it.
pub const CHARGE_ITERATIONS: &str = "@trustgate.charge_iterations";

/// Wraps the range of every comprehension in a call to [`CHARGE_ITERATIONS`].
pub fn meter_comprehensions(expr: &mut IdedExpr, next_id: &mut u64) {
    if let Expr::Comprehension(c) = &mut expr.expr {
        let range = std::mem::take(&mut c.iter_range);
        *next_id += 1;
        c.iter_range = IdedExpr {
            id: *next_id,
            expr: Expr::Call(CallExpr {
                func_name: CHARGE_ITERATIONS.to_owned(),
                target: None,
                args: vec![range],
            }),
        };
    }
    match &mut expr.expr {
        Expr::Call(call) => {
            if let Some(target) = call.target.as_deref_mut() {
                meter_comprehensions(target, next_id);
            }
            for arg in &mut call.args {
                meter_comprehensions(arg, next_id);
            }
        }
        Expr::Select(select) => meter_comprehensions(&mut select.operand, next_id),
        Expr::List(list) => {
            for e in &mut list.elements {
                meter_comprehensions(e, next_id);
            }
        }
        Expr::Map(cel::common::ast::MapExpr { entries })
        | Expr::Struct(cel::common::ast::StructExpr { entries, .. }) => {
            for e in entries {
                match &mut e.expr {
                    EntryExpr::MapEntry(m) => {
                        meter_comprehensions(&mut m.key, next_id);
                        meter_comprehensions(&mut m.value, next_id);
                    }
                    EntryExpr::StructField(f) => meter_comprehensions(&mut f.value, next_id),
                }
            }
        }
        Expr::Comprehension(c) => {
            for e in [
                &mut c.iter_range,
                &mut c.accu_init,
                &mut c.loop_cond,
                &mut c.loop_step,
                &mut c.result,
            ] {
                meter_comprehensions(e, next_id);
            }
        }
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
    }
}

/// The largest node id in the tree, so added nodes get fresh ones.
pub fn max_id(expr: &IdedExpr) -> u64 {
    children(expr)
        .into_iter()
        .map(max_id)
        .fold(expr.id, u64::max)
}

#[cfg(test)]
mod tests;
