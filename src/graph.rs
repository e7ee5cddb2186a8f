//! The dependency graph between variables, locals, data sources and secrets.
//!
//! A node for every declaration, named by its address (`var.env`, `local.host`,
//! `data.ssm_secret.root`, `secret.db_url`); an edge from a node to each node it depends on,
//! for every reference in its expressions and every `depends_on` entry. The graph gives the
//! evaluation order (dependencies first, otherwise declaration order), the apply waves (see
//! docs/architecture.md#apply), the closure used by `--target`, and the set of secrets to skip when one fails.
//!
//! Cycles are found with Tarjan's algorithm (petgraph) when the graph is built; a [`Graph`]
//! is always acyclic.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

use crate::fasthash::FastMap;
use std::fmt;

/// What a node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Variable,
    Local,
    Data,
    Secret,
}

/// One declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub address: String,
    pub kind: NodeKind,
}

/// An acyclic dependency graph.
#[derive(Clone, Debug)]
pub struct Graph {
    nodes: Vec<Node>,
    /// `deps[n]`: the nodes `n` depends on (sorted, unique).
    deps: Vec<Vec<usize>>,
    /// `rdeps[n]`: the nodes that depend on `n` (sorted, unique).
    rdeps: Vec<Vec<usize>>,
    index: FastMap<String, usize>,
    /// Every node, dependencies before dependents, otherwise in declaration order.
    order: Vec<usize>,
}

/// An address given to [`Graph::dependency_closure`] that names no node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownAddress {
    pub address: String,
    pub suggestion: Option<String>,
}

impl fmt::Display for UnknownAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "there is no `{}` in the configuration", self.address)?;
        if let Some(s) = &self.suggestion {
            write!(f, "; did you mean `{s}`?")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownAddress {}

impl Graph {
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn contains(&self, address: &str) -> bool {
        self.index.contains_key(address)
    }

    pub(crate) fn id(&self, address: &str) -> Option<usize> {
        self.index.get(address).copied()
    }

    pub(crate) fn node(&self, id: usize) -> &Node {
        &self.nodes[id]
    }

    /// Node ids, dependencies first, otherwise in declaration order.
    pub(crate) fn order(&self) -> &[usize] {
        &self.order
    }

    pub(crate) fn deps_of(&self, id: usize) -> &[usize] {
        &self.deps[id]
    }

    pub(crate) fn dependents_of(&self, id: usize) -> &[usize] {
        &self.rdeps[id]
    }

    /// Every address, dependencies before dependents.
    pub fn topological_order(&self) -> Vec<&str> {
        self.order
            .iter()
            .map(|&i| self.nodes[i].address.as_str())
            .collect()
    }

    /// The addresses `address` refers to directly.
    pub fn dependencies(&self, address: &str) -> BTreeSet<String> {
        self.id(address)
            .map(|i| {
                self.deps[i]
                    .iter()
                    .map(|&d| self.nodes[d].address.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Apply waves for the secrets that change.
    ///
    /// A changed secret's wave is one more than the largest wave of any *changed* secret it
    /// depends on — directly, or through locals, variables, data sources or unchanged secrets —
    /// and 1 if it depends on none. Addresses in `changed` that are not secrets of this graph
    /// are ignored. Linear in the size of the graph.
    pub fn waves(&self, changed: &BTreeSet<String>) -> BTreeMap<String, u32> {
        let is_changed: Vec<bool> = self
            .nodes
            .iter()
            .map(|n| n.kind == NodeKind::Secret && changed.contains(&n.address))
            .collect();
        // best[n]: the largest wave among changed secrets reachable from n, n included (0: none).
        let mut best = vec![0u32; self.nodes.len()];
        let mut out = BTreeMap::new();
        for &n in &self.order {
            let below = self.deps[n].iter().map(|&d| best[d]).max().unwrap_or(0);
            if is_changed[n] {
                let wave = below + 1;
                best[n] = wave;
                out.insert(self.nodes[n].address.clone(), wave);
            } else {
                best[n] = below;
            }
        }
        out
    }

    /// The given addresses and everything they depend on, transitively (for `--target`).
    pub fn dependency_closure(&self, addrs: &[String]) -> Result<BTreeSet<String>, UnknownAddress> {
        let mut stack = Vec::new();
        for a in addrs {
            match self.id(a) {
                Some(i) => stack.push(i),
                None => {
                    return Err(UnknownAddress {
                        address: a.clone(),
                        suggestion: crate::suggest::did_you_mean(
                            a,
                            self.nodes.iter().map(|n| n.address.as_str()),
                        ),
                    });
                }
            }
        }
        let seen = self.reach(stack, &self.deps);
        Ok(seen
            .into_iter()
            .map(|i| self.nodes[i].address.clone())
            .collect())
    }

    /// The secrets `address` depends on, transitively through any node (itself excluded).
    pub fn secret_dependencies(&self, address: &str) -> BTreeSet<String> {
        self.secrets_reached(address, &self.deps)
    }

    /// The secrets that depend on `address`, transitively through any node (itself excluded):
    /// the changes to skip when the change to `address` fails.
    pub fn dependent_secrets(&self, address: &str) -> BTreeSet<String> {
        self.secrets_reached(address, &self.rdeps)
    }

    fn secrets_reached(&self, address: &str, edges: &[Vec<usize>]) -> BTreeSet<String> {
        let Some(start) = self.id(address) else {
            return BTreeSet::new();
        };
        self.reach(edges[start].clone(), edges)
            .into_iter()
            .filter(|&i| i != start && self.nodes[i].kind == NodeKind::Secret)
            .map(|i| self.nodes[i].address.clone())
            .collect()
    }

    fn reach(&self, mut stack: Vec<usize>, edges: &[Vec<usize>]) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if seen.insert(n) {
                stack.extend(edges[n].iter().copied().filter(|d| !seen.contains(d)));
            }
        }
        seen
    }

    /// The graph in Graphviz DOT: every node named by its address, secrets grouped in one
    /// cluster per wave (from `waves`; secrets without a wave are drawn outside clusters), and
    /// an edge from each node to what it depends on.
    pub fn to_dot(&self, waves: &BTreeMap<String, u32>) -> String {
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let mut out = String::from(
            "digraph ssmform {\n  rankdir = \"RL\";\n  node [fontname = \"Helvetica\"];\n",
        );
        let mut by_wave: BTreeMap<u32, Vec<&Node>> = BTreeMap::new();
        for &i in &self.order {
            let n = &self.nodes[i];
            match (n.kind, waves.get(&n.address)) {
                (NodeKind::Secret, Some(w)) => by_wave.entry(*w).or_default().push(n),
                _ => {
                    let shape = match n.kind {
                        NodeKind::Variable => "ellipse",
                        NodeKind::Local => "note",
                        NodeKind::Data => "cylinder",
                        NodeKind::Secret => "box",
                    };
                    out.push_str(&format!("  {} [shape = {shape}];\n", q(&n.address)));
                }
            }
        }
        for (wave, nodes) in &by_wave {
            out.push_str(&format!(
                "  subgraph \"cluster_wave_{wave}\" {{\n    label = \"wave {wave}\";\n    style = \"dashed\";\n"
            ));
            for n in nodes {
                out.push_str(&format!(
                    "    {} [shape = box, label = {}];\n",
                    q(&n.address),
                    q(&format!("{}\nwave {wave}", n.address)).replace("\n", "\\n")
                ));
            }
            out.push_str("  }\n");
        }
        for &i in &self.order {
            for &d in &self.deps[i] {
                out.push_str(&format!(
                    "  {} -> {};\n",
                    q(&self.nodes[i].address),
                    q(&self.nodes[d].address)
                ));
            }
        }
        out.push_str("}\n");
        out
    }
}

/// A dependency cycle: each edge with the span of the reference that makes it, in order, the
/// last edge returning to the first edge's source.
#[derive(Clone, Debug)]
pub(crate) struct Cycle<S> {
    pub(crate) edges: Vec<(usize, usize, S)>,
}

/// Collects nodes and edges, then checks for cycles. Each edge carries a site `S` (where in the
/// configuration the reference making it is), handed back with the cycles it is part of.
pub(crate) struct GraphBuilder<S> {
    nodes: Vec<Node>,
    index: FastMap<String, usize>,
    /// (from, to) → the first reference making the edge.
    edges: BTreeMap<(usize, usize), S>,
}

impl<S: Copy + Ord> GraphBuilder<S> {
    pub(crate) fn with_capacity(nodes: usize) -> Self {
        GraphBuilder {
            nodes: Vec::with_capacity(nodes),
            index: FastMap::with_capacity_and_hasher(nodes, Default::default()),
            edges: BTreeMap::new(),
        }
    }

    pub(crate) fn add_node(&mut self, address: String, kind: NodeKind) -> usize {
        let id = self.nodes.len();
        self.index.insert(address.clone(), id);
        self.nodes.push(Node { address, kind });
        id
    }

    #[cfg(test)]
    pub(crate) fn id(&self, address: &str) -> Option<usize> {
        self.index.get(address).copied()
    }

    /// `from` depends on `to`, because of the reference at `span`.
    pub(crate) fn add_edge(&mut self, from: usize, to: usize, span: S) {
        self.edges.entry((from, to)).or_insert(span);
    }

    /// The graph, or every cycle in it (one per strongly connected component).
    pub(crate) fn build(self) -> Result<Graph, Vec<Cycle<S>>> {
        let n = self.nodes.len();
        let mut deps = vec![Vec::new(); n];
        let mut rdeps = vec![Vec::new(); n];
        for &(from, to) in self.edges.keys() {
            deps[from].push(to);
            rdeps[to].push(from);
        }
        for v in deps.iter_mut().chain(rdeps.iter_mut()) {
            v.sort_unstable();
            v.dedup();
        }
        // Kahn's algorithm, always taking the earliest-declared ready node. It orders every node
        // exactly when there is no cycle; only then are cycles looked for (Tarjan), to name them.
        let mut pending: Vec<usize> = deps.iter().map(Vec::len).collect();
        let mut ready: BinaryHeap<std::cmp::Reverse<usize>> = (0..n)
            .filter(|&i| pending[i] == 0)
            .map(std::cmp::Reverse)
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(std::cmp::Reverse(i)) = ready.pop() {
            order.push(i);
            for &r in &rdeps[i] {
                pending[r] -= 1;
                if pending[r] == 0 {
                    ready.push(std::cmp::Reverse(r));
                }
            }
        }
        if order.len() < n {
            let cycles = self.cycles(&deps);
            debug_assert!(!cycles.is_empty(), "Kahn's algorithm stops only at a cycle");
            return Err(cycles);
        }
        Ok(Graph {
            nodes: self.nodes,
            deps,
            rdeps,
            index: self.index,
            order,
        })
    }

    fn cycles(&self, deps: &[Vec<usize>]) -> Vec<Cycle<S>> {
        let mut g =
            petgraph::graph::DiGraph::<(), ()>::with_capacity(self.nodes.len(), self.edges.len());
        for _ in &self.nodes {
            g.add_node(());
        }
        for &(from, to) in self.edges.keys() {
            g.add_edge(
                petgraph::graph::NodeIndex::new(from),
                petgraph::graph::NodeIndex::new(to),
                (),
            );
        }
        let mut cycles = Vec::new();
        for scc in petgraph::algo::tarjan_scc(&g) {
            let members: BTreeSet<usize> = scc.iter().map(|i| i.index()).collect();
            let start = *members.first().expect("components are not empty");
            let self_loop = self.edges.contains_key(&(start, start));
            if members.len() == 1 && !self_loop {
                continue;
            }
            let path = if self_loop {
                vec![start, start]
            } else {
                shortest_cycle(start, &members, deps)
            };
            let edges = path
                .windows(2)
                .map(|w| (w[0], w[1], self.edges[&(w[0], w[1])]))
                .collect();
            cycles.push(Cycle { edges });
        }
        cycles.sort_by_key(|c| c.edges.first().map(|e| e.2));
        cycles
    }
}

/// The shortest path from `start` back to itself within a strongly connected component (breadth
/// first, visiting dependencies in declaration order, so the result is deterministic).
fn shortest_cycle(start: usize, members: &BTreeSet<usize>, deps: &[Vec<usize>]) -> Vec<usize> {
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for &d in &deps[n] {
            if !members.contains(&d) {
                continue;
            }
            if d == start {
                let mut path = vec![start, n];
                let mut cur = n;
                while cur != start {
                    cur = parent[&cur];
                    path.push(cur);
                }
                // [start, n, parent(n), ..., start] → [start, ..., parent(n), n, start]
                path.reverse();
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(d) {
                e.insert(n);
                queue.push_back(d);
            }
        }
    }
    vec![start, start]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span() -> (u32, u32) {
        (0, 1)
    }

    fn build(
        nodes: &[(&str, NodeKind)],
        edges: &[(&str, &str)],
    ) -> Result<Graph, Vec<Cycle<(u32, u32)>>> {
        let mut b = GraphBuilder::with_capacity(nodes.len());
        for (a, k) in nodes {
            b.add_node(a.to_string(), *k);
        }
        for (f, t) in edges {
            let (f, t) = (b.id(f).unwrap(), b.id(t).unwrap());
            b.add_edge(f, t, span());
        }
        b.build()
    }

    use NodeKind::*;

    #[test]
    fn waves_pass_through_unchanged_secrets_and_locals() {
        let g = build(
            &[
                ("secret.a", Secret),
                ("local.l", Local),
                ("secret.b", Secret),
                ("secret.c", Secret),
                ("secret.d", Secret),
            ],
            &[
                ("local.l", "secret.a"),
                ("secret.b", "local.l"),
                ("secret.c", "secret.b"),
                ("secret.d", "secret.a"),
            ],
        )
        .unwrap();
        let changed: BTreeSet<String> = ["secret.a", "secret.c", "secret.d"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let w = g.waves(&changed);
        assert_eq!(w["secret.a"], 1);
        assert_eq!(w["secret.c"], 2, "through unchanged secret.b and local.l");
        assert_eq!(w["secret.d"], 2);
        assert!(!w.contains_key("secret.b"));
    }

    #[test]
    fn cycles_are_reported_in_order() {
        let Err(cycles) = build(
            &[
                ("secret.a", Secret),
                ("secret.b", Secret),
                ("secret.c", Secret),
            ],
            &[
                ("secret.a", "secret.b"),
                ("secret.b", "secret.c"),
                ("secret.c", "secret.a"),
            ],
        ) else {
            panic!("a cycle must be rejected");
        };
        assert_eq!(cycles.len(), 1);
        let path: Vec<(usize, usize)> = cycles[0].edges.iter().map(|e| (e.0, e.1)).collect();
        assert_eq!(path, [(0, 1), (1, 2), (2, 0)]);
    }

    #[test]
    fn closure_dependents_and_unknown_addresses() {
        let g = build(
            &[
                ("var.v", Variable),
                ("secret.a", Secret),
                ("secret.b", Secret),
                ("data.ssm_secret.d", Data),
            ],
            &[
                ("secret.a", "var.v"),
                ("secret.b", "secret.a"),
                ("secret.b", "data.ssm_secret.d"),
            ],
        )
        .unwrap();
        let c = g.dependency_closure(&["secret.b".into()]).unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(
            g.dependent_secrets("secret.a"),
            BTreeSet::from(["secret.b".to_string()])
        );
        assert_eq!(
            g.secret_dependencies("secret.b"),
            BTreeSet::from(["secret.a".to_string()])
        );
        let e = g.dependency_closure(&["secret.bb".into()]).unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("secret.b"));
        assert_eq!(
            g.topological_order(),
            ["var.v", "secret.a", "data.ssm_secret.d", "secret.b"]
        );
    }

    #[test]
    fn dot_names_every_node_and_shows_waves() {
        let g = build(
            &[("secret.a", Secret), ("secret.b", Secret)],
            &[("secret.b", "secret.a")],
        )
        .unwrap();
        let all: BTreeSet<String> = ["secret.a", "secret.b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let dot = g.to_dot(&g.waves(&all));
        assert!(dot.contains("\"secret.b\" -> \"secret.a\";"), "{dot}");
        assert!(dot.contains("cluster_wave_2"), "{dot}");
        assert!(dot.contains("label = \"secret.b\\nwave 2\""), "{dot}");
    }
}
