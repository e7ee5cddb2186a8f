//! Loading: read the directory's configuration files, parse them keeping spans, check the
//! schema, give variables their values, resolve references, build the graph (rejecting cycles),
//! apply the sensitivity rule and evaluate the provider block. Every problem is collected;
//! syntax errors stop loading after all files have been parsed (later checks would only repeat
//! them as "undeclared" references).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl::edit::structure::Body;
use sha2::Digest as _;

use super::diagnostics::{Diagnostic, Diagnostics, Severity};
use super::expr::{Poisoned, Resolve, Resolved};
use super::files::{self, Confined, FileError};
use super::model::{Attr, NodeDecl, RefKind, Reference, VarValue};
use super::provider::{self, Provider};
use super::schema::{self, Decls};
use super::source::{At, Diag, FileId, FileKind, SourceFile, Sources, Span};
use super::value::{Origin, Value};
use super::variables::{self, Inputs};
use super::{Config, LoadOptions, Mode};
use crate::fasthash::FastMap;
use crate::graph::{GraphBuilder, NodeKind};
use crate::secret::ContentKind;
use crate::suggest;

/// Parses a source file's text, turning a syntax error into a diagnostic at its position.
pub(crate) fn parse(sources: &Sources, file: FileId) -> Result<Body, Diag> {
    parse_text(&sources.file(file).text, file)
}

fn parse_text(text: &str, file: FileId) -> Result<Body, Diag> {
    // hcl-edit can panic on inputs it cannot attribute spans to (none known; the property tests
    // look for them). A panic must never reach the user, so it becomes a syntax error at the
    // start of the file — and its message, which quotes the whole file (secrets included), is
    // not printed.
    let parsed = quietly(|| hcl::edit::parser::parse_body(text));
    match parsed {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(e)) => {
            let offset = e.location().offset();
            Err(Diag::at(
                Severity::Error,
                At::SyntaxError(file, offset),
                format!("syntax error: {}", e.message()),
            ))
        }
        Err(_) => Err(Diag::at(
            Severity::Error,
            At::SyntaxError(file, 0),
            "syntax error: the file could not be parsed",
        )),
    }
}

thread_local! {
    /// Set while this thread runs the HCL parser.
    static PARSING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err(())` without printing its message.
fn quietly<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Result<T, ()> {
    quiet_parser_panics();
    PARSING.with(|p| p.set(true));
    let result = std::panic::catch_unwind(f);
    PARSING.with(|p| p.set(false));
    result.map_err(|_| ())
}

/// Installs (once) a panic hook that stays silent for panics inside the HCL parser and hands
/// every other panic to the hook that was there before.
fn quiet_parser_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !PARSING.with(|p| p.get()) {
                previous(info);
            }
        }));
    });
}

/// Whether a directory entry is a configuration file: `*.hcl`, not `*.vars.hcl`, not hidden or
/// an editor's backup (`.#x.hcl`, `#x.hcl#`, `x.hcl~`).
pub(crate) fn is_config_file_name(name: &str) -> bool {
    name.ends_with(".hcl") && !name.ends_with(".vars.hcl") && !is_hidden(name)
}

pub(crate) fn is_auto_vars_file_name(name: &str) -> bool {
    name.ends_with(".auto.vars.hcl") && !is_hidden(name)
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('#')
}

/// The `*.hcl` entries of a directory (not recursive), sorted by name. Entries are listed whatever
/// they are (a link, a FIFO, a directory): reading them through [`Confined`] decides, and refuses
/// what is not a regular file inside the directory with an error naming it.
pub(crate) fn list_hcl_files(dir: &Path) -> Result<Vec<String>, Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostic::without_location(
            Severity::Error,
            dir.display().to_string(),
            format!(
                "cannot read the configuration directory {}: {e}",
                dir.display()
            ),
        )
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| {
            Diagnostic::without_location(
                Severity::Error,
                dir.display().to_string(),
                format!("cannot list {}: {e}", dir.display()),
            )
        })?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !name.ends_with(".hcl") || is_hidden(&name) {
            continue;
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}

/// How a file in the configuration directory is shown: `main.hcl` when the directory is `.`,
/// `dir/main.hcl` otherwise.
pub(crate) fn display_path(dir: &Path, name: &str) -> PathBuf {
    if dir == Path::new(".") || dir.as_os_str().is_empty() {
        PathBuf::from(name)
    } else {
        dir.join(name)
    }
}

/// Reads the configuration directory's entry `name` as UTF-8 through `files` (confined to the
/// directory: a link out of it is refused unread), with an error naming it.
pub(crate) fn read_text(
    files: &Confined,
    name: &str,
    display: &Path,
) -> Result<String, Diagnostic> {
    let bytes = files
        .read_entry(name, files::MAX_CONFIG_FILE_BYTES)
        .map_err(|e| file_error(&e, display))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..valid]);
        let line = text.matches('\n').count() + 1;
        let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let mut d = Diagnostic::without_location(
            Severity::Error,
            display.display().to_string(),
            format!("{} is not valid UTF-8 text (invalid byte at offset {valid})", display.display()),
        );
        d.location = Some(super::Location {
            file: display.to_path_buf(),
            line,
            column,
        });
        d.origin = None;
        d.with_help("configuration files are UTF-8 text; binary content belongs in a separate file read with filebase64()")
    })
}

/// A file that could not be read, as a diagnostic naming it.
pub(crate) fn file_error(e: &FileError, display: &Path) -> Diagnostic {
    let shown = display.display().to_string();
    let d = Diagnostic::without_location(Severity::Error, shown.clone(), e.describe(&shown));
    match e.help() {
        Some(help) => d.with_help(help),
        None => d,
    }
}

/// Loads the configuration in `opts.dir`, one phase after another (see the module doc). Every
/// phase records its problems and loading goes on, so one run reports them all. Only a file that
/// cannot be read or parsed stops it early (later phases would only repeat a syntax error as
/// undeclared names), and so does a dependency cycle (the phases after it need the graph's order).
pub(crate) fn load(opts: &LoadOptions) -> Result<Config, Diagnostics> {
    let dir = opts.dir;
    let names = list_hcl_files(dir).map_err(Diagnostics::from)?;
    let config_names = config_file_names(dir, &names)?;
    let mut files = Confined::with_allowed(dir, &opts.vars.allow_read).map_err(|message| {
        Diagnostics::from(Diagnostic::without_location(
            Severity::Error,
            "--allow-read",
            message,
        ))
    })?;

    let timer = std::time::Instant::now();
    let phase = |name: &str| {
        tracing::debug!(
            phase = name,
            elapsed_ms = timer.elapsed().as_secs_f64() * 1e3,
            "config load"
        )
    };
    let Parsed {
        mut sources,
        mut decls,
        mut diags,
        digest,
    } = parse_and_check_schema(&files, &config_names)?;
    phase("parsed and schema checked");

    require_provider_block(&decls, &mut diags);
    assign_variables(opts, &files, &names, &mut decls, &mut sources, &mut diags);
    phase("variables assigned");

    let (mut builder, nodes) = declare_nodes(&decls);
    add_edges(&mut builder, &nodes, &decls, &mut diags);
    phase("references checked");

    let graph = build_graph(builder, &nodes, &decls, &mut diags);
    // Literals of locals that flow into a secret's content are as secret as the content.
    redact_locals_in_content(&decls, &mut sources);
    let Some(graph) = graph else {
        return Err(finish(sources, Diagnostics::new(), diags));
    };
    phase("graph built");

    sensitivity_rule(&graph, &nodes.decls, &decls, &mut diags);
    // Unset variables: unknown under validate, an error under plan.
    if opts.mode == Mode::Plan {
        require_variable_values(&decls, &mut diags);
    }
    let provider = evaluate_provider(&decls, &sources, dir, &mut diags);
    if let Some(store) = &provider.local_store {
        files.deny_store(store);
    }
    phase("checked");

    if diags.iter().any(Diag::is_error) {
        return Err(finish(sources, Diagnostics::new(), diags));
    }
    sources.finish_redactions();
    let warnings: Vec<Diagnostic> = diags.into_iter().map(|d| sources.materialize(d)).collect();
    let mut warnings = Diagnostics(warnings);
    warnings.sort();
    Ok(Config {
        dir: dir.to_path_buf(),
        sources,
        provider,
        graph,
        nodes: nodes.decls,
        ids: nodes.ids,
        decls,
        digest,
        mode: opts.mode,
        warnings,
        files,
        sops: Default::default(),
    })
}

/// The configuration files among the directory's `*.hcl` files; having none is an error.
fn config_file_names<'a>(dir: &Path, names: &'a [String]) -> Result<Vec<&'a String>, Diagnostics> {
    let config_names: Vec<&String> = names.iter().filter(|n| is_config_file_name(n)).collect();
    if config_names.is_empty() {
        return Err(Diagnostic::without_location(
            Severity::Error,
            dir.display().to_string(),
            format!("no configuration files in {}", dir.display()),
        )
        .with_help("configuration files are the *.hcl files of the directory (except *.vars.hcl); it is not searched recursively")
        .into());
    }
    Ok(config_names)
}

/// The configuration files, read, parsed and checked against the schema.
struct Parsed {
    sources: Sources,
    decls: Decls,
    /// Schema problems.
    diags: Vec<Diag>,
    /// [`Config::digest`].
    digest: [u8; 32],
}

/// Parse and schema: reads, parses and checks every configuration file (see [`read_and_check`]),
/// merges their declarations and computes the digest. A file that cannot be read or parsed ends
/// loading here.
fn parse_and_check_schema(
    files: &Confined,
    config_names: &[&String],
) -> Result<Parsed, Diagnostics> {
    let mut sources = Sources::default();
    let mut outside = Diagnostics::new();
    let mut syntax: Vec<Diag> = Vec::new();
    let mut diags: Vec<Diag> = Vec::new();
    let mut decls = Decls::default();
    let mut digest = sha2::Sha256::new();
    for (i, r) in read_and_check(files, config_names).into_iter().enumerate() {
        let name = config_names[i];
        match r.read_error {
            Some(d) => outside.push(d),
            None => {
                digest.update((name.len() as u64).to_be_bytes());
                digest.update(name.as_bytes());
                digest.update((r.source.text.len() as u64).to_be_bytes());
                digest.update(r.source.text.as_bytes());
            }
        }
        sources.add(r.source);
        match r.parse_error {
            Some(d) => syntax.push(d),
            None => {
                diags.extend(r.diags);
                decls.merge(r.decls, &mut diags);
            }
        }
    }
    if !outside.is_empty() || !syntax.is_empty() {
        // Later checks would only repeat syntax errors as undeclared names.
        return Err(finish(sources, outside, syntax));
    }
    Ok(Parsed {
        sources,
        decls,
        diags,
        digest: digest.finalize().into(),
    })
}

/// A configuration needs a `provider "tencentcloud"` block.
fn require_provider_block(decls: &Decls, diags: &mut Vec<Diag>) {
    if !decls.any_provider_block {
        diags.push(
            Diag::at(
                Severity::Error,
                At::File(0),
                "the configuration has no provider \"tencentcloud\" block",
            )
            .help("add: provider \"tencentcloud\" { region = \"ap-guangzhou\" }"),
        );
    }
}

/// Variables: gives them their values, defaults first, then every other source in precedence
/// order (see [`variables`]).
fn assign_variables(
    opts: &LoadOptions,
    files: &Confined,
    names: &[String],
    decls: &mut Decls,
    sources: &mut Sources,
    diags: &mut Vec<Diag>,
) {
    let dir = opts.dir;
    for var in &mut decls.variables {
        let Some(default) = &var.default else {
            continue;
        };
        match variables::literal_value(&default.expr, default.span.file, default.span, dir) {
            Ok(v) => match var.ty.convert(v) {
                Ok(value) => {
                    var.value = VarValue::Known {
                        value,
                        origin: "its default".to_string(),
                    }
                }
                Err(msg) => diags.push(Diag::error(
                    default.span,
                    format!(
                        "the default of variable `{}` does not match its type {}: {msg}",
                        var.name,
                        var.ty.display()
                    ),
                )),
            },
            Err(d) => diags.push(d),
        }
    }
    let auto_files: Vec<PathBuf> = names
        .iter()
        .filter(|n| is_auto_vars_file_name(n))
        .map(|n| display_path(dir, n))
        .collect();
    let inputs = Inputs {
        env: &opts.env,
        files,
        auto_files,
        var_files: &opts.vars.var_files,
        vars: &opts.vars.vars,
    };
    variables::assign(&mut decls.variables, &inputs, dir, sources, diags);
    // A sensitive variable's value is marked, wherever it came from, so that everything derived
    // from it is marked too.
    for var in &mut decls.variables {
        if let (true, VarValue::Known { value, .. }) = (var.sensitive, &mut var.value) {
            let v = std::mem::replace(value, Value::Null);
            *value = v.mark(&Origin::Variable(var.name.clone()));
        }
    }
}

/// The dependency graph's nodes, in declaration order.
struct Nodes {
    /// The declaration behind each node, by node id.
    decls: Vec<NodeDecl>,
    /// Node ids by name, per [`RefKind`].
    ids: [FastMap<String, usize>; 5],
}

/// Nodes: one graph node per variable, local, data source and secret, in declaration
/// order.
fn declare_nodes(decls: &Decls) -> (GraphBuilder<Span>, Nodes) {
    let mut nodes: Vec<(Span, NodeDecl, String, NodeKind)> = Vec::new();
    for (i, v) in decls.variables.iter().enumerate() {
        nodes.push((
            v.header,
            NodeDecl::Variable(i),
            format!("var.{}", v.name),
            NodeKind::Variable,
        ));
    }
    for (i, l) in decls.locals.iter().enumerate() {
        nodes.push((
            l.attr.name_span,
            NodeDecl::Local(i),
            format!("local.{}", l.name),
            NodeKind::Local,
        ));
    }
    for (i, d) in decls.data.iter().enumerate() {
        nodes.push((
            d.header,
            NodeDecl::Data(i),
            format!("data.ssm_secret.{}", d.label),
            NodeKind::Data,
        ));
    }
    for (i, d) in decls.sops_files.iter().enumerate() {
        nodes.push((
            d.header,
            NodeDecl::Sops(i),
            format!("data.sops_file.{}", d.label),
            NodeKind::Data,
        ));
    }
    for (i, s) in decls.secrets.iter().enumerate() {
        nodes.push((
            s.header,
            NodeDecl::Secret(i),
            format!("secret.{}", s.label),
            NodeKind::Secret,
        ));
    }
    nodes.sort_by_key(|n| n.0);
    let mut builder = GraphBuilder::with_capacity(nodes.len());
    let mut node_decls = Vec::with_capacity(nodes.len());
    for (_, decl, address, kind) in nodes {
        builder.add_node(address, kind);
        node_decls.push(decl);
    }

    // Node ids by name, per kind.
    let mut ids: [FastMap<String, usize>; 5] = [
        decls.variables.len(),
        decls.locals.len(),
        decls.data.len(),
        decls.secrets.len(),
        decls.sops_files.len(),
    ]
    .map(|n| FastMap::with_capacity_and_hasher(n, Default::default()));
    for (id, n) in node_decls.iter().enumerate() {
        let (kind, name) = match *n {
            NodeDecl::Variable(i) => (RefKind::Var, &decls.variables[i].name),
            NodeDecl::Local(i) => (RefKind::Local, &decls.locals[i].name),
            NodeDecl::Data(i) => (RefKind::Data, &decls.data[i].label),
            NodeDecl::Secret(i) => (RefKind::Secret, &decls.secrets[i].label),
            NodeDecl::Sops(i) => (RefKind::Sops, &decls.sops_files[i].label),
        };
        ids[kind as usize].insert(name.clone(), id);
    }
    (
        builder,
        Nodes {
            decls: node_decls,
            ids,
        },
    )
}

/// References: every reference checked (the provider block's too), each one between
/// nodes becoming an edge.
fn add_edges(
    builder: &mut GraphBuilder<Span>,
    nodes: &Nodes,
    decls: &Decls,
    diags: &mut Vec<Diag>,
) {
    for (id, decl) in nodes.decls.iter().enumerate() {
        for r in node_refs(decls, *decl) {
            if let Some(to) = check_reference(r, decls, &nodes.ids, &nodes.decls, diags) {
                builder.add_edge(id, to, r.span);
            }
        }
    }
    for a in &decls.provider.attrs {
        for r in &a.refs {
            check_reference(r, decls, &nodes.ids, &nodes.decls, diags);
        }
    }
}

/// Graph: builds it, or reports every cycle.
fn build_graph(
    builder: GraphBuilder<Span>,
    nodes: &Nodes,
    decls: &Decls,
    diags: &mut Vec<Diag>,
) -> Option<crate::graph::Graph> {
    match builder.build() {
        Ok(g) => Some(g),
        Err(cycles) => {
            for c in cycles {
                diags.push(cycle_diag(&c, &nodes.decls, decls));
            }
            None
        }
    }
}

/// Under [`Mode::Plan`], every variable needs a value.
fn require_variable_values(decls: &Decls, diags: &mut Vec<Diag>) {
    for v in &decls.variables {
        if matches!(v.value, VarValue::Unset) {
            diags.push(
                Diag::error(v.header, format!("variable `{}` has no value", v.name))
                    .help(format!(
                        "set it with --var {0}=VALUE, the environment variable {1}{0}, a *.auto.vars.hcl file, a --var-file, or a default",
                        v.name,
                        variables::ENV_PREFIX
                    )),
            );
        }
    }
}

/// Provider: evaluates the provider block (its attributes may refer only to
/// variables).
fn evaluate_provider(
    decls: &Decls,
    sources: &Sources,
    dir: &Path,
    diags: &mut Vec<Diag>,
) -> Provider {
    let provider_location = decls
        .provider
        .header
        .map(|h| sources.location(h))
        .unwrap_or_else(|| sources.file(0).location(0));
    let var_resolver = VarResolver(decls);
    provider::evaluate(
        &decls.provider,
        provider_location,
        dir,
        &var_resolver,
        diags,
    )
}

fn finish(mut sources: Sources, mut outside: Diagnostics, diags: Vec<Diag>) -> Diagnostics {
    sources.finish_redactions();
    for d in diags {
        outside.push(sources.materialize(d));
    }
    outside.sort();
    outside
}

/// One configuration file, read, parsed and checked against the schema.
struct FileResult {
    /// The file (empty if it could not be read, to keep file ids in step with names).
    source: SourceFile,
    read_error: Option<Diagnostic>,
    parse_error: Option<Diag>,
    decls: Decls,
    diags: Vec<Diag>,
}

fn read_and_check_one(files: &Confined, name: &str, file: FileId) -> FileResult {
    let display = display_path(files.dir(), name);
    let text = match read_text(files, name, &display) {
        Ok(t) => t,
        Err(d) => {
            return FileResult {
                source: SourceFile::new(display, String::new(), FileKind::Config),
                read_error: Some(d),
                parse_error: None,
                decls: Decls::default(),
                diags: Vec::new(),
            };
        }
    };
    let mut source = SourceFile::new(display, without_bom(text), FileKind::Config);
    let mut decls = Decls::default();
    let mut diags = Vec::new();
    let parse_error = match parse_text(&source.text, file) {
        Ok(mut body) => {
            finish_heredocs(&mut body, &source.text);
            schema::check_file(body, file, &mut source, &mut decls, &mut diags);
            None
        }
        Err(d) => Some(d),
    };
    FileResult {
        source,
        read_error: None,
        parse_error,
        decls,
        diags,
    }
}

/// `text` without a leading UTF-8 byte-order mark (which some Windows editors write): it is not
/// part of the HCL, and lines and columns are counted after it, as editors show them.
pub(crate) fn without_bom(mut text: String) -> String {
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    text
}

/// What hcl-edit leaves undone in heredocs: the dedenting of `<<-` text inside directives, and
/// CRLF line breaks (a file saved on Windows), which become `\n` as in Terraform.
pub(crate) fn finish_heredocs(body: &mut Body, text: &str) {
    use hcl::edit::visit_mut::VisitMut as _;
    if text.contains("<<-") {
        NestedHeredocDedent.visit_body_mut(body);
    }
    if text.contains("\r\n") {
        HeredocLineBreaks.visit_body_mut(body);
    }
}

/// Turns the CRLF line breaks in heredoc text into LF.
struct HeredocLineBreaks;

impl hcl::edit::visit_mut::VisitMut for HeredocLineBreaks {
    fn visit_heredoc_template_mut(&mut self, node: &mut hcl::edit::template::HeredocTemplate) {
        crlf_to_lf(&mut node.template);
        hcl::edit::visit_mut::visit_heredoc_template_mut(self, node);
    }
}

fn crlf_to_lf(t: &mut hcl::edit::template::Template) {
    use hcl::edit::template::{Directive, Element};
    for el in t.iter_mut() {
        match el {
            Element::Literal(l) => {
                let text: &mut String = l.as_mut();
                if text.contains("\r\n") {
                    *text = text.replace("\r\n", "\n");
                }
            }
            Element::Directive(d) => match d.as_mut() {
                Directive::If(d) => {
                    crlf_to_lf(&mut d.if_expr.template);
                    if let Some(e) = &mut d.else_expr {
                        crlf_to_lf(&mut e.template);
                    }
                }
                Directive::For(d) => crlf_to_lf(&mut d.for_expr.template),
            },
            Element::Interpolation(_) => {}
        }
    }
}

/// Finishes the dedenting of `<<-` heredocs.
///
/// hcl-edit strips the common indentation from a heredoc's top-level text only; the text inside
/// `%{if}`/`%{for}` directives keeps it, so `owner=${o}` in a `%{for}` loop would come out
/// indented. This removes the same indentation (whitespace only, at most as much as was
/// stripped) from every line of text inside directives, as Terraform does.
struct NestedHeredocDedent;

impl hcl::edit::visit_mut::VisitMut for NestedHeredocDedent {
    fn visit_heredoc_template_mut(&mut self, node: &mut hcl::edit::template::HeredocTemplate) {
        if let Some(n) = node.indent() {
            for el in node.template.iter_mut() {
                if let hcl::edit::template::Element::Directive(d) = el {
                    dedent_directive(d, n);
                }
            }
        }
        hcl::edit::visit_mut::visit_heredoc_template_mut(self, node);
    }
}

fn dedent_directive(d: &mut hcl::edit::template::Directive, n: usize) {
    use hcl::edit::template::Directive;
    match d {
        Directive::If(d) => {
            dedent_nested(&mut d.if_expr.template, n);
            if let Some(e) = &mut d.else_expr {
                dedent_nested(&mut e.template, n);
            }
        }
        Directive::For(d) => dedent_nested(&mut d.for_expr.template, n),
    }
}

fn dedent_nested(t: &mut hcl::edit::template::Template, n: usize) {
    use hcl::edit::template::Element;
    for el in t.iter_mut() {
        match el {
            Element::Literal(l) => {
                // A literal inside a directive starts after the directive (mid-line): only the
                // lines after its first line break are indented text.
                let text: &mut String = l.as_mut();
                if text.contains('\n') {
                    let mut out = String::with_capacity(text.len());
                    for (i, line) in text.split('\n').enumerate() {
                        if i > 0 {
                            out.push('\n');
                            let strip = line
                                .char_indices()
                                .take(n)
                                .take_while(|(_, c)| *c == ' ' || *c == '\t')
                                .count();
                            out.push_str(&line[strip..]);
                        } else {
                            out.push_str(line);
                        }
                    }
                    *text = out;
                }
            }
            Element::Directive(d) => dedent_directive(d, n),
            Element::Interpolation(_) => {}
        }
    }
}

/// Reads, parses and checks the files on up to one thread per core. Each syntax tree becomes
/// declarations (keeping only attribute expressions) as soon as it is parsed, so at most one
/// whole tree per thread is in memory. Results come back in file order.
fn read_and_check(files: &Confined, names: &[&String]) -> Vec<FileResult> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(names.len());
    if threads <= 1 {
        return names
            .iter()
            .enumerate()
            .map(|(i, n)| read_and_check_one(files, n, i as FileId))
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, FileResult)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(name) = names.get(i) else { break };
                        done.push((i, read_and_check_one(files, name, i as FileId)));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a configuration worker panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Resolves `var.X` only (the provider block).
struct VarResolver<'a>(&'a Decls);

impl Resolve for VarResolver<'_> {
    fn resolve(&self, kind: RefKind, name: &str) -> Option<Result<Resolved<'_>, Poisoned>> {
        if kind != RefKind::Var {
            return None;
        }
        static UNKNOWN: Value = Value::Unknown;
        self.0
            .variables
            .iter()
            .find(|v| v.name == name)
            .map(|v| match &v.value {
                VarValue::Known { value, .. } => Ok((value, value.first_mark())),
                VarValue::Unset => Ok((&UNKNOWN, None)),
            })
    }
}

/// The attributes of a node, with the references each makes.
pub(crate) fn node_attrs(decls: &Decls, decl: NodeDecl) -> Vec<&Attr> {
    match decl {
        NodeDecl::Variable(_) => Vec::new(),
        NodeDecl::Local(i) => vec![&decls.locals[i].attr],
        NodeDecl::Data(i) => {
            let d = &decls.data[i];
            vec![&d.secret_name, &d.version_id]
        }
        NodeDecl::Secret(i) => {
            let s = &decls.secrets[i];
            let mut v = vec![&s.secret_name, &s.version_id, &s.content];
            v.extend(s.description.as_ref());
            v.extend(s.tags.as_ref());
            v.extend(s.kms_key_id.as_ref());
            v
        }
        NodeDecl::Sops(i) => {
            let d = &decls.sops_files[i];
            let mut v = vec![&d.source_file];
            v.extend(d.input_type.as_ref());
            v
        }
    }
}

fn node_refs(decls: &Decls, decl: NodeDecl) -> Vec<&Reference> {
    let mut out: Vec<&Reference> = node_attrs(decls, decl)
        .into_iter()
        .flat_map(|a| a.refs.iter())
        .collect();
    match decl {
        NodeDecl::Data(i) => out.extend(decls.data[i].depends_on.iter()),
        NodeDecl::Secret(i) => out.extend(decls.secrets[i].depends_on.iter()),
        NodeDecl::Sops(i) => out.extend(decls.sops_files[i].depends_on.iter()),
        _ => {}
    }
    out
}

fn kind_key(kind: RefKind) -> &'static str {
    match kind {
        RefKind::Var => "var",
        RefKind::Local => "local",
        RefKind::Data => "data",
        RefKind::Secret => "secret",
        RefKind::Sops => "sops",
    }
}

/// Checks that a reference names a declaration (and an attribute it has); returns the node.
fn check_reference(
    r: &Reference,
    decls: &Decls,
    ids: &[FastMap<String, usize>; 5],
    nodes: &[NodeDecl],
    diags: &mut Vec<Diag>,
) -> Option<usize> {
    let key = kind_key(r.kind);
    let id = ids[r.kind as usize].get(r.name.as_str()).copied();
    if id.is_none() && !decls.is_declared(key, &r.name) {
        let d = Diag::error(
            r.name_span,
            format!("there is no {} `{}`", r.kind.noun(), r.name),
        )
        .label(format!("{} is not declared", r.address()));
        let d = match suggest::did_you_mean(&r.name, decls.labels(key)) {
            Some(s) => d.help(format!("did you mean {}{s}?", r.kind.prefix())),
            None => {
                // Perhaps the name exists as another kind: `var.db` for a secret "db".
                let other = ["var", "local", "secret", "data", "sops"]
                    .into_iter()
                    .find(|k| *k != key && decls.is_declared(k, &r.name));
                match other {
                    Some("var") => d.help(format!("`{}` is a variable: var.{}", r.name, r.name)),
                    Some("local") => {
                        d.help(format!("`{}` is a local value: local.{}", r.name, r.name))
                    }
                    Some("secret") => {
                        d.help(format!("`{}` is a secret: secret.{}", r.name, r.name))
                    }
                    Some("sops") => d.help(format!(
                        "`{}` is a SOPS file data source: data.sops_file.{}",
                        r.name, r.name
                    )),
                    Some(_) => d.help(format!(
                        "`{}` is a data source: data.ssm_secret.{}",
                        r.name, r.name
                    )),
                    None => d,
                }
            }
        };
        diags.push(d);
        return None;
    }
    // A declaration with errors has no node: references to it are not reported again.
    let id = id?;
    if let (NodeDecl::Secret(i), Some((attr, span))) = (nodes[id], &r.attr) {
        let s = &decls.secrets[i];
        let other = match (s.kind, attr.as_str()) {
            (ContentKind::Binary, "secret_string") => Some("secret_binary"),
            (ContentKind::String, "secret_binary") => Some("secret_string"),
            _ => None,
        };
        if let Some(other) = other {
            diags.push(
                Diag::error(
                    *span,
                    format!(
                        "secret.{} has no {attr}: its content is set with {other}",
                        r.name
                    ),
                )
                .help(format!("refer to secret.{}.{other}", r.name))
                .note(
                    format!("secret.{} is declared here", r.name),
                    Some(s.header),
                ),
            );
            return None;
        }
    }
    Some(id)
}

fn cycle_diag(c: &crate::graph::Cycle<Span>, nodes: &[NodeDecl], decls: &Decls) -> Diag {
    let name = |id: usize| node_address(decls, nodes[id]);
    let mut path: Vec<String> = c.edges.iter().map(|e| name(e.0)).collect();
    path.push(name(c.edges[0].0));
    let (from, to, span) = c.edges[0];
    let mut d = if c.edges.len() == 1 {
        Diag::error(span, format!("{} refers to itself", name(from))).label(format!(
            "{} → {}",
            name(from),
            name(to)
        ))
    } else {
        Diag::error(span, format!("dependency cycle: {}", path.join(" → "))).label(format!(
            "{} refers to {} here",
            name(from),
            name(to)
        ))
    };
    for &(from, to, span) in &c.edges[1..] {
        d = d.note(
            format!("{} refers to {} here", name(from), name(to)),
            Some(span),
        );
    }
    d.help("values are evaluated in dependency order, so a cycle has no order: remove one of these references")
}

pub(crate) fn node_address(decls: &Decls, n: NodeDecl) -> String {
    match n {
        NodeDecl::Variable(i) => format!("var.{}", decls.variables[i].name),
        NodeDecl::Local(i) => format!("local.{}", decls.locals[i].name),
        NodeDecl::Data(i) => format!("data.ssm_secret.{}", decls.data[i].label),
        NodeDecl::Secret(i) => format!("secret.{}", decls.secrets[i].label),
        NodeDecl::Sops(i) => format!("data.sops_file.{}", decls.sops_files[i].label),
    }
}

fn redact_locals_in_content(decls: &Decls, sources: &mut Sources) {
    let by_name: BTreeMap<&str, usize> = decls
        .locals
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    let mut done = vec![false; decls.locals.len()];
    let mut stack: Vec<usize> = decls
        .secrets
        .iter()
        .flat_map(|s| s.content.refs.iter())
        .filter(|r| r.kind == RefKind::Local)
        .filter_map(|r| by_name.get(r.name.as_str()).copied())
        .collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut done[i], true) {
            continue;
        }
        let a = &decls.locals[i].attr;
        schema::redact_literals(&a.expr, a.span.file, a.span, &mut |s| sources.redact(s));
        stack.extend(
            a.refs
                .iter()
                .filter(|r| r.kind == RefKind::Local)
                .filter_map(|r| by_name.get(r.name.as_str()).copied()),
        );
    }
}

/// Why a value is secret: the reference that brings a secret into it, and through which locals.
#[derive(Clone, Debug)]
struct Taint {
    /// `var.db_password, a sensitive variable`.
    source: String,
    /// The locals the value passes through, outermost first.
    via: Vec<String>,
}

/// The secret a reference brings into a value, if any (locals already analysed in `locals`).
fn taint_of(r: &Reference, decls: &Decls, locals: &BTreeMap<String, Taint>) -> Option<Taint> {
    let content = |attr: &Option<(String, Span)>| match attr {
        None => true,
        Some((a, _)) => a == "secret_string" || a == "secret_binary",
    };
    match r.kind {
        RefKind::Var => decls
            .variables
            .iter()
            .find(|v| v.name == r.name && v.sensitive)
            .map(|_| Taint {
                source: format!("var.{}, a sensitive variable", r.name),
                via: Vec::new(),
            }),
        RefKind::Data if content(&r.attr) => Some(Taint {
            source: format!("{}, the content of a secret read from SSM", r.display()),
            via: Vec::new(),
        }),
        RefKind::Sops
            if r.attr
                .as_ref()
                .is_none_or(|(a, _)| a == "data" || a == "raw") =>
        {
            Some(Taint {
                source: format!("{}, a value decrypted from a SOPS file", r.display()),
                via: Vec::new(),
            })
        }
        RefKind::Secret if content(&r.attr) => Some(Taint {
            source: format!("{}, another secret's content", r.display()),
            via: Vec::new(),
        }),
        RefKind::Local => locals.get(&r.name).map(|t| {
            let mut t = t.clone();
            t.via.insert(0, format!("local.{}", r.name));
            t
        }),
        _ => None,
    }
}

/// The safety rule: values that plans print in clear must not derive from secrets.
///
/// A plan shows every secret's `secret_name`, `version_id` and `description`, and the content of
/// secrets marked `sensitive = false` as a line diff. If any of those derives from a sensitive
/// variable, a data source's content or another secret's content, the plan would print a
/// secret — so it is an error, found statically (it does not matter whether the value is known
/// yet). Derivation is conservative: any use counts, even in a condition.
fn sensitivity_rule(
    graph: &crate::graph::Graph,
    nodes: &[NodeDecl],
    decls: &Decls,
    diags: &mut Vec<Diag>,
) {
    let mut locals: BTreeMap<String, Taint> = BTreeMap::new();
    for &id in graph.order() {
        if let NodeDecl::Local(i) = nodes[id] {
            let l = &decls.locals[i];
            if let Some(t) = l.attr.refs.iter().find_map(|r| taint_of(r, decls, &locals)) {
                locals.insert(l.name.clone(), t);
            }
        }
    }
    let first_taint = |a: &Attr| {
        a.refs
            .iter()
            .find_map(|r| taint_of(r, decls, &locals).map(|t| (t, r.span)))
    };
    let via = |t: &Taint| {
        if t.via.is_empty() {
            String::new()
        } else {
            format!(" (through {})", t.via.join(" → "))
        }
    };
    let shown_attrs = |address: &str, attrs: Vec<&Attr>, diags: &mut Vec<Diag>| {
        for a in attrs {
            if let Some((t, span)) = first_taint(a) {
                diags.push(
                    Diag::error(
                        span,
                        format!(
                            "{address}'s {} derives from {}{}",
                            a.name,
                            t.source,
                            via(&t)
                        ),
                    )
                    .label("a secret is used here")
                    .help(format!(
                        "plans always show {}, so it must not be derived from secrets",
                        a.name
                    )),
                );
            }
        }
    };
    for d in &decls.data {
        shown_attrs(
            &format!("data.ssm_secret.{}", d.label),
            vec![&d.secret_name, &d.version_id],
            diags,
        );
    }
    for d in &decls.sops_files {
        let mut attrs = vec![&d.source_file];
        attrs.extend(d.input_type.as_ref());
        shown_attrs(&format!("data.sops_file.{}", d.label), attrs, diags);
    }
    for s in &decls.secrets {
        let address = format!("secret.{}", s.label);
        let mut attrs = vec![&s.secret_name, &s.version_id];
        attrs.extend(s.description.as_ref());
        attrs.extend(s.tags.as_ref());
        attrs.extend(s.kms_key_id.as_ref());
        shown_attrs(&address, attrs, diags);
        if !s.sensitive
            && let Some((t, span)) = first_taint(&s.content)
        {
            let at = s.sensitive_span.unwrap_or(s.header);
            diags.push(
                Diag::error(at, format!(
                    "{address} has sensitive = false, but its {} derives from {}{}",
                    s.content.name,
                    t.source,
                    via(&t)
                ))
                .label("this would print a secret")
                .note("the secret is used here", Some(span))
                .help("plans show the content of a sensitive = false secret as a line diff, which would print the secret in CI logs and pull-request comments; remove `sensitive = false` (plans then show only lengths and fingerprints)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parser_panic_becomes_an_error_and_later_panics_still_report() {
        let r: Result<(), ()> = quietly(|| panic!("a message that would quote the file"));
        assert_eq!(r, Err(()));
        assert!(
            !PARSING.with(|p| p.get()),
            "the flag is cleared after a panic"
        );
        assert_eq!(quietly(|| 7), Ok(7));
        // Outside the parser, panics still unwind as usual.
        assert!(std::panic::catch_unwind(|| panic!("ordinary")).is_err());
    }
}
