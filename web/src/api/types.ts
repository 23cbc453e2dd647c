/** The API's response models (src/shipyard/server/schemas.py), as the dashboard reads them. */

export interface Page<T> {
  items: T[];
  total: number;
  offset: number;
  limit: number;
  next_offset: number | null;
}

export interface Identity {
  name: string;
  kind: "user" | "service" | "local";
  teams: string[];
  roles: Record<string, string>;
  platform_admin: boolean;
  authenticated: boolean;
}

export interface SignInOptions {
  tokens: boolean;
  /** client_id: the dashboard's public client at the issuer, for a redirect sign-in; null: paste a token. */
  oidc: { issuer: string; audience: string; client_id: string | null; scopes: string } | null;
}

export interface Step {
  name: string;
  kind: string;
  position: number;
  state: string;
  cache_key: string | null;
  cache_hit: boolean;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  duration_s: number | null;
  error: string | null;
  outputs: Record<string, unknown>;
  details: Record<string, unknown> | null;
  /** The steps this one reads from; null when the run's spec no longer compiles. */
  upstream: string[] | null;
}

export interface Trial {
  number: number;
  params: Record<string, unknown>;
  value: number | null;
  state: string;
  duration_s: number | null;
  intermediate: Record<string, number>;
}

/** The end of a run's log, or of one step's own output. */
export interface RunLog {
  run_id: string;
  step: string | null;
  text: string;
  size_bytes: number;
  truncated: boolean;
}

export interface Sweep {
  run_id: string;
  step: string;
  metric: string;
  direction: "maximize" | "minimize";
  best_trial: number;
  best_value: number;
  best_params: Record<string, unknown>;
  trials: Trial[];
}

export interface Run {
  id: string;
  pipeline: string;
  status: string;
  spec_path: string | null;
  spec_digest: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  options: Record<string, unknown>;
  error: string | null;
  result: Record<string, unknown> | null;
  mlflow_run_id: string | null;
  model_name: string | null;
  model_version: string | null;
  started_by: string | null;
  resume_command: string | null;
  queue_position: number | null;
}

export interface RunDetail extends Run {
  spec_text: string;
  steps: Step[];
}

export interface QueueEntry {
  run_id: string;
  pipeline: string;
  team: string;
  position: number;
  request: { cpu: number; memory: number; gpus: number; sweep_trials: number };
  enqueued_at: string;
  reason: string | null;
}

export interface CatalogEntry {
  name: string;
  team: string | null;
  description: string | null;
  tags: Record<string, string>;
  inputs: string[];
  output: string | null;
  slo: Record<string, unknown> | null;
  versions: number;
  latest_version: string | null;
  production_version: string | null;
  stable_version: string | null;
  states: Record<string, number>;
  updated_at: string | null;
  drift_severity: string | null;
  drift_checked_at: string | null;
}

export interface Deployment {
  model: string;
  revision: number;
  arms: { role: string; version: string; weight: number; share: number | null }[];
  routing_key: string | null;
  rollout: Record<string, unknown> | null;
  updated_at: string | null;
  updated_by: string | null;
}

export interface AuditEvent {
  seq: number;
  time: string;
  actor: string;
  action: string;
  model: string | null;
  version: string | null;
  from_state: string | null;
  to_state: string | null;
  reason: string | null;
  details: Record<string, unknown> | null;
  authenticated: boolean | null;
  prev_hash: string;
  hash: string;
}

export interface Chain {
  ok: boolean;
  events: number;
  first_bad_seq: number | null;
  problem: string | null;
  first_seq: number | null;
  head_seq: number | null;
  anchored: boolean;
  checkpoints: number;
  anchored_through: number | null;
  unanchored_events: number;
  summary: string;
}

export interface Team {
  name: string;
  separation_of_duties: boolean;
  members: Record<string, string>;
}

export interface Version {
  model: string;
  version: string;
  state: string;
  approved_by: string | null;
  updated_at: string;
  [key: string]: unknown;
}

export interface VersionDetail extends Version {
  history: AuditEvent[];
  /** Whether gate results are recorded: only then does `.../gates` answer them. */
  gated: boolean;
}

export interface GateResult {
  gate: string;
  name: string;
  passed: boolean;
  measured: unknown;
  threshold: unknown;
  reason: string;
  details: Record<string, unknown>;
}

export interface GateReport {
  model: string;
  version: string;
  passed: boolean;
  outcome: string;
  results: GateResult[];
}

export interface Card {
  model: string;
  version: string;
  format: "markdown" | "html";
  text: string;
  mlflow_run_id: string;
  markdown_sha256: string;
  html_sha256: string;
  gate_overrides: AuditEvent[];
}

export interface Comparison {
  model: string;
  versions: string[];
  state: (string | null)[];
  metrics: Record<string, unknown[]>;
  directions: Record<string, string>;
  better: Record<string, string | null>;
  slices: Record<string, unknown[]>;
  params: Record<string, unknown[]>;
  data: Record<string, unknown[]>;
  inputs: Record<string, unknown[]>;
}

export interface Lineage {
  data_source: Record<string, unknown>;
  ingested: { digest?: string | null };
  validation: Record<string, unknown>;
  split: { train_digest?: string | null; holdout_digest?: string | null };
  pipeline_run: { id: string; status: string; spec_path: string | null; mlflow_run_id: string | null };
  model: { name: string; version: string; sha256: string | null; uri: string };
}

export interface Permissions {
  model: string;
  team: string | null;
  identity: string;
  operations: Record<string, { allowed: boolean; reason: string | null }>;
}

export interface Arm {
  role: string;
  version: string;
  weight: number;
  share: number | null;
}

export interface Rollout {
  version: string;
  phase: string;
  step?: number;
  phase_started_at?: number;
  history?: { phase: string; step: number; at: number; reason?: string }[];
  plan?: {
    shadow?: { min_dwell_s?: number } | null;
    canary?: { steps?: number[]; min_dwell_s?: number; min_requests?: number };
    slo?: { max_error_rate?: number; max_p99_latency_ms?: number | null; max_prediction_shift?: number | null; min_requests?: number };
  };
  reason?: string;
  [key: string]: unknown;
}

/** One arm's live service levels, added up over the fleet's gateways. */
export interface FleetArm {
  arm: string | null;
  version: string;
  gateways: number;
  requests: number;
  errors: number;
  error_rate: number | null;
  p99_ms: number | null;
  window_s: number;
  published_at: string;
}

export interface Fleet {
  model: string;
  fresh_s: number;
  arms: FleetArm[];
}

export interface DeploymentDetail {
  model: string;
  revision: number;
  arms: Arm[];
  routing_key: string | null;
  rollout: Rollout | null;
  updated_at: string | null;
  updated_by: string | null;
  load_failures: { version: string; error: string }[];
}

export interface DriftSummary {
  id: string;
  model: string;
  version: string;
  severity: string;
  rows: number;
  window_start: string;
  window_end: string;
  created_at: string;
  drifted: string[];
}

export interface FeatureDrift {
  kind: "numeric" | "categorical";
  severity: string;
  method: string;
  rows: number;
  null_rate: number;
  reference_null_rate: number;
  psi?: number | null;
  wasserstein?: number;
  jensen_shannon?: number | null;
  p_value?: number;
  cuts?: number[];
  reference_bins?: number[];
  current_bins?: number[];
  categories?: string[];
  reference_counts?: number[];
  current_counts?: number[];
  note?: string;
}

export interface DriftReport extends DriftSummary {
  report: {
    severity: string;
    drifted_share: number;
    features: Record<string, FeatureDrift>;
    prediction: FeatureDrift | null;
    missing_columns: string[];
    [key: string]: unknown;
  };
}

export interface TeamQuota {
  team: string;
  source: string | null;
  limits: { runs: number | null; cpu: number | null; memory: number | null; gpus: number | null; sweep_trials: number | null };
  used: { runs: number; cpu: number; memory: number; gpus: number; sweep_trials: number };
  queued: number;
}
