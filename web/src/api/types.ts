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
  oidc: { issuer: string; audience: string } | null;
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

export interface TeamQuota {
  team: string;
  source: string | null;
  limits: { runs: number | null; cpu: number | null; memory: number | null; gpus: number | null; sweep_trials: number | null };
  used: { runs: number; cpu: number; memory: number; gpus: number; sweep_trials: number };
  queued: number;
}
