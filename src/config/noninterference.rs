//! A property test of the evaluator's marks: random expressions over sensitive inputs never give
//! an unmarked value that depends on them.
//!
//! Each expression is evaluated twice, with two different secrets (of different lengths) in the
//! sensitive inputs. What is not marked in the two results — the public projection — must be the
//! same, and must never contain either secret. This is noninterference: nothing public depends
//! on a secret, which is stronger than "the secret does not appear" (a length, a comparison, the
//! number of elements of a `for` expression would leak without appearing).

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

use super::expr::{Evaluator, Poisoned, Resolve, Resolved};
use super::model::RefKind;
use super::refs::Functions;
use super::source::Span;
use super::value::{Number, Origin, Value};

const SECRET_A: &str = "CANARYalpha-9911";
const SECRET_B: &str = "zz-0";

/// Variables: `s` (a sensitive string), `p` (a public string), `m` (an object with a sensitive
/// and a public member), `l` (a list with a sensitive element), `k` (a sensitive object: its keys
/// are secret too).
struct Inputs(BTreeMap<String, Value>);

impl Inputs {
    fn with(secret: &str) -> Inputs {
        let origin = Origin::Variable("s".into());
        let s = Value::str(secret).mark(&origin);
        let mut m = BTreeMap::new();
        m.insert("k".to_string(), s.clone());
        m.insert("pub".to_string(), Value::str("x"));
        let k =
            Value::Object(BTreeMap::from([(secret.to_string(), Value::str("v"))])).mark(&origin);
        Inputs(BTreeMap::from([
            ("s".to_string(), s.clone()),
            ("p".to_string(), Value::str("pub-value")),
            ("m".to_string(), Value::Object(m)),
            ("l".to_string(), Value::List(vec![s, Value::str("x")])),
            ("k".to_string(), k),
            ("n".to_string(), Value::Number(Number::Int(3))),
        ]))
    }
}

impl Resolve for Inputs {
    fn resolve(&self, kind: RefKind, name: &str) -> Option<Result<Resolved<'_>, Poisoned>> {
        match kind {
            RefKind::Var => self.0.get(name).map(|v| Ok((v, v.first_mark()))),
            _ => None,
        }
    }
}

/// What of a value is public: marked parts are opaque.
#[derive(Debug, PartialEq)]
enum Public {
    Marked,
    Null,
    Bool(bool),
    Number(String),
    String(String),
    List(Vec<Public>),
    Object(Vec<(String, Public)>),
    Unknown,
}

fn public(v: &Value) -> Public {
    match v {
        Value::Sensitive(_) => Public::Marked,
        Value::Null => Public::Null,
        Value::Bool(b) => Public::Bool(*b),
        Value::Number(n) => Public::Number(n.to_string()),
        Value::String(s) => Public::String(s.clone()),
        Value::List(l) => Public::List(l.iter().map(public).collect()),
        Value::Object(o) => Public::Object(o.iter().map(|(k, v)| (k.clone(), public(v))).collect()),
        Value::Unknown => Public::Unknown,
    }
}

fn evaluate(src: &str, secret: &str) -> Option<Value> {
    let expr = hcl::edit::parser::parse_expr(src).ok()?;
    let inputs = Inputs::with(secret);
    let mut ev = Evaluator::new(0, &inputs, Path::new("."), Functions::Allowed);
    // Failing is allowed (whether it fails may depend on a secret).
    ev.eval(&expr, Span::new(0, 0..0)).ok()
}

/// Random expressions over the inputs.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("var.s".to_string()),
        Just("var.p".to_string()),
        Just("var.m".to_string()),
        Just("var.l".to_string()),
        Just("var.k".to_string()),
        Just("var.n".to_string()),
        Just("var.m.k".to_string()),
        Just("var.m.pub".to_string()),
        Just("var.l[0]".to_string()),
        Just("\"lit\"".to_string()),
        Just("\"CANARY\"".to_string()),
        Just("16".to_string()),
        Just("true".to_string()),
        Just("null".to_string()),
        // Conditions that differ between the two secrets.
        Just("(var.s == \"CANARYalpha-9911\")".to_string()),
        Just("(length(var.s) > 5)".to_string()),
        Just("startswith(var.s, \"CANARY\")".to_string()),
    ];
    leaf.prop_recursive(4, 48, 3, |inner| {
        // Conditions whose truth differs between the two secrets, so that any construct that
        // lets a condition choose without marking the result shows up.
        let condition = prop_oneof![
            Just("(var.s == \"CANARYalpha-9911\")"),
            Just("(length(var.s) > 5)"),
            Just("startswith(var.s, \"CANARY\")"),
            Just("contains(var.l, \"CANARYalpha-9911\")"),
            Just("can(var.k[\"CANARYalpha-9911\"])"),
        ];
        let inner_for_cond = inner.clone();
        let cond = move |f: &'static str| {
            (
                condition.clone(),
                inner_for_cond.clone(),
                inner_for_cond.clone(),
            )
                .prop_map(move |(c, a, b)| f.replace("COND", c).replace("A", &a).replace("B", &b))
        };
        let one = |f: &'static str| inner.clone().prop_map(move |a| f.replace("A", &a));
        let two = |f: &'static str| {
            (inner.clone(), inner.clone())
                .prop_map(move |(a, b)| f.replace("A", &a).replace("B", &b))
        };
        let three = |f: &'static str| {
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(move |(a, b, c)| f.replace("A", &a).replace("B", &b).replace("C", &c))
        };
        prop_oneof![
            one("upper(A)"),
            one("lower(A)"),
            one("length(A)"),
            one("jsonencode(A)"),
            one("base64encode(A)"),
            one("sha256(A)"),
            one("tostring(A)"),
            one("keys(A)"),
            one("values(A)"),
            one("reverse(A)"),
            one("sort(A)"),
            one("distinct(A)"),
            one("flatten([A])"),
            one("substr(A, 0, 6)"),
            one("split(\"-\", A)"),
            one("trimspace(A)"),
            one("[for v in A : v]"),
            one("[for v in A : upper(v) if v != \"x\"]"),
            one("{for k, v in A : k => v}"),
            one("{for v in A : v => 1}"),
            one("\"%{ for v in A }${v},%{ endfor }\""),
            one("can(A.k)"),
            one("try(A.k, \"none\")"),
            one("A == \"CANARYalpha-9911\""),
            one("!(A == A)"),
            one("-length(A)"),
            one("{ k = A }"),
            one("{ (A) = 1 }"),
            one("[A, \"x\"]"),
            one("{ a = 1, b = 2 }[A]"),
            two("\"${A}-${B}\""),
            two("join(\"/\", [A, B])"),
            two("format(\"%s %s\", A, B)"),
            two("merge(A, B)"),
            two("concat(A, B)"),
            two("lookup(A, B, \"d\")"),
            two("lookup(A, \"k\", B)"),
            two("element(A, B)"),
            two("coalesce(A, B)"),
            two("contains(A, B)"),
            two("startswith(A, B)"),
            two("strcontains(A, B)"),
            two("zipmap([A], [B])"),
            two("A == B"),
            two("A != B"),
            two("length(A) > length(B)"),
            two("A && B"),
            two("A || B"),
            two("A + B"),
            two("try(A, B)"),
            two("\"%{ if A == B }same%{ else }other%{ endif }\""),
            two("replace(A, B, \"x\")"),
            three("A ? B : C"),
            three("replace(A, B, C)"),
            three("{ for k, v in A : k => B if C }"),
            cond("COND ? A : B"),
            cond("\"%{ if COND }${A}%{ else }${B}%{ endif }\""),
            cond("[for v in A : v if COND]"),
            cond("COND && A"),
            cond("COND || B"),
            cond("try(COND ? A : var.l.x, B)"),
            cond("{ x = A, y = B }[COND ? \"x\" : \"y\"]"),
            cond("[A, B][COND ? 0 : 1]"),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn nothing_unmarked_depends_on_a_sensitive_input(src in expression()) {
        let (a, b) = (evaluate(&src, SECRET_A), evaluate(&src, SECRET_B));
        // Whether an expression fails may depend on a secret (as in Terraform); what it gives
        // when it succeeds may not.
        if let (Some(a), Some(b)) = (a, b) {
            let (pa, pb) = (public(&a), public(&b));
            let text = format!("{pa:?}");
            prop_assert!(!text.contains("CANARYalpha") && !text.contains("9911"), "{src}: {text}");
            prop_assert_eq!(pa, pb, "{}", src);
        }
    }
}
