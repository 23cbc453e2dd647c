"""Request and response bodies of the API (the OpenAPI document is generated from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shipyard.governance.team_policy import MAX_SHADOW_S
from shipyard.spec.deployment import ROUTING_KEY, DeploymentSpec

Severity = Literal["ok", "warning", "critical"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    api: Literal["v1"]


# ---------------------------------------------------------------- identity

class OidcOut(BaseModel):
    issuer: str = Field(description="The issuer whose JWTs the server accepts as bearer tokens.")
    audience: str = Field(description="The audience those JWTs must name.")
    client_id: str | None = Field(description="The dashboard's public client at the issuer, for a redirect sign-in "
                                              "(Authorization Code with PKCE); null: paste a token instead.")
    scopes: str = Field(description="The space-separated scopes to ask the issuer for.")


class SignInOptionsOut(BaseModel):
    tokens: bool = Field(description="Whether the server needs a bearer token at all (false: --no-auth).")
    oidc: OidcOut | None = Field(description="The OIDC issuer the server trusts; null when none is configured.")


class IdentityOut(BaseModel):
    name: str = Field(description="alice, svc:ci-bot for a service account, or the server's local identity.")
    kind: Literal["user", "service", "local"]
    teams: list[str] = Field(description="The teams the identity has a role in.")
    roles: dict[str, str] = Field(description="Team -> role (viewer, developer, approver, admin).")
    platform_admin: bool
    authenticated: bool = Field(description="False only when the server does not require tokens.")


class PermissionOut(BaseModel):
    allowed: bool
    reason: str | None = Field(description="Why the caller may not, and whom to ask; null when it may.")


class PermissionsOut(BaseModel):
    model: str
    team: str | None = Field(description="The team owning the model, whose roles apply.")
    identity: str
    operations: dict[str, PermissionOut] = Field(description="Operation (traffic.set, rollback, ...) -> verdict.")


# ---------------------------------------------------------------- runs

class StepOut(BaseModel):
    name: str
    kind: str
    position: int
    state: str
    cache_key: str | None
    cache_hit: bool
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    error: str | None
    outputs: dict[str, Any]
    details: dict[str, Any] | None
    upstream: list[str] | None = Field(default=None, description="The steps this one reads from, as the run's "
                                       "spec compiles today; null when it no longer compiles or the step is not in "
                                       "its DAG.")


class TrialOut(BaseModel):
    number: int
    params: dict[str, Any]
    value: float | None = Field(description="The objective; null for a failed or pruned trial.")
    state: str = Field(description="complete, pruned or fail.")
    duration_s: float | None
    intermediate: dict[str, float] = Field(description="Step -> intermediate value reported for pruning.")


class SweepOut(BaseModel):
    run_id: str
    step: str
    metric: str
    direction: Literal["maximize", "minimize"]
    best_trial: int
    best_value: float
    best_params: dict[str, Any]
    trials: list[TrialOut]


class RunLogOut(BaseModel):
    run_id: str
    step: str | None = Field(description="The step whose own output this is; null for the run's whole log.")
    text: str = Field(description="The log's end: its last max_bytes, from a line start when cut; empty when "
                                  "there is no log (a cached step, or one that ran on another machine).")
    size_bytes: int = Field(description="The whole log's size.")
    truncated: bool = Field(description="Whether text is only the log's end.")


class RunOut(BaseModel):
    id: str
    pipeline: str
    status: str = Field(description="pending, queued (waiting for its team's quota), running, succeeded, failed, "
                                    "cancelled, or interrupted (its process is gone)")
    spec_path: str | None
    spec_digest: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    options: dict[str, Any]
    error: str | None
    result: dict[str, Any] | None
    mlflow_run_id: str | None
    model_name: str | None
    model_version: str | None
    started_by: str | None = Field(description="The identity that started the run (and that it acts as).")
    resume_command: str | None
    queue_position: int | None = Field(description="While queued: 1 for the next run of its team to be admitted.")
    owner: str | None = Field(description="The process holding the run's lease: host:pid:token.")
    heartbeat_at: datetime | None = Field(description="The holder's last heartbeat.")
    lease_expires_at: datetime | None = Field(description="When the lease lapses without a heartbeat.")


class RunDetail(RunOut):
    spec_text: str
    steps: list[StepOut]


class RunFromSpec(Body):
    spec: str = Field(description="A pipeline YAML to run; name its data by absolute path or URL (relative paths "
                                  "resolve against the folder the server keeps it in).")
    no_cache: bool = False
    no_deploy: bool = Field(default=False, description="Gate the new version but leave its deployment: section "
                                                       "unapplied (as `shipyard run --no-deploy`).")
    from_step: str | None = Field(default=None, description="Re-run this step and everything after it.")
    base_dir: str | None = Field(default=None, description="The folder the client keeps this spec in: when the "
                                 "server can read it and it holds the spec's file (the same text), the run uses "
                                 "that file, so relative data paths resolve as they do for the client.")


class RunFromRun(Body):
    from_run: str = Field(description="Run again the spec this stored run ran with (its id or a unique prefix).")
    no_cache: bool = False
    no_deploy: bool = Field(default=False, description="Gate the new version but leave its deployment: section "
                                                       "unapplied (as `shipyard run --no-deploy`).")


class ResumeIn(Body):
    spec: str | None = Field(default=None, description="Continue with this (fixed) pipeline YAML instead of the "
                                                       "spec the run started with; completed steps it does not "
                                                       "change are kept. It must describe the same pipeline.")
    base_dir: str | None = Field(default=None, description="The folder the client keeps that spec in (as for "
                                                           "starting a run).")
    no_cache: bool = False
    from_step: str | None = Field(default=None, description="Re-run this step and everything after it.")


class RunAccepted(BaseModel):
    id: str
    status: str
    url: str


class QueueRequestOut(BaseModel):
    cpu: float
    memory: int = Field(description="Bytes.")
    gpus: int
    sweep_trials: int


class QueueEntryOut(BaseModel):
    run_id: str
    pipeline: str
    team: str
    position: int = Field(description="1 for the next run of the team to be admitted.")
    request: QueueRequestOut = Field(description="What the run will hold once admitted, besides one run.")
    enqueued_at: datetime
    reason: str | None = Field(description="Why it waits: the part of the team's quota it does not fit in.")


# ---------------------------------------------------------------- models and versions

class CatalogEntryOut(BaseModel):
    name: str
    team: str | None
    description: str | None
    tags: dict[str, str]
    inputs: list[str]
    output: str | None
    slo: dict[str, Any] | None
    versions: int
    latest_version: str | None
    production_version: str | None
    stable_version: str | None
    states: dict[str, int]
    updated_at: datetime | None
    drift_severity: str | None
    drift_checked_at: datetime | None


class VersionOut(BaseModel):
    model: str
    version: str
    state: str
    approval: str
    approved_by: str | None
    was_production: bool
    synced: bool
    updated_at: datetime
    reason: str | None


class AuditEventOut(BaseModel):
    seq: int
    time: datetime
    actor: str
    action: str
    model: str | None
    version: str | None
    from_state: str | None
    to_state: str | None
    reason: str | None
    details: dict[str, Any] | None
    authenticated: bool | None = Field(description="Whether the actor was an authenticated identity (false for "
                                                   "in-process use without a server; null on events written "
                                                   "before identities existed).")
    prev_hash: str
    hash: str


class VersionDetail(VersionOut):
    history: list[AuditEventOut]
    gated: bool = Field(description="Whether gate results are recorded (GET .../gates answers them; 404 until then).")


class GateResultOut(BaseModel):
    gate: str
    name: str
    passed: bool
    measured: Any = None
    threshold: Any = None
    reason: str
    details: dict[str, Any]


class GateReportOut(BaseModel):
    model: str
    version: str
    passed: bool
    outcome: str
    results: list[GateResultOut]


class CardOut(BaseModel):
    model: str
    version: str
    format: Literal["markdown", "html"]
    text: str
    mlflow_run_id: str
    markdown_sha256: str
    html_sha256: str
    gate_overrides: list[AuditEventOut] = Field(description="The audit events that cleared the version for "
                                                            "production without a passing gate report.")
    shadow_overrides: list[AuditEventOut] = Field(default_factory=list,
                                                  description="The audit events that let the version skip or "
                                                              "shorten its mandatory shadow stage.")


class Comparison(BaseModel):
    model: str
    versions: list[str]
    state: list[str | None]
    metrics: dict[str, list[Any]]
    directions: dict[str, str]
    better: dict[str, str | None]
    slices: dict[str, list[Any]] = Field(description="COLUMN.VALUE.METRIC -> [left, right]: the metrics per slice "
                                                     "of the evaluation's slice columns.")
    params: dict[str, list[Any]]
    data: dict[str, list[Any]]
    inputs: dict[str, list[Any]]


class Lineage(BaseModel):
    model_config = ConfigDict(extra="allow")

    data_source: dict[str, Any]
    ingested: dict[str, Any]
    validation: dict[str, Any]
    split: dict[str, Any]
    pipeline_run: dict[str, Any]
    model: dict[str, Any]


class PromoteIn(Body):
    to: Literal["staging", "production"] = "production"
    reason: str | None = None


class ReasonIn(Body):
    reason: str | None = None


class RequiredReasonIn(Body):
    reason: str = Field(min_length=1, pattern=r"\S", description="Why; blank reasons are refused.")


class OverrideIn(Body):
    reason: str = Field(description="Why production may skip the gates (required; shown on the model card). An "
                                    "empty one is refused (409), as in-process.")


class ShadowOverrideIn(Body):
    reason: str = Field(description="Why live traffic may come sooner (required; shown on the model card).")
    allowed_s: float = Field(default=0.0, description="Seconds of shadow the version must still serve; 0 skips "
                                                      "the stage.")


class ModelRollbackIn(Body):
    reason: str = Field(default="", description="Why (required: an empty or missing one is refused, 409, as "
                                                "in-process).")
    to_version: str | None = Field(default=None, pattern=r"^[0-9]+$")
    force: bool = False


# ---------------------------------------------------------------- deployments

class ArmOut(BaseModel):
    role: Literal["stable", "canary", "ab", "shadow"]
    version: str
    weight: float
    share: float | None = Field(description="Share of live traffic (null for a shadow, which mirrors).")


class LoadFailureOut(BaseModel):
    version: str
    gateway: str
    reason: str
    first_failed_at: datetime
    last_failed_at: datetime
    attempts: int


class DeploymentOut(BaseModel):
    model: str
    revision: int
    arms: list[ArmOut]
    routing_key: str | None
    rollout: dict[str, Any] | None
    updated_at: datetime | None
    updated_by: str | None
    load_failures: list[LoadFailureOut]


class RolloutOut(BaseModel):
    model: str
    active: bool
    rollout: dict[str, Any] | None


class FleetArmOut(BaseModel):
    arm: str | None = Field(description="The role the version holds in the deployment now; null when it left the "
                                        "deployment within the window.")
    version: str
    gateways: int = Field(description="How many gateways published a fresh window of this version.")
    requests: int
    errors: int
    error_rate: float | None = Field(description="errors / requests; null without requests.")
    p99_ms: float | None = Field(description="The fleet's p99 latency of successful requests (read off the summed "
                                             "histograms, at most 10% high); null without requests.")
    window_s: float = Field(description="The length of the windows the gateways measured.")
    published_at: datetime = Field(description="When the newest of those windows was published.")


class FleetOut(BaseModel):
    model: str
    fresh_s: float = Field(description="Windows older than this many seconds are left out (their gateway stopped).")
    arms: list[FleetArmOut] = Field(description="Stable first; empty when no gateway watches the model.")


class DeployIn(Body):
    version: str = Field(pattern=r"^[0-9]+$")
    strategy: Literal["blue-green", "canary", "ab", "shadow", "rollout"] = "blue-green"
    percent: float | None = Field(default=None, ge=0, le=100, description="Traffic for canary/ab, mirrored for shadow.")
    routing_key: str | None = Field(default=None, pattern=ROUTING_KEY.pattern, description="header:NAME or "
                                                                                            "field:NAME (ab).")
    plan: DeploymentSpec | None = Field(default=None, description="The rollout plan, as a pipeline's deployment: "
                                                                  "section (rollout).")
    reason: str | None = None


class ArmIn(Body):
    version: str = Field(pattern=r"^[0-9]+$")
    percent: float | None = Field(default=None, ge=0, le=100)


class DeploymentRollbackIn(Body):
    reason: str = Field(min_length=1)
    force: bool = Field(default=False, description="Return to the previous version even if its inputs no longer "
                                                   "match today's serving contract (or cannot be checked).")


TRAFFIC_CHANGES = ("stable", "canary", "ab", "shadow", "routing_key")


class TrafficIn(Body):
    """Arms to change, at least one (or the routing key); an arm given as null is removed, one left out stays."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [{"required": [name]} for name in TRAFFIC_CHANGES]})

    stable: str = Field(default=None, pattern=r"^[0-9]+$", description="The version to switch the stable arm to.")
    canary: ArmIn | None = None
    ab: ArmIn | None = None
    shadow: ArmIn | None = None
    routing_key: str = Field(default=None, pattern=ROUTING_KEY.pattern)
    reason: str | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> TrafficIn:
        if not self.model_fields_set & set(TRAFFIC_CHANGES):
            raise ValueError(f"nothing to change; give at least one of {', '.join(TRAFFIC_CHANGES)}")
        return self


# ---------------------------------------------------------------- monitoring

class DriftSummary(BaseModel):
    id: str
    model: str
    version: str
    severity: str
    rows: int
    window_start: datetime
    window_end: datetime
    created_at: datetime
    drifted: list[str]


class DriftReportOut(DriftSummary):
    report: dict[str, Any]


class DriftIn(Body):
    version: str | None = Field(default=None, pattern=r"^[0-9]+$")
    window_s: float | None = Field(default=None, gt=0, le=366 * 86400)
    since: datetime | None = None
    until: datetime | None = None


class AlertOut(BaseModel):
    id: str
    model: str
    report_id: str
    target: str
    severity: str
    previous_severity: str | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime


# ---------------------------------------------------------------- teams

Role = Literal["viewer", "developer", "approver", "admin"]
IDENTITY_NAME = r"^(svc:)?[A-Za-z0-9][A-Za-z0-9._@-]{0,120}$"


class TeamOut(BaseModel):
    name: str
    separation_of_duties: bool = Field(description="Whether whoever started a run may not approve the version it "
                                                   "produced.")
    members: dict[str, Role] = Field(description="Identity -> its role in the team.")


class QuotaLimitsOut(BaseModel):
    runs: int | None = Field(description="Runs at once; null: not limited.")
    cpu: float | None
    memory: int | None = Field(description="Bytes.")
    gpus: int | None
    sweep_trials: int | None


class QuotaUsedOut(BaseModel):
    runs: int
    cpu: float
    memory: int = Field(description="Bytes.")
    gpus: int
    sweep_trials: int


class QuotaOut(BaseModel):
    team: str
    source: str | None = Field(description="The quota file; null when no file declares quotas.")
    limits: QuotaLimitsOut
    used: QuotaUsedOut = Field(description="What the team's running runs hold now.")
    queued: int = Field(description="The team's runs waiting for quota.")


class TeamIn(Body):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,120}$")
    separation_of_duties: bool = True


class MemberIn(Body):
    role: Role


class TeamPolicyIn(Body):
    min_shadow_s: float = Field(ge=0, le=MAX_SHADOW_S, allow_inf_nan=False,
                                description="How long each of the team's versions mirrors traffic before it takes "
                                            "live traffic, in seconds (a year at most); 0 leaves only the platform's "
                                            "minimum.")
    reason: str | None = None


class TeamPolicyOut(BaseModel):
    team: str
    min_shadow_s: float = Field(description="The team's own minimum shadow stage (0: none of its own).")
    set_by: str | None = Field(description="Who set it last; null when the team never set one.")
    platform_min_shadow_s: float = Field(description="The platform's minimum (SHIPYARD_MIN_SHADOW).")
    in_force_s: float = Field(description="The larger of the two: what each version must shadow.")


# ---------------------------------------------------------------- tokens

TokenStatus = Literal["active", "expired", "revoked"]
VISIBLE = r"[^\s\x00-\x20\x7f-\xa0]"
"""A character that is neither whitespace nor a control character (by every regex dialect's reading of \\s)."""
TokenScope = Annotated[str, StringConstraints(pattern=rf"^(inference(:{VISIBLE}+)?|metrics)$", max_length=200)]


class TokenOut(BaseModel):
    id: str
    name: str
    identity: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    scopes: list[str] = Field(description="Gateway scopes: inference, inference:MODEL, metrics.")
    status: TokenStatus


class CreatedTokenOut(BaseModel):
    secret: str = Field(description="The token itself: shown in this answer only; the server keeps its hash.")
    info: TokenOut


class TokenIn(Body):
    name: str = Field(min_length=1, max_length=200, pattern=VISIBLE,
                      description="What the token is for, e.g. ci.")
    identity: str | None = Field(default=None, pattern=IDENTITY_NAME,
                                 description="Whose token (default: the caller's); svc:NAME for a service account.")
    expires_in_s: float | None = Field(default=90 * 86400, ge=1, le=100 * 366 * 86400,
                                       description="Lifetime in seconds (at least one); null: never expires.")
    scopes: list[TokenScope] = Field(default_factory=list, max_length=50,
                              description="Gateway scopes: inference (every model), inference:MODEL, metrics.")


# ---------------------------------------------------------------- audit

class ChainOut(BaseModel):
    ok: bool
    events: int
    first_bad_seq: int | None
    problem: str | None
    first_seq: int | None = Field(description="The oldest event held; above 1 once older events were exported "
                                              "and pruned.")
    head_seq: int | None
    anchored: bool = Field(description="Whether signed checkpoints were checked (a signing or public key is "
                                       "configured); without, only the chain itself is.")
    checkpoints: int
    anchored_through: int | None = Field(description="The newest event a valid checkpoint anchors.")
    unanchored_events: int = Field(description="Events after the newest checkpoint: deleting only these would "
                                               "not be detected yet.")
    summary: str


# ---------------------------------------------------------------- cost

class CostLineOut(BaseModel):
    key: str = Field(description="The team, model or run the line adds up ('(no team)' for models no team owns; "
                                 "'serving:MODEL' for a model's served requests when grouped by run).")
    team: str | None = Field(description="The team of every record in the line; null when they differ or none.")
    model: str | None = Field(description="The model of every record in the line; null when they differ.")
    cost: float
    compute_hours: float = Field(description="Hours the line's steps held their resources.")
    requests: int = Field(description="Predictions served.")
    records: int = Field(description="Step and serving-day records added up.")
    serving_hours: float = Field(0.0, description="Gateway hours spent serving the line's models (a gateway "
                                                  "serving several models shares its time equally).")
    per_1000_predictions: float | None = Field(None, description="Serving cost (requests and gateway time) per "
                                                                 "1,000 predictions; null when none were served.")


class CostPage(BaseModel):
    items: list[CostLineOut] = Field(description="Lines, dearest first.")
    total: int = Field(description="How many lines there are in all.")
    offset: int
    limit: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last page.")
    currency: str
    since: datetime
    until: datetime
    by: Literal["team", "model", "run"]
    total_cost: float = Field(description="The cost of every line, not just this page's.")
    unpriced_steps: int = Field(description="Steps of runs recorded without their resources: not priced.")
