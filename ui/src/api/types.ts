import type { Localized } from '../i18n/index.tsx';

/** ProblemError is one entry of a problem's errors[]: a field error or a formula error. */
export interface ProblemError {
  pointer?: string;
  code?: string;
  message: string;
  line?: number;
  column?: number;
  snippet?: string;
  hint?: string;
}

/** Problem is an RFC 9457 problem+json body (docs/api.md "Errors"). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: ProblemError[];
  [extra: string]: unknown;
}

export interface Me {
  id: string;
  username: string;
  displayName?: string;
  roles: string[];
  teams?: unknown[];
}

export interface LoginResponse {
  token: string;
  expiresAt?: string;
  user?: Me;
}

export type ObjectStatus = 'draft' | 'published';

export interface ObjectSummary {
  key: string;
  label: Localized;
  status: ObjectStatus;
  version: number;
  publishedVersion?: number | null;
  updatedAt?: string;
}

/** JSONSchema is the subset of JSON Schema the UI reads; the rest passes through to RJSF. */
export interface JSONSchema {
  type?: string | string[];
  format?: string;
  title?: string;
  description?: string;
  enum?: unknown[];
  oneOf?: JSONSchema[];
  const?: unknown;
  readOnly?: boolean;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  items?: JSONSchema;
  minimum?: number;
  maximum?: number;
  [k: string]: unknown;
}

/** FieldConfig is definition.fields[name]: presentation and rules of one field. */
export interface FieldConfig {
  label?: Localized;
  placeholder?: Localized;
  help?: Localized;
  description?: Localized;
  widget?: string;
  computed?: string;
  visibleIf?: string;
  requiredIf?: string;
  /** Optional display labels of enum values (not yet in the API contract; see docs/ui.md). */
  enumLabels?: Record<string, Localized>;
  [k: string]: unknown;
}

export interface ObjectDefinition {
  key: string;
  label: Localized;
  titleField?: string;
  schema: JSONSchema;
  fields?: Record<string, FieldConfig>;
  order?: string[];
  [k: string]: unknown;
}

export interface ObjectEnvelope {
  key: string;
  version: number;
  status: ObjectStatus;
  publishedVersion?: number | null;
  definition: ObjectDefinition;
  updatedAt?: string;
  updatedBy?: string;
}

export interface RecordDoc {
  id: string;
  object: string;
  version: number;
  objectVersion?: number;
  owner?: string;
  createdAt?: string;
  updatedAt?: string;
  createdBy?: string;
  updatedBy?: string;
  data: Record<string, unknown>;
  meta?: RecordMeta;
}

export interface Page<T> {
  items: T[];
  next?: string | null;
}

export type RuleKind = 'computed' | 'visibleIf' | 'requiredIf' | 'expression' | 'enterIf' | 'match';

export interface RuleCheckResult {
  ok: boolean;
  type?: string;
  value?: unknown;
  reads?: Record<string, unknown>;
  errors?: ProblemError[];
}

// ---- Pipelines, metrics and progress (docs/api.md "Pipelines" and "Metrics, progress and reconcile").

/** ConfigSummary is one row of a configuration kind's list (objects, pipelines, metrics). */
export interface ConfigSummary {
  key: string;
  label: Localized;
  status: ObjectStatus;
  version: number;
  publishedVersion?: number | null;
  updatedAt?: string;
  /** object is present on pipelines and metrics lists when the server includes it. */
  object?: string;
}

/** ConfigEnvelope is GET /{kind}/{key}: the working copy or the published version of a definition. */
export interface ConfigEnvelope<D> {
  key: string;
  version: number;
  status: ObjectStatus;
  publishedVersion?: number | null;
  definition: D;
  updatedAt?: string;
  updatedBy?: string;
}

export interface StageDef {
  key: string;
  label?: Localized;
  probability?: number;
  slaDays?: number;
  requiredFields?: string[];
  enterIf?: { expression: string; message?: Localized };
  terminal?: 'won' | 'lost';
  [k: string]: unknown;
}

export interface PipelineDefinition {
  key: string;
  label: Localized;
  object: string;
  stageField?: string;
  allowBackward?: boolean;
  match?: string;
  stages: StageDef[];
  [k: string]: unknown;
}

export interface StageVisit {
  stage: string;
  enteredAt: string;
  exitedAt?: string | null;
  by?: string;
  note?: string;
}

/** RecordMeta is what the server keeps beside a record's data (stage history, governing pipeline). */
export interface RecordMeta {
  pipeline?: string | { key: string; version?: number };
  stageHistory?: StageVisit[];
  [k: string]: unknown;
}

export interface MetricDefinition {
  key: string;
  label: Localized;
  object: string;
  where?: string;
  value?: string;
  dateField?: string;
  ownerField?: string;
  [k: string]: unknown;
}

export type MetricUnit = 'money' | 'number' | 'count' | 'percent';

export interface ProgressNode {
  kind: 'company' | 'team' | 'user';
  id: string;
  name?: string;
}

export interface ProgressRow {
  node: ProgressNode;
  target: number | null;
  /** null only for a derived metric whose formula has no value (e.g. a division by zero). */
  actual: number | null;
  attainment: number | null;
  expected: number | null;
  pacing: number | null;
  forecast?: { runRate?: number | null; weighted?: number | null } | null;
  gap: number | null;
}

export interface PeriodInfo {
  key: string;
  start: string;
  end: string;
  elapsed?: number;
}

export interface ProgressResponse {
  /** scale is sent by the server though docs/api.md does not name it: raw values per unit (money 100). */
  metric: { key: string; label: Localized; unit: MetricUnit; scale?: number };
  period: PeriodInfo;
  node: ProgressRow;
  children: ProgressRow[];
}

/** ProgressRecord is one record behind an actual, as the UI uses it (see normalizeProgressRecord). */
export interface ProgressRecord {
  record: string;
  object: string;
  title?: string;
  owner?: string;
  day?: string;
  value: number;
  share?: number;
}

/**
 * ProgressRecordWire is an item of GET /progress/records as sent: docs/api.md names
 * {record, title, value, share}; the server currently sends {recordId, sum, count, split}.
 */
export interface ProgressRecordWire {
  record?: string;
  recordId?: string;
  object: string;
  title?: string;
  owner?: string;
  day?: string;
  value?: number;
  sum?: number;
  count?: number;
  share?: number;
  split?: boolean;
}

export interface FunnelStage {
  stage: string;
  label?: Localized;
  terminal?: 'won' | 'lost' | null | boolean | string;
  entered: number;
  converted: number;
  conversion: number | null;
  exited?: number;
  avgDays: number | null;
  medianDays: number | null;
}

export interface FunnelResponse {
  pipeline: string;
  version?: number;
  period: PeriodInfo;
  stages: FunnelStage[];
}

export interface StuckItem {
  id: string;
  title?: string;
  owner?: string;
  stage: string;
  enteredAt: string;
  days: number;
  slaDays?: number | null;
}

// ---- Target plans (issue 4; engine/api/targets.go). Amounts are integers in the metric's
// stored unit (money: 分, scale 100).

export type TargetLevel = 'floor' | 'target' | 'stretch';

/** TargetPlanDefinition is schemas/target_plan.schema.json; parts the UI does not edit pass through. */
export interface TargetPlanDefinition {
  key?: string;
  label?: Partial<Record<string, string>>;
  metric?: string;
  fiscalYear?: number;
  amounts?: Partial<Record<TargetLevel, number>>;
  granularity?: number;
  seasonality?: { source?: 'weights' | 'lastYear' | 'equal'; weights?: number[] };
  allocation?: { formula?: string; levels?: { depth: number; formula: string }[]; historyPeriod?: string; equalSplitOnZero?: boolean };
  attributes?: string[];
  nodes?: Record<string, TargetNodeSettings>;
  dimension?: TargetDimension;
  [k: string]: unknown;
}

/** TargetDimension splits every node's target along a record field (product line, channel, key account). */
export interface TargetDimension {
  field: string;
  weightsFrom?: 'fixed' | 'history';
  values: { key: string; label?: Partial<Record<string, string>>; weight?: number }[];
}

export interface TargetNodeSettings {
  inputs?: Record<string, number>;
  floor?: number;
  cap?: number;
  locks?: Partial<Record<TargetLevel, number>>;
}

/** TargetPlan is GET /target-plans/{key} (the working copy) and a row of the list. */
export interface TargetPlan {
  key: string;
  label?: Localized;
  version: number;
  status: 'draft' | 'published';
  publishedVersion: number;
  definition: TargetPlanDefinition;
  updatedAt?: string;
  updatedBy?: string;
}

export interface TargetExplain {
  rule: 'root' | 'formula' | 'equal' | 'locked' | 'floor' | 'cap' | 'frozen' | string;
  formula?: string;
  inputs?: Record<string, { value: number; share: number }>;
  weight: number;
  share: number;
  pool: number;
  raw: number;
  rounded: number;
  frozen?: number;
}

export interface TargetRow {
  key: string;
  name: string;
  kind: 'company' | 'team' | 'user';
  depth: number;
  parent?: string;
  amount: number;
  annual: number;
  months: number[];
  explain: TargetExplain;
  lock?: number;
  floor?: number;
  cap?: number;
  inputs?: Record<string, number>;
  dims?: { key: string; amount: number }[];
  proposal?: TargetProposal | null;
  actual?: number;
  attainment?: number;
  hasChildren: boolean;
}

export interface TargetTree {
  plan: string;
  version: number;
  level: TargetLevel;
  levels: TargetLevel[];
  metric: string;
  unit: MetricUnit;
  scale: number;
  period: { key: string; start: string; end: string };
  node: TargetRow;
  children: TargetRow[];
  path: { key: string; name: string }[];
}

export interface TargetNodeChange {
  key: string;
  name: string;
  old: number;
  new: number;
  delta: number;
}

/** TargetOutcome answers locks, accepts and re-spreads (dryRun: nothing saved). */
export interface TargetOutcome {
  dryRun: boolean;
  changes: Partial<Record<TargetLevel, TargetNodeChange[]>>;
  totals: Partial<Record<TargetLevel, number>>;
  plan?: TargetPlan;
}

/** TargetProposal is a manager's bottom-up proposal for a node (自下而上); allocated and gap only in GET …/proposals. */
export interface TargetProposal {
  node: string;
  amounts: Partial<Record<TargetLevel, number>>;
  by: string;
  at: string;
  note?: string;
  status: 'open' | 'accepted' | string;
  allocated?: Partial<Record<TargetLevel, number>>;
  gap?: Partial<Record<TargetLevel, number>>;
}

export interface TargetVersion {
  plan: string;
  version: number;
  author: string;
  at: string;
  reason: string;
  totals: Partial<Record<TargetLevel, number>>;
}

export interface TargetDiff {
  definition: { path: string; old: unknown; new: unknown }[];
  nodes: Partial<Record<TargetLevel, TargetNodeChange[]>>;
}

export interface TargetSuggestion {
  metric: string;
  fiscalYear: number;
  history: { fiscalYear: number; actual: number; months: number[] }[];
  trendGrowth: number | null;
  marketGrowth: number | null;
  growth: number;
  suggested: number;
  seasonality: number[];
  reasoning: { 'zh-CN': string; en: string }[];
  granularity: number;
  hasHistory: boolean;
  lastYearTotal: number;
}

/** OrgTeam is a team of GET /teams (any signed-in user may read the org tree). */
export interface OrgTeam {
  id: string;
  name: string;
  parentId?: string;
  managers?: string[];
}

/** OrgUser is a user of GET /users (admins only). */
export interface OrgUser {
  id: string;
  username: string;
  displayName?: string;
}

// ---- Templates (issue 5): the gallery, install (apply), diff and export.

/** TemplateMetadata names a template bundle. */
export interface TemplateMetadata {
  name: string;
  industry?: string;
  locale?: string;
  version: string;
  label: Localized;
  description?: Localized;
}

/** TemplateSummary is one card of the gallery (GET /templates). */
export interface TemplateSummary {
  name: string;
  metadata: TemplateMetadata;
  contains: { objects: string[]; pipelines: string[]; metrics: string[]; targetPlans: string[] };
}

/** TemplatePlanSkeleton is a target plan without its year and node settings. */
export interface TemplatePlanSkeleton {
  key: string;
  yearOffset?: number;
  definition: Record<string, unknown>;
}

/** TemplateBundle is a whole bundle (GET /templates/{name}, GET /templates-export). */
export interface TemplateBundle {
  bundle: string;
  metadata: TemplateMetadata;
  objects?: ObjectDefinition[];
  pipelines?: PipelineDefinition[];
  metrics?: MetricDefinition[];
  targetPlans?: TemplatePlanSkeleton[];
  [section: string]: unknown;
}

export type TemplateKind = 'object' | 'pipeline' | 'metric' | 'target_plan';
export type TemplateAction = 'create' | 'upgrade' | 'unchanged' | 'conflict' | 'overwrite';

/** TemplateChange is what an install did (or would do) to one definition. */
export interface TemplateChange {
  kind: TemplateKind | string;
  key: string;
  action: TemplateAction;
  reason?: string;
}

/** TemplateReport answers POST /templates/apply. */
export interface TemplateReport {
  template: string;
  version: string;
  tenant: string;
  dryRun: boolean;
  conflicts: number;
  changes: TemplateChange[];
}

/** TemplateApplyRequest is the body of apply and diff: a built-in template by name, or a bundle. */
export interface TemplateApplyRequest {
  name?: string;
  bundle?: unknown;
  dryRun?: boolean;
  force?: boolean;
  publishPlans?: boolean;
}

/** TemplateDiffEntry is one definition that differs between a bundle and the tenant. */
export interface TemplateDiffEntry {
  kind: TemplateKind | string;
  key: string;
  /** added: in the bundle only; removed: in the tenant only; changed: in both, different. */
  status: 'added' | 'removed' | 'changed';
  changes?: { path: string; old: unknown; new: unknown }[];
}

// Scorecards (考核方案) and the leaderboard (排行榜): engine/scorecard, docs/api.md.

export type ScorecardItemType = 'attainment' | 'rating' | 'expr';

export interface ScorecardItemDef {
  key: string;
  label?: Localized;
  weight: number;
  cap?: number;
  type: ScorecardItemType;
  metric?: string;
  level?: 'floor' | 'target' | 'stretch';
  object?: string;
  field?: string;
  userField?: string;
  periodField?: string;
  scale?: { min: number; max: number };
  formula?: string;
}

export interface ScorecardGrade {
  grade: string;
  min: number;
  label?: Localized;
}

export interface ScorecardTitleDef {
  key: string;
  title: Localized;
  top: number;
  minScore?: number;
}

export interface ScorecardDefinition {
  key?: string;
  label?: Localized;
  description?: Localized;
  grain?: 'week' | 'month' | 'quarter' | 'year';
  population?: { roles?: string[]; teams?: string[] };
  items?: ScorecardItemDef[];
  grades?: ScorecardGrade[];
  fallbackGrade?: string;
  recognition?: ScorecardTitleDef[];
  [k: string]: unknown;
}

export interface ScorecardItemScore {
  key: string;
  type: ScorecardItemType;
  weight: number;
  cap: number;
  score: number | null;
  raw?: number;
  capped?: boolean;
  share: number | null;
  reason?: 'no_target' | 'no_value' | 'no_rating' | 'input_missing' | 'formula_error';
  message?: string;
  actual?: number;
  target?: number;
  attainment?: number;
  rating?: number;
  ratings?: number;
  inputs?: Record<string, number | null>;
}

export interface ScorecardTitleRef {
  key: string;
  title: Localized;
}

export interface ScorecardRow {
  user: { id: string; name: string };
  rank: number | null;
  overallRank?: number;
  score: number | null;
  grade: string | null;
  titles: ScorecardTitleRef[];
  detail: boolean;
  items?: ScorecardItemScore[];
  explain?: string;
}

export interface ScorecardItemInfo {
  key: string;
  label?: Localized;
  type: ScorecardItemType;
  weight: number;
  cap: number;
  metric?: string;
  level?: string;
  unit?: MetricUnit;
  scale?: number;
  ratingScale?: { min: number; max: number };
  formula?: string;
}

export interface ScorecardResults {
  scorecard: {
    key: string;
    version: number;
    label?: Localized;
    grain: string;
    items: ScorecardItemInfo[];
    grades: ScorecardGrade[];
    fallbackGrade?: string;
    recognition: ScorecardTitleDef[];
  };
  period: { key: string; start: string; end: string; closed: boolean };
  node: { kind: 'company' | 'team' | 'user'; id?: string; name: string };
  ranking: 'competition';
  awarded: { at: string; by: string; version: number } | null;
  provisionalTitles: boolean;
  rows: ScorecardRow[];
}

export interface ScorecardAward {
  scorecard: string;
  version: number;
  period: string;
  at: string;
  by: string;
  titles: ScorecardTitleDef[];
  winners: { user: { id: string; name: string }; rank: number; score: number; grade: string | null; titles: ScorecardTitleRef[] }[];
}

// ---- Commission (docs/api.md "Commission") ----

/** CommissionText is a plan's bilingual name. */
export type CommissionText = Partial<Record<'zh-CN' | 'en', string>>;

export type CommissionRateKind = 'constant' | 'tier' | 'marginal' | 'expr';
export type CommissionBasis = 'quota' | 'amount' | 'line';

export interface CommissionRate {
  kind: CommissionRateKind;
  value?: number;
  /** [threshold, rate] rows, thresholds strictly ascending. */
  table?: [number, number][];
  on?: string;
  basis?: CommissionBasis;
  expr?: string;
}

export interface CommissionRule {
  key: string;
  name?: CommissionText;
  when?: string;
  rate: CommissionRate;
}

export interface CommissionSpif {
  key: string;
  name?: CommissionText;
  when: string;
  amount: number;
}

export interface CommissionQuotaBonus {
  key: string;
  name?: CommissionText;
  threshold: number;
  amount: number;
}

export interface CommissionTeamBonus {
  key: string;
  name?: CommissionText;
  threshold: number;
  amount?: number;
  rate?: number;
}

export interface CommissionPlanDefinition {
  key?: string;
  name: CommissionText;
  description?: CommissionText;
  currency?: string;
  grain?: 'month' | 'quarter' | 'year';
  quotaGrain?: 'month' | 'quarter' | 'year';
  quota: { metric: string; level?: TargetLevel };
  assign?: { roles?: string[]; teams?: string[]; users?: string[] };
  effectiveFrom?: string;
  effectiveTo?: string | null;
  credits: { object: string; when?: string; base: string; dateField: string; ownerField?: string; splitField?: string };
  rules?: CommissionRule[];
  caps?: { perLine?: number; perPeriod?: number };
  spifs?: CommissionSpif[];
  quotaBonuses?: CommissionQuotaBonus[];
  teamBonuses?: CommissionTeamBonus[];
  clawback?: { when: string; withinDays: number; dateField: string };
}

/** CommissionPlanCheck answers POST /commission-plans/{key}/check. */
export interface CommissionPlanCheck {
  ok: boolean;
  errors: ProblemError[];
}

export interface ConfigVersionInfo {
  key: string;
  version: number;
  publishedAt: string;
  publishedBy?: string;
}

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface Job {
  id: string;
  kind: string;
  subject?: string;
  status: JobStatus;
  done: number;
  total: number;
  percent: number;
  error?: { code: string; message: string } | null;
  createdBy?: string;
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface CommissionRepError {
  rep: string;
  code: string;
  message: string;
}

export interface CommissionRunReport {
  plan: string;
  version: number;
  period: string;
  reps: number;
  records: number;
  written: number;
  unchanged: number;
  locked: number;
  adjusted: number;
  total: number;
  errors: CommissionRepError[] | null;
}

export interface CommissionRun extends Job {
  report?: CommissionRunReport | null;
}

export type StatementStatus = 'draft' | 'approved' | 'paid';
export type StatementLineKind = 'rate' | 'cap_line' | 'cap_period' | 'spif' | 'quota_bonus' | 'team_bonus' | 'clawback' | 'adjustment';

export interface StatementBand {
  index: number;
  threshold: number;
  from: number;
  to?: number | null;
  until?: number | null;
}

export interface StatementExplanation {
  formula?: string;
  attainment?: number;
  quota?: number;
  cumBefore?: number;
  sharePct?: number;
  recordBase?: number;
  cap?: number;
  earned?: number;
  threshold?: number;
  team?: string;
  before?: number;
  reversedAt?: string;
  days?: number;
  note?: string;
  value?: number;
  paid?: number;
}

export interface StatementLine {
  id: string;
  rule: string;
  kind: StatementLineKind;
  record?: string;
  object?: string;
  creditDate?: string;
  base: number;
  rate?: number | null;
  band?: StatementBand | null;
  amount: number;
  explanation: StatementExplanation;
  text?: CommissionText;
  source?: { period?: string; rule?: string; record?: string; dispute?: string } | null;
}

export interface StatementEvent {
  at: string;
  by: string;
  action: string;
  from?: string;
  to?: string;
  note?: string;
}

export interface Statement {
  id: string;
  plan: string;
  planVersion: number;
  period: string;
  periodStart: string;
  periodEnd: string;
  rep: string;
  repName: string;
  status: StatementStatus;
  currency: string;
  lines: StatementLine[];
  total: number;
  attainment: number | null;
  target: number | null;
  history: StatementEvent[];
  computedAt?: string;
  computed: boolean;
  version: number;
}

export interface SimulationRow {
  rep: string;
  name: string;
  old: number;
  new: number;
  delta: number;
  lines: number;
}

export interface Simulation {
  plan: string;
  period: string;
  publishedVersion: number;
  old: number;
  new: number;
  delta: number;
  reps: SimulationRow[];
  errors: (CommissionRepError & { version: string })[] | null;
}

export type DisputeStatus = 'open' | 'accepted' | 'rejected';

export interface DisputeEvent {
  at: string;
  by: string;
  action: string;
  note?: string;
  amount?: number | null;
}

export interface Dispute {
  id: string;
  statement: string;
  line: string;
  plan: string;
  period: string;
  rep: string;
  record?: string;
  lineAmount: number;
  status: DisputeStatus;
  comment: string;
  decision?: string;
  amount?: number | null;
  reason?: string;
  adjustment?: { statement: string; line: string } | null;
  history: DisputeEvent[];
  createdBy: string;
  createdAt: string;
  version: number;
}

// Reports (engine/reports, docs/api.md "Reports").
export type ReportColumnType = 'string' | 'integer' | 'number' | 'money' | 'percent' | 'date' | 'datetime' | 'boolean';
export interface ReportColumn {
  key: string;
  label: Record<string, string>;
  type: ReportColumnType;
  role: 'dimension' | 'measure';
}
export interface ReportChartHint {
  type: 'table' | 'bar' | 'line' | 'funnel' | 'pie' | 'gauge';
  x?: string;
  y?: string[];
  series?: string;
}
export interface ReportResult {
  report: { key: string; label: Record<string, string>; version?: number; builtin?: boolean; draft?: boolean };
  period?: { key: string; start: string; end: string };
  node?: string;
  columns: ReportColumn[];
  rows: Record<string, unknown>[];
  totals: Record<string, unknown>;
  chart: ReportChartHint;
  scanned: number;
  groups: number;
  extra?: Record<string, unknown>;
}
export interface ReportBuiltin {
  name: string;
  label: Record<string, string>;
  params: string[];
  chart: string;
}
export interface ReportReview {
  id: string;
  metric: string;
  period: string;
  node: string;
  nodeName: string;
  at: string;
  by: string;
  closed: boolean;
  result?: {
    plan: { node: { name: string }; target: number | null; actual: number | null; attainment: number | null; gap: number | null };
    byChild: ReportResult;
    byDimension?: ReportResult;
    byStage?: ReportResult;
    pipeline?: string;
    metric: { key: string; unit: string; scale: number };
  };
}
