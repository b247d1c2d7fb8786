//! The registry of diagnostic codes: one line per code, never reused or deleted.
//!
//! A retired code keeps its line with a note in its explain page. The long text of each code
//! lives in `docs/diagnostics/<CODE>.md` and is embedded at build time (`sight explain CODE`).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One registered code.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    /// `S0101`.
    pub code: &'static str,
    /// `duplicate-name`: names the mistake, usable in `sight.toml` `[lints]`.
    pub name: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

macro_rules! registry {
    ($( $ident:ident = $code:literal $name:literal $sev:ident $summary:literal; )*) => {
        $( pub static $ident: Code = Code {
            code: $code, name: $name, severity: Severity::$sev, summary: $summary,
        }; )*
        /// Every code, in code order.
        pub static ALL: &[&Code] = &[ $( &$ident, )* ];
    };
}

registry! {
    // Syntax.
    SYNTAX_ERROR = "S0001" "syntax-error" Error "the text does not follow the grammar";
    UNTERMINATED_STRING = "S0002" "unterminated-string" Error "a string literal has no closing quote";
    INVALID_ESCAPE = "S0003" "invalid-escape" Error "a string contains an unknown escape sequence";
    INVALID_NUMBER = "S0004" "invalid-number" Error "a number is malformed, too large, or has an unknown unit";
    NESTING_TOO_DEEP = "S0005" "nesting-too-deep" Error "blocks, lists or calls are nested too deeply";
    INVALID_ENCODING = "S0006" "invalid-encoding" Error "a source file is not valid UTF-8";
    UNCLOSED_DELIMITER = "S0007" "unclosed-delimiter" Error "a `{`, `[` or `(` is never closed";
    FILE_TOO_LARGE = "S0008" "file-too-large" Error "a source file is larger than 10 MiB";
    TOO_MANY_ITEMS = "S0009" "too-many-items" Error "a list, block or call holds more than 10,000 items";
    // Project.
    INVALID_MANIFEST = "S0010" "invalid-manifest" Error "`sight.toml` is malformed or has an unknown key";
    NO_SOURCES = "S0011" "no-sources" Error "the project has no `.sight` file";
    UNKNOWN_LINT = "S0012" "unknown-lint" Error "`sight.toml` sets the level of a code that does not exist";
    MISSING_PROJECT = "S0013" "missing-project" Error "no `project` block declares the project's cloud settings";
    TOO_MANY_DECLARATIONS = "S0014" "too-many-declarations" Error "the project has more than 1,000,000 declarations";
    PATH_OUTSIDE_PROJECT = "S0015" "path-outside-project" Error "a path leaves the project root: `..`, an absolute path or a symbolic link";
    // Names and kinds.
    UNKNOWN_DECLARATION = "S0100" "unknown-declaration" Error "a top-level declaration uses an unknown keyword";
    DUPLICATE_NAME = "S0101" "duplicate-name" Error "two declarations share one name";
    UNKNOWN_REFERENCE = "S0102" "unknown-reference" Error "a reference names nothing that is declared";
    UNKNOWN_KIND = "S0103" "unknown-kind" Error "a `: kind` names no kind of the standard library";
    WRONG_KIND_CLASS = "S0104" "wrong-kind-class" Error "a kind is used where another class of kind is expected";
    MISSING_KIND = "S0105" "missing-kind" Error "a declaration that needs a kind has none";
    INVALID_NAME = "S0106" "invalid-name" Error "a name cannot be used as a container, service or resource name";
    WRONG_REFERENCE_TARGET = "S0107" "wrong-reference-target" Error "a reference names something of the wrong sort";
    // Fields and values.
    UNKNOWN_FIELD = "S0110" "unknown-field" Error "a field is not declared by the kind";
    MISSING_FIELD = "S0111" "missing-field" Error "a required field is missing";
    TYPE_MISMATCH = "S0112" "type-mismatch" Error "a value has the wrong type or unit";
    DUPLICATE_FIELD = "S0113" "duplicate-field" Error "a field is set twice in one block";
    VALUE_OUT_OF_RANGE = "S0114" "value-out-of-range" Error "a value is outside the range its field allows";
    INVALID_OVERLAY = "S0115" "invalid-overlay" Error "an overlay is misplaced or sets a field that cannot vary";
    UNKNOWN_ARGUMENT = "S0116" "unknown-argument" Error "a call has an unknown, missing or surplus argument";
    // Secrets.
    PLAINTEXT_SECRET = "S0120" "plaintext-secret" Error "a secret-typed field is given a plain value";
    UNUSED_SECRET = "S0121" "unused-secret" Warning "a secret is declared but never used";
    UNPINNED_SECRET_VERSION = "S0122" "unpinned-secret-version" Warning "a secret reads the `latest` version";
    SECRET_IN_PLAIN_ENV = "S0123" "secret-in-plain-env" Error "an environment variable looks like a credential but is a plain string";
    // Graph.
    DEPENDENCY_CYCLE = "S0130" "dependency-cycle" Error "dependencies form a cycle";
    DEPENDS_ON_WITHOUT_HEALTHCHECK = "S0131" "depends-on-without-healthcheck" Warning "a dependency has no health check, so dependents only wait for it to start";
    DUPLICATE_HOST_PORT = "S0132" "duplicate-host-port" Error "two containers publish the same host port";
    // Images and builds.
    IMAGE_TAG_LATEST = "S0140" "image-tag-latest" Error "an image is tagged `latest`";
    UNPINNED_IMAGE = "S0141" "unpinned-image" Error "an image has no tag or digest";
    UNPINNED_SYSTEM_PACKAGE = "S0142" "unpinned-system-package" Error "a system package has no version";
    BUILD_TOOL_AT_RUNTIME = "S0143" "build-tool-at-runtime" Error "a compiler or `-dev` package would ship in the production image";
    BUILD_TIME_VARIABLE_AT_RUNTIME = "S0144" "build-time-variable-at-runtime" Error "a `VITE_*` variable is set at runtime, where the built bundle never reads it";
    // Pipelines.
    DEPLOY_BEFORE_TESTS = "S0150" "deploy-before-tests" Error "a deploy or migration can start before every test step passed";
    STEP_IMAGE_NOT_BUILT = "S0151" "step-image-not-built" Error "a step uses a service image that no earlier step builds";
    SMOKE_BEFORE_DEPLOY = "S0152" "smoke-before-deploy" Error "a smoke test does not run after the deploy it tests";
    ROLLBACK_WITHOUT_DEPLOY = "S0153" "rollback-without-deploy" Error "a rollback targets a service that no step deploys";
    DEPLOY_BEFORE_PUSH = "S0154" "deploy-before-push" Error "a deploy can start before its image is pushed";
    INVALID_SUBSTITUTION = "S0155" "invalid-substitution" Error "a Cloud Build substitution is ill-formed, undefined or unused";
    INVALID_MACHINE_TYPE = "S0156" "invalid-machine-type" Error "a Cloud Build machine type is unknown or deprecated";
    STEP_TIMEOUT_EXCEEDS_BUILD = "S0157" "step-timeout-exceeds-build" Error "a step timeout is longer than the build timeout, or a timeout is out of range";
    INVALID_ON_FAILURE = "S0158" "invalid-on-failure" Error "an `on_failure` handler is attached where it cannot run";
    ASYNC_MIGRATION_DRIVER = "S0159" "async-migration-driver" Error "a migration runs with an async database driver";
    DUPLICATE_STEP = "S0160" "duplicate-step" Error "two steps of a pipeline share a name";
    UNKNOWN_STEP_KIND = "S0161" "unknown-step-kind" Error "a step calls an action that no step kind defines";
    UNSCOPED_SHORT_SHA = "S0162" "unscoped-short-sha" Error "`$SHORT_SHA` or `$COMMIT_SHA` is used by a pipeline with no repository trigger";
    TOO_MANY_STEPS = "S0163" "too-many-steps" Error "a pipeline has more than 1,000 steps";
    // Alerts.
    UNKNOWN_SIGNAL = "S0170" "unknown-signal" Error "an alert watches a signal its target's kind does not have";
    THRESHOLD_OUT_OF_RANGE = "S0171" "threshold-out-of-range" Error "an alert threshold cannot be reached";
    THRESHOLD_UNIT_MISMATCH = "S0172" "threshold-unit-mismatch" Error "an alert threshold has a unit its signal cannot compare";
    ALERT_DURATION_NOT_MINUTES = "S0173" "alert-duration-not-minutes" Error "an alert duration is not a whole number of minutes";
    ALERT_WITHOUT_CHANNEL = "S0174" "alert-without-channel" Error "an alert notifies nobody";
    DEPLOYED_SERVICE_WITHOUT_ALERT = "S0175" "deployed-service-without-alert" Warning "a deployed service has no alert";
    ALERT_ON_UNDEPLOYED = "S0176" "alert-on-undeployed" Error "an alert watches a service that is never deployed";
    PERCENT_WITHOUT_LIMIT = "S0177" "percent-without-limit" Error "a percentage threshold has no declared limit to be a percentage of";
    // Cloud Run.
    CLOUD_RUN_RESOURCES = "S0180" "cloud-run-resources" Error "Cloud Run rejects this memory, CPU and concurrency combination";
    PORT_MISMATCH = "S0181" "port-mismatch" Error "the command listens on another port than the one declared";
    LISTENS_ON_LOCALHOST = "S0182" "listens-on-localhost" Error "the command binds to localhost, unreachable from outside its container";
    COMPOSE_HOST_IN_PRODUCTION = "S0183" "compose-host-in-production" Error "an environment outside Compose (a deployed service, a pipeline step) names a Compose host";
    CONFIG_FILE_NOT_DEPLOYED = "S0184" "config-file-not-deployed" Error "a deployed service reads a configuration file that only Compose mounts";
    // Data stores.
    HEALTHCHECK_TOO_SHORT = "S0190" "healthcheck-too-short" Error "a health check timeout or start period is below what the store needs";
    OBSOLETE_SETTING = "S0191" "obsolete-setting" Error "a store setting was renamed in the declared version";
}

impl Code {
    pub fn by_code_or_name(key: &str) -> Option<&'static Code> {
        ALL.iter().copied().find(|c| c.code.eq_ignore_ascii_case(key) || c.name == key)
    }

    /// The long explanation, from `docs/diagnostics/<CODE>.md`.
    pub fn explain(&self) -> Option<&'static str> {
        crate::embedded::explain_text(self.code)
    }
}
