/**
 * Every setting the pipeline reads, in one list. `local.settings.sample.json`, the README's settings
 * table and the app settings in `infra/` are checked against this list by a test.
 *
 * Pure: no Azure SDK imports, no I/O. `loadConfig(process.env)` fails fast with every problem named.
 */
import {
  checkModel,
  DEFAULT_IMAGE_MODEL,
  findModel,
  sizeProblem,
  type ImageModelSpec,
  type ImageQualityValue,
  type OutputFormatValue,
} from './model-catalog.js';
import { trustAnchorSettingProblem } from './trust-anchor-setting.js';
import { C2PA_STATUS } from './provenance/c2pa-status.js';
import { parsePool, parseRegions, type PoolMember } from './pool/members.js';
import { eligibleMembers } from './pool/select.js';

export type Where = 'local' | 'azure';

export interface SettingSpec {
  readonly name: string;
  /** One line for the README table. */
  readonly description: string;
  /** Shown in the README; `undefined` means the setting has no default. */
  readonly default?: string;
  /** Where it is set: `local.settings.sample.json`, the Bicep app settings, or both. */
  readonly where: readonly Where[];
  /** Read by the Functions host rather than by the pipeline's code. */
  readonly hostOnly?: boolean;
}

const BOTH: readonly Where[] = ['local', 'azure'];

export const SETTINGS = [
  // Functions host and storage
  {
    name: 'FUNCTIONS_WORKER_RUNTIME',
    description: 'Worker runtime for the Functions host (`node`). Flex Consumption sets it from the plan instead.',
    default: 'node',
    where: ['local'],
    hostOnly: true,
  },
  {
    name: 'AzureWebJobsStorage',
    description:
      'Storage connection string (local: Azurite). On Azure the identity-based `AzureWebJobsStorage__*` settings replace it.',
    where: ['local'],
  },
  {
    name: 'AzureWebJobsStorage__blobServiceUri',
    description: 'Blob endpoint of the storage account, used with a managed identity.',
    where: ['azure'],
  },
  {
    name: 'AzureWebJobsStorage__queueServiceUri',
    description: 'Queue endpoint of the storage account, used with a managed identity.',
    where: ['azure'],
  },
  {
    name: 'AzureWebJobsStorage__credential',
    description: "`managedidentity`: the host reaches storage with the app's identity.",
    where: ['azure'],
    hostOnly: true,
  },
  {
    name: 'AzureWebJobsStorage__clientId',
    description: 'Client id of the user-assigned identity the host uses for storage.',
    where: ['azure'],
    hostOnly: true,
  },
  {
    name: 'AZURE_CLIENT_ID',
    description: 'Client id of the user-assigned managed identity the code uses for storage and Azure OpenAI.',
    where: ['azure'],
  },
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
    description:
      'Application Insights resource to send logs to (an identifier, not a secret: ingestion requires Entra ID).',
    where: ['azure'],
    hostOnly: true,
  },
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
    description: '`ClientId=<id>;Authorization=AAD`: log ingestion with the managed identity.',
    where: ['azure'],
    hostOnly: true,
  },
  // The model
  {
    name: 'AZURE_OPENAI_ENDPOINT',
    description: 'Azure OpenAI endpoint, e.g. `https://<name>.openai.azure.com` (local: the emulator).',
    where: BOTH,
  },
  {
    name: 'AZURE_OPENAI_DEPLOYMENT',
    description: 'Name of the image model deployment.',
    default: DEFAULT_IMAGE_MODEL,
    where: BOTH,
  },
  {
    name: 'IMAGE_MODEL',
    description:
      'The model that deployment serves, by catalog name (`gpt-image-1-mini`, `gpt-image-1.5`, `gpt-image-2`): drops are checked against its limits. A retired, preview or unknown model is refused.',
    default: DEFAULT_IMAGE_MODEL,
    where: BOTH,
  },
  {
    name: 'AZURE_OPENAI_API_VERSION',
    description:
      'Empty: the GA v1 route `{endpoint}/openai/v1/images/edits`. A dated version such as `2025-04-01-preview` selects `{endpoint}/openai/deployments/{deployment}/images/edits?api-version=…`.',
    default: '',
    where: BOTH,
  },
  {
    name: 'AZURE_OPENAI_API_KEY',
    description: 'Key for the local emulator only. When unset, the code uses Entra ID (`DefaultAzureCredential`).',
    where: ['local'],
  },
  {
    name: 'IMAGE_MODEL_RPM',
    description: 'Requests per minute the whole app may send to the deployment (its quota).',
    default: '9',
    where: BOTH,
  },
  {
    name: 'IMAGE_MODEL_POOL',
    description:
      'Empty: one deployment, the settings above. Otherwise a JSON array of the deployments to spread edits over, `[{"endpoint":"https://…","deployment":"…","model":"gpt-image-2","rpm":9,"region":"eastus2"}]` (keyless; `azd up` sets it when AZURE_OPENAI_EXTRA_REGIONS adds regions). Each has its own schedule and circuit breaker; AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_DEPLOYMENT and IMAGE_MODEL_RPM are then unused.',
    where: BOTH,
  },
  {
    name: 'ALLOWED_REGIONS',
    description:
      "Comma-separated regions a drop's image may be sent to (data residency), e.g. `swedencentral,polandcentral`; empty allows every pool member.",
    default: '',
    where: BOTH,
  },
  {
    name: 'IMAGE_MODEL_CONCURRENCY',
    description:
      'Model calls in flight at once per instance (each holds about 3× its image in memory); size it to RPM × edit seconds ÷ 60 ÷ instances.',
    default: '4',
    where: BOTH,
  },
  { name: 'IMAGE_MODEL_TIMEOUT', description: 'Timeout of one model call.', default: '5m', where: BOTH },
  {
    name: 'IMAGE_MODEL_MAX_ATTEMPTS',
    description: 'Model attempts per job for 5xx, resets and timeouts before the job fails (429s are not counted).',
    default: '4',
    where: BOTH,
  },
  // The drop
  {
    name: 'DEFAULT_PROMPT',
    description: 'Prompt for drops with neither a sidecar prompt nor a `prompt` metadata value.',
    default: 'Fill the masked area so that it blends naturally with the rest of the image.',
    where: BOTH,
  },
  {
    name: 'DEFAULT_SIZE',
    description:
      'Output size when the sidecar sets none: `auto`, `1024x1024`, `1024x1536`, `1536x1024`, or another size IMAGE_MODEL accepts.',
    default: 'auto',
    where: BOTH,
  },
  {
    name: 'DEFAULT_QUALITY',
    description: 'Quality when the sidecar sets none: `low`, `medium`, `high`.',
    default: 'medium',
    where: BOTH,
  },
  {
    name: 'DEFAULT_OUTPUT_FORMAT',
    description: 'Output format when the sidecar sets none: `png`, `jpeg`.',
    default: 'png',
    where: BOTH,
  },
  {
    name: 'MAX_IMAGE_BYTES',
    description: 'Largest image or mask accepted, in bytes (the service limit is 50 MB).',
    default: '52428800',
    where: BOTH,
  },
  {
    name: 'MAX_IMAGE_DIMENSION',
    description: 'Largest width or height accepted, in pixels (guards against decompression bombs).',
    default: '8192',
    where: BOTH,
  },
  {
    name: 'DROP_SETTLE',
    description: 'How long a drop with image and mask but no sidecar waits for a late sidecar.',
    default: '5s',
    where: BOTH,
  },
  {
    name: 'DROP_DEADLINE',
    description: 'How long a part waits for its partner before the sweep rejects the drop as incomplete.',
    default: '24h',
    where: BOTH,
  },
  {
    name: 'JOB_RETENTION',
    description:
      'How long a finished job (published, quarantined, rejected, failed) stays in the ledger and the jobs index after its last change; the sweep deletes older ones. Results in `published/` and `quarantine/` stay.',
    default: '365d',
    where: BOTH,
  },
  {
    name: 'SWEEP_SCHEDULE',
    description: 'NCRONTAB schedule of the sweep (six fields, seconds first).',
    default: '0 */1 * * * *',
    where: BOTH,
  },
  // The provenance gate
  {
    name: 'EXTRA_TRUST_ANCHORS',
    description:
      "More C2PA trust anchors besides the Microsoft roots: PEM text, a file path, or a blob in the app's own storage account pinned by hash (`https://…/anchors.pem#sha256=<hex>`). Empty in production.",
    default: '',
    where: BOTH,
  },
  {
    name: 'ALLOWED_SOFTWARE_AGENTS',
    description: 'Comma-separated softwareAgent names that may have made a published image.',
    default: 'Azure OpenAI ImageGen',
    where: BOTH,
  },
  {
    name: 'ALLOWED_SOURCE_TYPES',
    description: 'Comma-separated IPTC digital source types accepted on that action.',
    default: 'trainedAlgorithmicMedia,compositeWithTrainedAlgorithmicMedia',
    where: BOTH,
  },
  {
    name: 'AGENT_SCOPE',
    description:
      '`active`: the agent must be on the active manifest; `chain`: a validated ingredient manifest may carry it.',
    default: 'active',
    where: BOTH,
  },
  {
    name: 'TOLERATED_FAILURES',
    description: 'Comma-separated `code@assertion-label` c2pa failures that do not quarantine.',
    default: `${C2PA_STATUS.claimMalformed}@c2pa.soft-binding`,
    where: BOTH,
  },
  // Full-size results and the publisher's credentials
  {
    name: 'OUTPUT_MODE',
    description:
      'What a drop publishes unless its sidecar says (`"output"`): `composite`, the photo at its own size with the edit composited into the mask and signed by the publisher; `model`, the model\'s output as it is.',
    default: 'composite',
    where: BOTH,
  },
  {
    name: 'STRIP_GPS',
    description:
      "`true`: a composite keeps the photo's EXIF (camera, date) without its GPS position, so a published image does not reveal where it was taken (often someone's home); `false`: the position is kept.",
    default: 'true',
    where: BOTH,
  },
  {
    name: 'PUBLISHER_CERT_CHAIN',
    description:
      "The publisher's certificate chain (leaf first, its root last): PEM text, a file path, or a blob in the app's storage account pinned by hash. Its leaf is the only signer the gate accepts on a composite; its root anchors it.",
    default: '',
    where: BOTH,
  },
  {
    name: 'PUBLISHER_SIGNER',
    description:
      'The Azure Key Vault key that signs composites (`https://<vault>.vault.azure.net/keys/<name>/<version>`; EC P-256 or RSA). Local: unset, and `npm start` generates a local CA and key in its state folder.',
    where: BOTH,
  },
  {
    name: 'SIGNING_TIME_SKEW',
    description: "Clock skew allowed when checking that the signing time lies inside the job's edit window.",
    default: '5m',
    where: BOTH,
  },
  // The web console (shared/adapters/http/sign-in.ts)
  {
    name: 'CONSOLE_TENANT_ID',
    description:
      'Entra ID tenant whose users may sign in to the web console. With CONSOLE_CLIENT_ID empty, the console refuses every request that does not come from this machine.',
    where: ['azure'],
  },
  {
    name: 'CONSOLE_CLIENT_ID',
    description:
      "Client id of the console's app registration (ID tokens, app roles `Console.Submit` and `Console.View`). Empty: the console is off on Azure.",
    where: ['azure'],
  },
  {
    name: 'CONSOLE_MAX_TRANSFERS',
    description:
      'How many console file downloads, and separately how many submissions, one instance serves at once; more are answered 503 with Retry-After.',
    default: '4',
    where: BOTH,
  },
  // Outcome events (see shared/events/)
  {
    name: 'OUTCOME_EVENTS_TOPIC_ENDPOINT',
    description:
      'Event Grid topic (CloudEvents schema) that receives a `com.imagegen-pipeline.job.<state>` event for every job that ends, e.g. `https://<topic>.<region>-1.eventgrid.azure.net/api/events`. Empty: no outcome events. `npm start` runs a local topic when it is empty or local.',
    where: BOTH,
  },
  {
    name: 'OUTCOME_EVENTS_SOURCE',
    description:
      'The CloudEvents `source` of those events, naming this app (required with a topic). Bicep sets `/imagegen-pipeline/<function app>`; `npm start` `/imagegen-pipeline/local`.',
    where: BOTH,
  },
  {
    name: 'OUTCOME_EVENTS_TOPIC_KEY',
    description:
      'Access key of the local topic only (`npm start` sets its well-known key). When unset, events are sent with Entra ID (the identity needs EventGrid Data Sender on the topic).',
    where: ['local'],
  },
  {
    name: 'OUTCOME_EVENT_SUBSCRIBERS',
    description:
      'Local runs: comma-separated webhook URLs the local topic delivers outcome events to (CloudEvents 1.0, after the OPTIONS validation handshake). On Azure, subscribers are Event Grid subscriptions on the topic.',
    default: '',
    where: ['local'],
    hostOnly: true,
  },
  {
    name: 'OUTCOME_EVENT_MARKER_GRACE',
    description:
      "How long an owed-event marker whose job record is not there yet is kept (the job's write follows the marker's); after that the sweep deletes it.",
    default: '15m',
    where: BOTH,
  },
  {
    name: 'OUTCOME_EVENT_MAX_ATTEMPTS',
    description:
      "Sends of one outcome event the topic may refuse before it is dead-lettered (kept with the topic's last answer under `outbox-dead/` in the ledger and listed in the console).",
    default: '10',
    where: BOTH,
  },
  {
    name: 'OUTCOME_EVENT_RETRY_BUDGET',
    description:
      'Time within which one sweep run starts re-sending owed outcome events, after its job sweep (a send under way finishes); what is left waits for the next run.',
    default: '30s',
    where: BOTH,
  },
] as const satisfies readonly SettingSpec[];

export type SettingName = (typeof SETTINGS)[number]['name'];

/** `auto`, a named size or `WIDTHxHEIGHT`, as the configured model accepts (see `sizeProblem`). */
export type ImageSize = string;
export type ImageQuality = ImageQualityValue;
export type OutputFormat = OutputFormatValue;
export type AgentScope = 'active' | 'chain';
export type OutputMode = 'composite' | 'model';

/** Empty (the v1 route) or a dated data-plane version such as 2025-04-01-preview. */
const API_VERSION = /^(\d{4}-\d{2}-\d{2}(-preview)?)?$/;

export type StorageConfig =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; blobServiceUri: string; queueServiceUri: string; clientId: string | undefined };

export interface ToleratedFailure {
  code: string;
  label: string;
}

export interface PipelineConfig {
  storage: StorageConfig;
  model: {
    endpoint: string;
    deployment: string;
    /** Catalog name of the model the deployment serves. */
    imageModel: string;
    /** Empty: the GA v1 route; otherwise the dated deployment route with this api-version. */
    apiVersion: string;
    /** Only for the local emulator; production authenticates with Entra ID. */
    apiKey: string | undefined;
    clientId: string | undefined;
    rpm: number;
    concurrency: number;
    timeoutMs: number;
    maxAttempts: number;
  };
  /** The deployments edits go to (IMAGE_MODEL_POOL, or a pool of one from the settings above). */
  pool: {
    members: PoolMember[];
    /** Normalized region names; empty allows every member. */
    allowedRegions: string[];
  };
  drop: {
    /** The limits IMAGE_MODEL puts on a drop (sizes, formats, mask, prompt). */
    model: ImageModelSpec;
    defaultPrompt: string;
    defaultSize: ImageSize;
    defaultQuality: ImageQuality;
    defaultOutputFormat: OutputFormat;
    maxImageBytes: number;
    maxImageDimension: number;
    settleMs: number;
    deadlineMs: number;
  };
  /** JOB_RETENTION: how long finished job records stay. */
  jobs: { retentionMs: number };
  sweepSchedule: string;
  output: {
    mode: OutputMode;
    /** Remove the GPS position from a composite's EXIF (STRIP_GPS). */
    stripGps: boolean;
    /** PUBLISHER_CERT_CHAIN as set (PEM, path or pinned blob URL); empty: no publisher, composites are not made. */
    publisherChain: string;
    /** A Key Vault key URL; empty with a chain only when the signer is supplied in-process (local mode, tests). */
    publisherKeyId: string;
  };
  gate: {
    extraTrustAnchors: string;
    allowedAgents: string[];
    allowedSourceTypes: string[];
    agentScope: AgentScope;
    tolerated: ToleratedFailure[];
    signingTimeSkewMs: number;
  };
  /** Where outcome events go; `undefined` when OUTCOME_EVENTS_TOPIC_ENDPOINT is empty. */
  events: OutcomeEventsConfig | undefined;
  console: {
    maxTransfers: number;
    /**
     * Entra ID sign-in (CONSOLE_TENANT_ID and CONSOLE_CLIENT_ID); undefined unless both are set, and
     * without it only the local runtime's own user gets in (shared/adapters/http/access.ts).
     */
    signIn: { tenantId: string; clientId: string } | undefined;
  };
}

export interface OutcomeEventsConfig {
  topicEndpoint: string;
  source: string;
  /** Only for the local topic; production sends with Entra ID. */
  topicKey: string | undefined;
  clientId: string | undefined;
  /** A marker with no job record behind it is deleted only when older than this. */
  markerGraceMs: number;
  /** Failed sends before the event is dead-lettered. */
  maxAttempts: number;
  /** Time a sweep run spends on owed events. */
  retryBudgetMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `250ms`, `90s`, `5m`, `24h`, `1d` → milliseconds; `undefined` when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)}m`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

export function settingDefault(name: SettingName): string | undefined {
  const spec: SettingSpec | undefined = SETTINGS.find((s) => s.name === name);
  return spec?.default;
}

function settingsReader(env: Record<string, string | undefined>) {
  const problems: string[] = [];
  const raw = (name: SettingName): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const text = (name: SettingName): string => raw(name) ?? settingDefault(name) ?? '';
  const required = (name: SettingName, hint: string): string => {
    const v = raw(name);
    if (v === undefined) problems.push(`${name} is missing: ${hint}`);
    return v ?? '';
  };
  const int = (name: SettingName, min: number, max: number): number => {
    const v = text(name);
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got "${v}"`);
      return min;
    }
    return n;
  };
  const duration = (name: SettingName, minMs: number): number => {
    const v = text(name);
    const ms = parseDuration(v);
    if (ms === undefined || ms < minMs) {
      problems.push(`${name} must be a duration like 90s, 5m or 24h (at least ${formatDuration(minMs)}), got "${v}"`);
      return minMs;
    }
    return ms;
  };
  const oneOf = <T extends string>(name: SettingName, allowed: readonly T[]): T => {
    const v = text(name);
    if (!(allowed as readonly string[]).includes(v)) {
      problems.push(`${name} must be one of ${allowed.join(', ')}, got "${v}"`);
      return allowed[0] as T;
    }
    return v as T;
  };
  const list = (name: SettingName): string[] =>
    text(name)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const url = (name: SettingName, value: string): string => {
    if (value && !/^https?:\/\/[^\s/]+/.test(value)) problems.push(`${name} must be an http(s) URL, got "${value}"`);
    return value.replace(/\/+$/, '');
  };
  const gate = (): PipelineConfig['gate'] => {
    const tolerated: ToleratedFailure[] = [];
    for (const entry of list('TOLERATED_FAILURES')) {
      const [code, label, extra] = entry.split('@');
      if (!code || !label || extra !== undefined) {
        problems.push(
          `TOLERATED_FAILURES entries must look like code@assertion-label (e.g. claim.malformed@c2pa.soft-binding), got "${entry}"`,
        );
      } else {
        tolerated.push({ code, label });
      }
    }
    const result = {
      extraTrustAnchors: raw('EXTRA_TRUST_ANCHORS') ?? '',
      allowedAgents: list('ALLOWED_SOFTWARE_AGENTS'),
      allowedSourceTypes: list('ALLOWED_SOURCE_TYPES'),
      agentScope: oneOf('AGENT_SCOPE', ['active', 'chain'] as const),
      tolerated,
      signingTimeSkewMs: duration('SIGNING_TIME_SKEW', 0),
    };
    if (result.allowedAgents.length === 0)
      problems.push('ALLOWED_SOFTWARE_AGENTS must name at least one software agent');
    if (result.allowedSourceTypes.length === 0)
      problems.push('ALLOWED_SOURCE_TYPES must name at least one digital source type');
    return result;
  };
  const done = <T>(value: T): T => {
    if (problems.length) throw new ConfigError(problems);
    return value;
  };
  return { problems, raw, text, required, int, duration, oneOf, list, url, gate, done };
}

/** Only the provenance gate's settings (the `verify` command needs no storage or model). */
export function loadGateConfig(env: Record<string, string | undefined>): PipelineConfig['gate'] {
  const r = settingsReader(env);
  const gate = r.gate();
  // No storage account here, so an anchor URL is a problem: only the app reads one, from its own account.
  const anchorProblem = trustAnchorSettingProblem(gate.extraTrustAnchors, undefined);
  if (anchorProblem) r.problems.push(anchorProblem);
  return r.done(gate);
}

/** IMAGE_MODEL's catalog entry; a retired, preview or unknown model is a problem naming the fix. */
function imageModel(name: string, today: Date, problems: string[]): ImageModelSpec {
  const check = checkModel(name, undefined, today);
  if (check.ok) return check.model;
  problems.push(`IMAGE_MODEL: ${check.problem}`);
  return findModel(DEFAULT_IMAGE_MODEL)!;
}

/** The drop defaults, checked against what the model accepts. */
function dropDefaults(r: ReturnType<typeof settingsReader>, model: ImageModelSpec) {
  const defaultSize = r.text('DEFAULT_SIZE');
  const sizeIssue = sizeProblem(model, defaultSize);
  if (sizeIssue) r.problems.push(`DEFAULT_SIZE: ${sizeIssue}`);
  const defaultPrompt = r.text('DEFAULT_PROMPT');
  if (defaultPrompt.length > model.maxPromptChars)
    r.problems.push(`DEFAULT_PROMPT is longer than ${model.maxPromptChars} characters`);
  return {
    defaultPrompt,
    defaultSize,
    defaultQuality: r.oneOf('DEFAULT_QUALITY', model.qualities),
    defaultOutputFormat: r.oneOf('DEFAULT_OUTPUT_FORMAT', model.outputFormats),
  };
}

const KEY_VAULT_KEY =
  /^https:\/\/[a-z0-9-]+\.vault\.(azure\.net|azure\.cn|usgovcloudapi\.net)\/keys\/[\w-]+(\/[\w-]+)?$/i;

function outputSettings(r: ReturnType<typeof settingsReader>): PipelineConfig['output'] {
  const publisherKeyId = r.raw('PUBLISHER_SIGNER') ?? '';
  const publisherChain = r.raw('PUBLISHER_CERT_CHAIN') ?? '';
  if (publisherKeyId && !KEY_VAULT_KEY.test(publisherKeyId)) {
    r.problems.push(
      `PUBLISHER_SIGNER must be a Key Vault key URL such as https://<vault>.vault.azure.net/keys/<name>, got "${publisherKeyId}"`,
    );
  }
  return {
    mode: r.oneOf('OUTPUT_MODE', ['composite', 'model'] as const),
    stripGps: r.oneOf('STRIP_GPS', ['true', 'false'] as const) === 'true',
    publisherChain,
    publisherKeyId,
  };
}

/** The outcome-event topic, when one is configured. */
function outcomeEvents(r: ReturnType<typeof settingsReader>): OutcomeEventsConfig | undefined {
  const endpoint = r.raw('OUTCOME_EVENTS_TOPIC_ENDPOINT');
  if (!endpoint) return undefined;
  const source = r.required(
    'OUTCOME_EVENTS_SOURCE',
    'the CloudEvents source naming this app, e.g. /imagegen-pipeline/<app name>',
  );
  return {
    topicEndpoint: r.url('OUTCOME_EVENTS_TOPIC_ENDPOINT', endpoint),
    source,
    topicKey: r.raw('OUTCOME_EVENTS_TOPIC_KEY'),
    clientId: r.raw('AZURE_CLIENT_ID'),
    markerGraceMs: r.duration('OUTCOME_EVENT_MARKER_GRACE', 1000),
    maxAttempts: r.int('OUTCOME_EVENT_MAX_ATTEMPTS', 1, 1000),
    retryBudgetMs: r.duration('OUTCOME_EVENT_RETRY_BUDGET', 1000),
  };
}

/** Where the app's storage is: a connection string, or service URIs reached with a managed identity. */
function storageSettings(r: ReturnType<typeof settingsReader>): StorageConfig {
  const { problems, raw, url } = r;
  let storage: StorageConfig;
  const connectionString = raw('AzureWebJobsStorage');
  const blobServiceUri = raw('AzureWebJobsStorage__blobServiceUri');
  const queueServiceUri = raw('AzureWebJobsStorage__queueServiceUri');
  if (connectionString) {
    storage = { kind: 'connectionString', connectionString };
  } else if (blobServiceUri || queueServiceUri) {
    if (!blobServiceUri)
      problems.push('AzureWebJobsStorage__blobServiceUri is missing (AzureWebJobsStorage__queueServiceUri is set)');
    if (!queueServiceUri)
      problems.push('AzureWebJobsStorage__queueServiceUri is missing (AzureWebJobsStorage__blobServiceUri is set)');
    storage = {
      kind: 'identity',
      blobServiceUri: url('AzureWebJobsStorage__blobServiceUri', blobServiceUri ?? ''),
      queueServiceUri: url('AzureWebJobsStorage__queueServiceUri', queueServiceUri ?? ''),
      clientId: raw('AzureWebJobsStorage__clientId') ?? raw('AZURE_CLIENT_ID'),
    };
  } else {
    problems.push(
      'AzureWebJobsStorage is missing: set it to a storage connection string (locally "UseDevelopmentStorage=true" for Azurite), ' +
        'or set AzureWebJobsStorage__blobServiceUri and AzureWebJobsStorage__queueServiceUri to use a managed identity',
    );
    storage = { kind: 'connectionString', connectionString: '' };
  }
  return storage;
}

/** The deployments called: IMAGE_MODEL_POOL's, or the one AZURE_OPENAI_* names; one must serve the model. */
function poolSettings(r: ReturnType<typeof settingsReader>, model: ImageModelSpec, today: Date) {
  const { problems, raw, text, required, int, url } = r;
  const poolText = raw('IMAGE_MODEL_POOL');
  const parsedPool = poolText === undefined ? undefined : parsePool(poolText, today);
  problems.push(...(parsedPool?.problems ?? []));
  const first = parsedPool?.members[0];
  const endpoint = first
    ? first.endpoint
    : url(
        'AZURE_OPENAI_ENDPOINT',
        required('AZURE_OPENAI_ENDPOINT', 'the Azure OpenAI endpoint, e.g. https://<resource>.openai.azure.com'),
      );
  const deployment = first ? first.deployment : text('AZURE_OPENAI_DEPLOYMENT');
  const rpm = first ? first.rpm : int('IMAGE_MODEL_RPM', 1, 100_000);
  const pool = {
    members: parsedPool?.members ?? [{ id: deployment, endpoint, deployment, model: model.name, rpm, region: '' }],
    allowedRegions: parseRegions(text('ALLOWED_REGIONS')),
  };
  if (!parsedPool?.problems.length && eligibleMembers(pool.members, { model: model.name, ...pool }).length === 0) {
    problems.push(
      `no deployment can take a drop: none serves IMAGE_MODEL (${model.name})` +
        (pool.allowedRegions.length ? ` in ALLOWED_REGIONS (${pool.allowedRegions.join(', ')})` : '') +
        (poolText === undefined ? '; ALLOWED_REGIONS needs IMAGE_MODEL_POOL, whose entries name their regions' : ''),
    );
  }
  return { endpoint, deployment, rpm, pool };
}

/** The web console's settings; sign-in half set is not a problem here: the console refuses, as with none. */
function consoleSettings(r: ReturnType<typeof settingsReader>): PipelineConfig['console'] {
  const tenantId = r.raw('CONSOLE_TENANT_ID');
  const clientId = r.raw('CONSOLE_CLIENT_ID');
  return {
    maxTransfers: r.int('CONSOLE_MAX_TRANSFERS', 1, 256),
    signIn: tenantId && clientId ? { tenantId, clientId } : undefined,
  };
}

/**
 * Reads every setting from `env`, applying defaults; throws one ConfigError naming every problem.
 * `today` decides whether IMAGE_MODEL is retired.
 */
export function loadConfig(env: Record<string, string | undefined>, today = new Date()): PipelineConfig {
  const reader = settingsReader(env);
  const { problems, raw, text, int, duration, gate, done } = reader;
  const model = imageModel(text('IMAGE_MODEL'), today, problems);
  const apiVersion = text('AZURE_OPENAI_API_VERSION');
  if (!API_VERSION.test(apiVersion)) {
    problems.push(
      `AZURE_OPENAI_API_VERSION must be empty (the GA v1 route) or a dated version such as 2025-04-01-preview, got "${apiVersion}"`,
    );
  }

  const storage = storageSettings(reader);
  const { endpoint, deployment, rpm, pool } = poolSettings(reader, model, today);

  const config: PipelineConfig = {
    storage,
    pool,
    model: {
      endpoint,
      deployment,
      imageModel: model.name,
      apiVersion,
      apiKey: raw('AZURE_OPENAI_API_KEY'),
      clientId: raw('AZURE_CLIENT_ID'),
      rpm,
      concurrency: int('IMAGE_MODEL_CONCURRENCY', 1, 256),
      timeoutMs: duration('IMAGE_MODEL_TIMEOUT', 1000),
      maxAttempts: int('IMAGE_MODEL_MAX_ATTEMPTS', 1, 20),
    },
    drop: {
      model,
      ...dropDefaults(reader, model),
      maxImageBytes: int('MAX_IMAGE_BYTES', 1, 52_428_800),
      maxImageDimension: int('MAX_IMAGE_DIMENSION', 16, 65_535),
      settleMs: duration('DROP_SETTLE', 0),
      deadlineMs: duration('DROP_DEADLINE', 1000),
    },
    jobs: { retentionMs: duration('JOB_RETENTION', 3_600_000) },
    sweepSchedule: text('SWEEP_SCHEDULE'),
    output: outputSettings(reader),
    gate: gate(),
    events: outcomeEvents(reader),
    console: consoleSettings(reader),
  };
  const anchorProblem = trustAnchorSettingProblem(config.gate.extraTrustAnchors, blobEndpointOf(storage));
  if (anchorProblem) problems.push(anchorProblem);
  if (config.sweepSchedule.split(/\s+/).length !== 6)
    problems.push(
      `SWEEP_SCHEDULE must be an NCRONTAB expression with six fields (seconds first), got "${config.sweepSchedule}"`,
    );
  return done(config);
}

/**
 * The blob endpoint of the app's own storage account, as the storage clients will use it: the identity
 * setting's URI, or what a connection string names (Azurite's well-known endpoint for
 * `UseDevelopmentStorage=true`, else `BlobEndpoint`, else `<account>.blob.<suffix>`).
 */
export function blobEndpointOf(storage: StorageConfig): string | undefined {
  if (storage.kind === 'identity') return storage.blobServiceUri || undefined;
  const parts = new Map(
    storage.connectionString
      .split(';')
      .filter((p) => p.includes('='))
      .map((p) => [p.slice(0, p.indexOf('=')).trim().toLowerCase(), p.slice(p.indexOf('=') + 1).trim()] as const),
  );
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true') return 'http://127.0.0.1:10000/devstoreaccount1';
  const account = parts.get('accountname');
  if (parts.get('blobendpoint')) return parts.get('blobendpoint');
  if (!account) return undefined;
  return `${parts.get('defaultendpointsprotocol') ?? 'https'}://${account}.blob.${parts.get('endpointsuffix') ?? 'core.windows.net'}`;
}
