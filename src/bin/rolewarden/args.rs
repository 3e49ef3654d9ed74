//! The command line's arguments. Flags shared by several commands are flattened structs, so
//! they read and behave the same everywhere.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use rolewarden::finding::UnknownSeverity;
use rolewarden::Severity;

/// Evaluates CloudTrail events about IAM, Amazon Lex and Amazon Connect against a baseline:
/// unapproved iam:PassRole, edited service-linked roles, risky trust policies.
#[derive(Parser)]
#[command(name = "rolewarden", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  rolewarden evaluate events/\n  rolewarden evaluate --format json --min-severity high trail/*.json.gz\n  aws cloudtrail lookup-events --output json | jq -c '.Events[].CloudTrailEvent | fromjson' | rolewarden evaluate -\n  rolewarden evaluate --enrich --sink cloudwatch --log-group /rolewarden/findings trail/\n  rolewarden sweep --regions us-east-1,eu-west-2 --fail-on high\n  rolewarden sweep --organization --assume-role RolewardenReader --concurrency 4\n  rolewarden check-policy policy.json trust-policy.json\n  rolewarden explain PR001"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Evaluate event files, folders (recursively) or standard input (`-`).
    ///
    /// Accepts EventBridge events, raw CloudTrail records, CloudTrail log files
    /// ({"Records": [...]}, plain or .json.gz) and JSON Lines of any of them. Unreadable input
    /// is reported with its file and line, the rest is still evaluated, and the exit status
    /// is 2 at the end.
    Evaluate(EvaluateArgs),
    /// Sweep the live account for orphaned roles and drifted service-linked roles.
    ///
    /// Lists every role (ListRoles carries the trust policies), reads RoleLastUsed for roles
    /// that trust Lex or Connect (GetRole), the policies of their service-linked roles, and
    /// the bots and instances in each region; then runs OR001, OR002, OR004, SL008 and CN001.
    /// What cannot be read is reported (RW002), never skipped silently. Uses the default AWS
    /// credential chain; needs iam:ListRoles, iam:GetRole, iam:ListRolePolicies,
    /// iam:ListAttachedRolePolicies, lex:ListBots, lex:GetBots, connect:ListInstances.
    Sweep(SweepArgs),
    /// List the rule catalogue.
    Rules {
        /// Print a Markdown table (as in the README).
        #[arg(long)]
        markdown: bool,
    },
    /// Print a rule's documentation: what it detects, why it matters, an example, the fix.
    Explain {
        /// Rule id, e.g. PR001.
        id: String,
    },
    /// Check IAM policy documents (JSON files) with the same rules as the events that write them.
    ///
    /// A document with a `Principal` is a trust policy (judged as CreateRole: TR001, TR002);
    /// any other is a permissions policy (judged as CreatePolicy: PR001-PR003, LX001). Plain,
    /// pretty or URL-encoded JSON. Exit status 1 when a finding reaches --fail-on, 2 when a
    /// file is not a policy document.
    CheckPolicy(CheckPolicyArgs),
    /// Print the EventBridge event patterns that route every event the rules consume.
    ///
    /// One pattern per source (aws.iam, aws.lex, aws.connect), generated from the rule
    /// catalogue and the baseline's profiles. Failed calls match too: a refused attempt is
    /// evidence. template.yaml and forwarder.yaml embed this output; a test keeps them equal.
    EventPattern {
        /// Print only the pattern for this EventBridge source, e.g. `aws.iam`.
        #[arg(long, value_name = "SOURCE")]
        source: Option<String>,
        /// Baseline file (TOML): disabled rules and extra profiles change the patterns.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
    },
    /// Show or check a baseline.
    Baseline {
        #[command(subcommand)]
        command: BaselineCommand,
    },
}

#[derive(Subcommand)]
pub enum BaselineCommand {
    /// Print the embedded default baseline (a starting point for your own).
    Show,
    /// Validate a baseline file: every error and warning, with line numbers.
    Check {
        /// The TOML file to check.
        file: PathBuf,
    },
}

/// How findings are judged and reported: shared by `evaluate` and `sweep`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Output format: a readable report grouped by severity, JSON Lines (one finding per line),
    /// or JSON Lines of OCSF Detection Findings.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Baseline file (TOML). Default: the embedded baseline (`rolewarden baseline show`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Print only findings at or above this severity.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub min_severity: Option<Severity>,
    /// Exit with status 1 when a finding reaches this severity.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Judge exception expiry (and, for sweeps, role ages) as of this date (YYYY-MM-DD,
    /// midnight UTC) instead of today: reproducible replays.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<chrono::NaiveDate>,
}

/// Where findings are written besides standard output: shared by `evaluate` and `sweep`.
#[derive(clap::Args)]
pub struct SinkArgs {
    /// Also write each reported finding to these sinks (comma-separated, written in order):
    /// `cloudwatch` puts one log event per finding into --log-group (created when missing), as
    /// the Lambda does; `securityhub` imports each into AWS Security Hub (BatchImportFindings,
    /// ASFF, the credentials' account and region; a re-import updates the finding).
    #[arg(long, value_enum, value_name = "SINK,...", value_delimiter = ',')]
    pub sink: Vec<SinkArg>,
    /// The log group for --sink cloudwatch.
    #[arg(long, value_name = "NAME", env = "FINDINGS_LOG_GROUP", default_value = rolewarden::aws::logs::DEFAULT_LOG_GROUP)]
    pub log_group: String,
    // FINDINGS_FORMAT (issue 16's OCSF output).
    /// The form of what --sink writes: rolewarden's JSON, or OCSF Detection Findings.
    #[arg(long, value_enum, value_name = "FORMAT", env = "FINDINGS_FORMAT", default_value_t = SinkFormat::Json)]
    pub sink_format: SinkFormat,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SinkFormat {
    Json,
    Ocsf,
}

impl From<SinkFormat> for rolewarden::log_events::FindingsFormat {
    fn from(format: SinkFormat) -> Self {
        match format {
            SinkFormat::Json => Self::Json,
            SinkFormat::Ocsf => Self::Ocsf,
        }
    }
}

/// Reading other accounts of the organization through their reader role.
#[derive(clap::Args)]
pub struct AssumeArgs {
    /// Read every account other than the credentials' own by assuming this role in it
    /// (`arn:aws:iam::<account>:role/NAME`: forwarder.yaml's `RolewardenReader`). An account
    /// whose role cannot be assumed is judged from the events alone, and says why.
    #[arg(long, value_name = "NAME")]
    pub assume_role: Option<String>,
    /// The sts:ExternalId the reader role's trust policy asks for.
    #[arg(long, value_name = "ID", requires = "assume_role")]
    pub external_id: Option<String>,
}

impl AssumeArgs {
    pub fn role(&self) -> Option<rolewarden::aws::accounts::ReaderRole> {
        self.assume_role
            .as_ref()
            .map(|name| rolewarden::aws::accounts::ReaderRole {
                name: name.clone(),
                external_id: self.external_id.clone(),
            })
    }
}

#[derive(clap::Args)]
pub struct EvaluateArgs {
    /// Files, folders or `-` for standard input. Folders are read recursively for .json,
    /// .jsonl, .ndjson and .gz files. `s3://BUCKET/PREFIX/` reads a CloudTrail bucket (or one
    /// object, `s3://BUCKET/KEY`).
    #[arg(default_value = "-")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub trail: TrailArgs,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Read passed roles and attached policies from the live account (PR004 for customer
    /// managed policies, PR006; SL005 lists bots and instances), with the default AWS
    /// credential chain. Only events of that account are enriched, unless --assume-role
    /// names a role to read the others through. Needs iam:GetRole, iam:ListRolePolicies,
    /// iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:GetPolicy, iam:GetPolicyVersion,
    /// lex:ListBots, lex:GetBots, connect:ListInstances; TR003 also reads the organization
    /// (organizations:DescribeOrganization, ListAccounts) when allowed.
    #[arg(long)]
    pub enrich: bool,
    #[command(flatten)]
    pub assume: AssumeArgs,
    #[command(flatten)]
    pub sink: SinkArgs,
    #[command(flatten)]
    pub state: StateArgs,
    /// A record (or JSON Lines line) larger than this many bytes is reported unreadable
    /// (RW000) without being held in memory; peak memory follows this limit.
    #[arg(long, value_name = "BYTES", default_value_t = rolewarden::decode::stream::DEFAULT_MAX_RECORD_BYTES)]
    pub max_record_bytes: u64,
}

// --- CloudTrail from S3 (issue 17) ---

/// Which log files of a trail bucket `evaluate s3://...` reads, chosen by the layout CloudTrail
/// delivers to (`AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/`): days, accounts
/// and regions outside these are never listed.
#[derive(clap::Args)]
pub struct TrailArgs {
    /// With s3://: the first day read (YYYY-MM-DD, the UTC day in the key).
    #[arg(long, value_name = "DATE")]
    pub since: Option<chrono::NaiveDate>,
    /// With s3://: the last day read, included (default: today).
    #[arg(long, value_name = "DATE")]
    pub until: Option<chrono::NaiveDate>,
    /// With s3://: only these accounts (comma-separated ids).
    #[arg(long, value_name = "ID,...", value_delimiter = ',', value_parser = parse_account)]
    pub accounts: Vec<String>,
    /// With s3://: only these regions (comma-separated).
    #[arg(long, value_name = "REGION,...", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// With s3://: objects read and evaluated at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = parse_concurrency)]
    pub concurrency: usize,
}

// --- end of CloudTrail from S3 ---

#[derive(Clone, Copy, ValueEnum)]
pub enum SinkArg {
    Cloudwatch,
    Securityhub,
}

impl SinkArgs {
    /// The sinks asked for, each once, in order.
    pub fn kinds(&self) -> Vec<rolewarden::sink::SinkKind> {
        let mut kinds = Vec::new();
        for arg in &self.sink {
            let kind = match arg {
                SinkArg::Cloudwatch => rolewarden::sink::SinkKind::CloudWatch,
                SinkArg::Securityhub => rolewarden::sink::SinkKind::SecurityHub,
            };
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        kinds
    }

    /// The buffered sink, or `None` when no sink was asked for.
    pub fn open(
        &self,
        live: &rolewarden::aws::blocking::Blocking,
    ) -> Option<rolewarden::aws::blocking::BufferedWriter> {
        let kinds = self.kinds();
        (!kinds.is_empty()).then(|| live.sink(&kinds, &self.log_group, self.sink_format.into()))
    }
}

#[derive(clap::Args)]
pub struct SweepArgs {
    /// Regions to list Lex bots and Connect instances in (comma-separated). Default: the
    /// baseline's `regions`, else the SDK's region (AWS_REGION, the profile).
    #[arg(long, value_delimiter = ',', value_name = "REGION,...")]
    pub regions: Vec<String>,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Stop starting new calls after this many seconds and report how far the sweep got.
    #[arg(long, value_name = "SECONDS")]
    pub time_budget: Option<u64>,
    /// API calls in flight at once in one account; with several accounts, also the number of
    /// accounts swept at once.
    #[arg(long, value_name = "N", default_value_t = rolewarden::aws::gather::DEFAULT_CONCURRENCY, value_parser = parse_concurrency)]
    pub concurrency: usize,
    /// Sweep these accounts (comma-separated ids), each through --assume-role (the
    /// credentials' own account with its own credentials).
    #[arg(long, value_name = "ID,...", value_delimiter = ',', conflicts_with = "organization", requires = "assume_role", value_parser = parse_account)]
    pub accounts: Vec<String>,
    /// Sweep every ACTIVE account of the organization (organizations:ListAccounts: run it
    /// from the management account or a delegated administrator), each through --assume-role.
    #[arg(long, requires = "assume_role")]
    pub organization: bool,
    #[command(flatten)]
    pub assume: AssumeArgs,
    #[command(flatten)]
    pub sink: SinkArgs,
    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(clap::Args)]
pub struct CheckPolicyArgs {
    /// Policy documents, one per file.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format: a readable report, JSON Lines (one finding per line), or JSON Lines of
    /// OCSF Detection Findings.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Baseline file (TOML). Default: the embedded baseline.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Exit with status 1 when a finding reaches this severity (default: anything above info).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity, default_value = "low")]
    pub fail_on: Severity,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// OCSF 1.5.0 Detection Findings (class 2004), one per line.
    Ocsf,
}

fn parse_concurrency(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a whole number of 1 or more")),
    }
}

fn parse_account(s: &str) -> Result<String, String> {
    if rolewarden::aws::organization::is_account_id(s.trim()) {
        Ok(s.trim().to_owned())
    } else {
        Err(format!("`{s}` is not a 12-digit account id"))
    }
}

fn parse_severity(s: &str) -> Result<Severity, UnknownSeverity> {
    s.parse()
}

// --- finding state (issue 16 lifecycle) ---

/// Finding state: shared by `evaluate` and `sweep`.
#[derive(clap::Args)]
pub struct StateArgs {
    /// Keep finding state in this DynamoDB table (`dynamodb:TABLE`, the template's state
    /// table): each finding gets `status` (`new`, then `open`) and `first_seen`, and findings
    /// whose cause is gone are written again as `resolved`. Without it nothing is remembered
    /// (offline replays stay stateless). Needs dynamodb:BatchGetItem, dynamodb:Query and
    /// dynamodb:BatchWriteItem on the table.
    #[arg(long, value_name = "dynamodb:TABLE", value_parser = parse_state)]
    pub state: Option<String>,
}

/// The table of `dynamodb:TABLE`.
fn parse_state(text: &str) -> Result<String, String> {
    text.strip_prefix("dynamodb:")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| format!("expected `dynamodb:TABLE`, not `{text}`"))
}
