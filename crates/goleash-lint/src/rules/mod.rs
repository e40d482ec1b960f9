//! The rule registry. One file per rule; each exports `RULE` (metadata and docs) and `check`.

use crate::diagnostic::{Confidence, Finding, Severity};
use crate::facts::FileCx;
use crate::semantic::{PackageCx, PkgFinding};

pub mod gl001_forgotten_sender;
pub mod gl002_loop_senders_single_receive;
pub mod gl003_sender_after_reader_returned;
pub mod gl004_range_never_closed;
pub mod gl005_receive_without_sender;
pub mod gl006_nil_channel_op;
pub mod gl007_goroutine_no_exit_loop;
pub mod gl008_select_loop_without_exit;
pub mod gl009_ticker_not_stopped;
pub mod gl010_time_tick_in_returning_func;
pub mod gl011_time_after_in_loop;
pub mod gl012_timer_stop_drain;
pub mod gl013_lost_cancel;
pub mod gl014_http_no_timeout;
pub mod gl015_missing_body_close;
pub mod gl016_wg_done_skipped;
pub mod gl017_wg_add_in_goroutine;
pub mod gl018_lock_without_unlock;
pub mod gl019_cond_wait_without_loop;
pub mod gl020_errgroup_ctx_ignored;
pub mod gl021_blocking_send_ignoring_ctx;
pub mod gl022_unbounded_spawn;
pub mod gl023_background_ctx_in_goroutine;
pub mod gl024_signal_notify;
pub mod gl030_double_lock;
pub mod gl031_lock_order_inversion;
pub mod gl032_lock_held_across_block;
pub mod gl033_channel_without_partner;
pub mod gl034_cond_never_signalled;
pub mod gl035_waitgroup_never_released;
pub mod gl036_send_to_stopped_receiver;
pub mod gl037_channel_passed_to_idle_param;
pub mod gl038_goroutine_without_recover;
pub mod gl039_waitgroup_done_skipped_in_goroutine_func;
pub mod gl040_unlock_skipped_on_return;
pub mod gl041_cond_signal_before_wait;
pub mod gl042_waitgroup_add_after_wait;
pub mod gl043_goroutine_blind_to_cancel;

/// Everything about a rule that does not depend on the code it looks at.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable code, never reused: `GL001`.
    pub code: &'static str,
    /// Kebab-case name: `forgotten-sender`.
    pub name: &'static str,
    pub severity: Severity,
    pub confidence: Confidence,
    /// On unless selected away; off rules run only when selected.
    pub default_enabled: bool,
    /// Whether the Go version (go.mod `go` directive) changes what the rule reports.
    pub version_gated: bool,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// One line: why the shape leaks.
    pub why: &'static str,
    /// One line: the fix.
    pub fix: &'static str,
    /// Long form (Markdown): what, why, example, fix, when it is wrong.
    pub docs: &'static str,
}

pub type CheckFn = for<'t> fn(&FileCx<'t>, &mut Vec<Finding>);

pub struct Rule {
    pub meta: &'static RuleMeta,
    pub check: CheckFn,
}

macro_rules! registry {
    ($($module:ident),* $(,)?) => {
        &[$(Rule { meta: &$module::RULE, check: $module::check }),*]
    };
}

pub static RULES: &[Rule] = registry![
    gl001_forgotten_sender,
    gl002_loop_senders_single_receive,
    gl003_sender_after_reader_returned,
    gl004_range_never_closed,
    gl005_receive_without_sender,
    gl006_nil_channel_op,
    gl007_goroutine_no_exit_loop,
    gl008_select_loop_without_exit,
    gl009_ticker_not_stopped,
    gl010_time_tick_in_returning_func,
    gl011_time_after_in_loop,
    gl012_timer_stop_drain,
    gl013_lost_cancel,
    gl014_http_no_timeout,
    gl015_missing_body_close,
    gl016_wg_done_skipped,
    gl017_wg_add_in_goroutine,
    gl018_lock_without_unlock,
    gl019_cond_wait_without_loop,
    gl020_errgroup_ctx_ignored,
    gl021_blocking_send_ignoring_ctx,
    gl022_unbounded_spawn,
    gl023_background_ctx_in_goroutine,
    gl024_signal_notify,
];

pub type PackageCheckFn = for<'t> fn(&PackageCx<'t>, &mut Vec<PkgFinding>);

/// A rule over a whole package's semantic model rather than one file's syntax.
pub struct PackageRule {
    pub meta: &'static RuleMeta,
    pub check: PackageCheckFn,
}

macro_rules! package_registry {
    ($($module:ident),* $(,)?) => {
        &[$(PackageRule { meta: &$module::RULE, check: $module::check }),*]
    };
}

pub static PACKAGE_RULES: &[PackageRule] = package_registry![
    gl030_double_lock,
    gl031_lock_order_inversion,
    gl032_lock_held_across_block,
    gl033_channel_without_partner,
    gl034_cond_never_signalled,
    gl035_waitgroup_never_released,
    gl036_send_to_stopped_receiver,
    gl037_channel_passed_to_idle_param,
    gl038_goroutine_without_recover,
    gl039_waitgroup_done_skipped_in_goroutine_func,
    gl040_unlock_skipped_on_return,
    gl041_cond_signal_before_wait,
    gl042_waitgroup_add_after_wait,
    gl043_goroutine_blind_to_cancel,
];

/// Diagnostics the engine itself emits; they have codes so they can be selected and suppressed.
pub static SYNTAX_ERROR: RuleMeta = RuleMeta {
    code: "GL900",
    name: "syntax-error",
    // Info: tree-sitter-go 0.25 predates some Go 1.26/1.27 syntax (`new(expr)`, generic
    // methods), so valid code can land here; `go build` is the judge of real syntax errors.
    severity: Severity::Info,
    confidence: Confidence::Medium,
    default_enabled: true,
    version_gated: false,
    summary: "The file does not parse as Go; the rest of it is still linted.",
    why: "code the parser cannot read is not checked around the error",
    fix: "fix the syntax error (`gofmt -l` shows it); if `go build` accepts the file, it uses syntax newer than tree-sitter-go 0.25",
    docs: "# GL900 syntax-error\n\nReported (as info) at the first few places where tree-sitter-go had to \
recover from a syntax error (an `ERROR` or missing node). The rest of the file is still parsed and \
linted, so other findings in it are still shown, but findings near the error may be missing.\n\n\
It is info, not error, because tree-sitter-go 0.25 predates some Go 1.26/1.27 syntax: `new(expr)` \
and generic methods parse as errors although `go build` accepts them (10 such places in the Go \
1.27.3 tree). A file that really does not compile fails `go build` anyway.\n",
};

pub static UNUSED_SUPPRESSION: RuleMeta = RuleMeta {
    code: "GL901",
    name: "unused-suppression",
    severity: Severity::Warning,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "A `//goleash:ignore` or `//nolint:goleash` comment that suppresses nothing.",
    why: "stale suppressions hide the next real finding on that line",
    fix: "delete the comment, or name the code that actually fires",
    docs:
        "# GL901 unused-suppression\n\nA suppression comment (`//goleash:ignore GL001 reason` or \
`//nolint:goleash`) that matched no finding on its own line or the line below. Only reported for \
codes that are enabled, so disabling a rule does not make its suppressions noisy.\n",
};

pub static SUPPRESSION_WITHOUT_REASON: RuleMeta = RuleMeta {
    code: "GL902",
    name: "suppression-without-reason",
    severity: Severity::Warning,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "A suppression comment that does not say why.",
    why: "a reason lets the next reader check that the suppression still holds",
    fix: "write the reason after the codes: `//goleash:ignore GL007 started once from main`",
    docs: "# GL902 suppression-without-reason\n\n`//goleash:ignore GL007` with nothing after the codes, or \
`//nolint:goleash` without a `// reason` after it. The suppression still applies; this asks for the \
reason.\n",
};

pub static FILE_TOO_LARGE: RuleMeta = RuleMeta {
    code: "GL903",
    name: "file-too-large",
    severity: Severity::Info,
    confidence: Confidence::High,
    default_enabled: true,
    version_gated: false,
    summary: "A file over 10 MiB, which is not parsed or linted (only its brackets are checked).",
    why: "parsing costs about 60 bytes of memory per byte of source, so huge files are skipped to keep memory bounded",
    fix: "mark generated code with `// Code generated ... DO NOT EDIT.`, or split the file",
    docs: "# GL903 file-too-large\n\nThe file is larger than 10 MiB, so it is not parsed and no rule runs on \
it; only unbalanced brackets are still reported (GL900). A tree-sitter tree costs about 60 bytes of \
memory per byte of source, and hand-written Go files are far smaller (Go's own tree has none over \
4 MB, and its files over 1 MB are generated), so files this big are generated: add the `// Code generated ... DO NOT EDIT.` header \
to skip them without this notice.\n",
};

pub static ENGINE_RULES: [&RuleMeta; 4] = [
    &SYNTAX_ERROR,
    &UNUSED_SUPPRESSION,
    &SUPPRESSION_WITHOUT_REASON,
    &FILE_TOO_LARGE,
];

/// Every rule's metadata, lint rules first.
pub fn all_meta() -> impl Iterator<Item = &'static RuleMeta> {
    RULES
        .iter()
        .map(|r| r.meta)
        .chain(PACKAGE_RULES.iter().map(|r| r.meta))
        .chain(ENGINE_RULES.iter().copied())
}

pub fn find_meta(code_or_name: &str) -> Option<&'static RuleMeta> {
    all_meta().find(|m| {
        m.code.eq_ignore_ascii_case(code_or_name) || m.name.eq_ignore_ascii_case(code_or_name)
    })
}
