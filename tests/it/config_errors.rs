//! The corpus of invalid configurations: one directory each under
//! `tests/fixtures/config/invalid/`, each with a snapshot of the diagnostics `validate` renders
//! (`snapshots/config__invalid__<name>.snap`).
//!
//! Every case also checks the acceptance rules that hold for all diagnostics: at least one
//! error, every diagnostic names file:line:col (or, for command-line and environment input,
//! where it came from), and no secret appears — fixtures put the word CANARY in every secret
//! value, credential and sensitive default, and it must not show in text or JSON output.

use ssmform::term::Paint;

use crate::support::assert_no_leak;
use crate::support::config::{FIXTURES, Fixture, snapshot_settings};

fn check(name: &str) {
    let fixture = Fixture::new(format!("{FIXTURES}/invalid/{name}"));
    let diags = fixture.diagnostics();
    let text = diags.render(Paint::plain());
    assert!(diags.has_errors(), "{name}: expected errors, got:\n{text}");
    for d in diags.iter() {
        match (&d.location, &d.origin) {
            (Some(l), _) => assert!(l.line >= 1 && l.column >= 1, "{name}: {l}"),
            (None, Some(_)) => {}
            (None, None) => panic!("{name}: a diagnostic without a place: {}", d.message),
        }
    }
    let json = diags.to_json().to_string();
    for (what, shown) in [("text", &text), ("JSON", &json)] {
        assert_no_leak(&format!("{name}: {what}"), shown, &["CANARY"]);
    }
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(format!("config__invalid__{name}"), text);
    });
}

macro_rules! corpus {
    ($($name:ident),* $(,)?) => {
        const CASES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
    };
}

corpus![
    content_over_32kb,
    credentials_at_top_level,
    credentials_in_provider,
    cycle_between_secrets,
    cycle_through_locals,
    depends_on_with_strings,
    description_too_long,
    duplicate_secret_labels_across_files,
    duplicate_secret_version,
    duplicate_variables_locals_and_data,
    empty_and_null_content,
    file_paths_outside_the_directory,
    invalid_credential_settings,
    for_expression_duplicate_keys,
    function_errors,
    invalid_base64_binary,
    invalid_provider_settings,
    invalid_secret_names,
    invalid_variable_types,
    invalid_version_ids,
    labels_that_are_not_identifiers,
    lifecycle_attributes_from_secrets,
    lifecycle_attributes_not_literal,
    malformed_var_argument,
    missing_required_attributes,
    nested_block_in_secret,
    no_configuration_files,
    no_provider_block,
    non_utf8_file,
    reference_to_other_content_kind,
    reference_to_unknown_attribute,
    reference_to_wrong_kind,
    removed_block_errors,
    removed_blocks_that_conflict,
    secret_attributes_that_disagree,
    secret_name_from_secret_values,
    secret_with_string_and_binary,
    secret_without_content,
    self_reference,
    sensitive_false_through_local_from_data_source,
    sensitive_false_with_sensitive_variable,
    sensitive_is_a_string,
    sensitive_is_an_expression,
    structured_content_without_jsonencode,
    syntax_error_in_one_of_two_files,
    syntax_error_missing_closing_brace,
    syntax_error_unterminated_string,
    terraform_resource_block,
    two_provider_blocks,
    type_errors_in_expressions,
    undeclared_secret_local_and_data,
    undeclared_variable_on_command_line,
    undeclared_variable_with_suggestion,
    unknown_attributes_with_suggestions,
    unknown_block_type_with_suggestion,
    unknown_data_source_type,
    unknown_function_with_suggestion,
    unknown_names_in_expressions,
    unknown_provider_attribute,
    unknown_provider_label,
    var_file_with_a_block,
    variable_without_value_in_plan_mode,
    wrong_function_arity,
    wrong_type_from_environment,
    wrong_type_in_auto_vars_file,
    wrong_type_of_default,
];

#[test]
fn every_fixture_directory_is_in_the_corpus() {
    let mut dirs: Vec<String> = std::fs::read_dir(format!("{FIXTURES}/invalid"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    dirs.sort();
    let mut cases: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    cases.sort();
    assert_eq!(dirs, cases);
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
}
