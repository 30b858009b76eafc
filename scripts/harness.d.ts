/** The token `${{ github.token }}` resolves to unless a run gives its own. */
export declare const DEFAULT_GITHUB_TOKEN: string

export interface RunActionOptions {
  /** Releases the local REST API stand-in lists for the repository (default none). */
  releases?: Array<Record<string, unknown>>
  /** Action inputs by their action.yml name (`build-args`, not `BUILD_ARGS`); an undeclared name throws. */
  inputs?: Record<string, string | number | boolean | undefined>
  /** Working directory of both steps and GITHUB_WORKSPACE; default process.cwd(). */
  cwd?: string
  /** GITHUB_EVENT_NAME; default 'push'. */
  eventName?: string
  /** Event payload; `repository` and `sender` are filled in unless given. */
  event?: Record<string, unknown>
  /** GITHUB_REF; GITHUB_REF_NAME and GITHUB_REF_TYPE follow from it. Default refs/heads/main. */
  ref?: string
  sha?: string
  /** owner/name; default octo-org/octo-repo. */
  repository?: string
  /** GITHUB_ACTOR; default the repository owner. */
  actor?: string
  runId?: string
  runAttempt?: string
  workflow?: string
  job?: string
  /** What `${{ github.token }}` defaults resolve to; default DEFAULT_GITHUB_TOKEN. */
  githubToken?: string
  /**
   * Applied last, over the runner variables. `undefined` removes a variable. Of the parent's
   * environment only PATH, HOME, DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, SSL_CERT_FILE,
   * TMPDIR, LANG and USER are passed; DOCKER_CONFIG defaults to an empty directory of the run.
   */
  env?: Record<string, string | undefined>
  /** Script to run instead of the repository's dist/index.js. */
  entry?: string
  /** Node binary; default the one running the harness. */
  node?: string
  /** Parent of the per-run temp dir; default os.tmpdir(). */
  workDir?: string
  /** Per step; after it the step's process group gets SIGTERM, then SIGKILL. Default 10 minutes. */
  timeoutMs?: number
  /** Cancel main after this long, as the runner does (SIGINT, SIGTERM, SIGKILL to the step process only); post still runs. */
  killAfterMs?: number
  skipPost?: boolean
  /** Stream both steps' output to stderr; default true when MR_E2E_VERBOSE=1. */
  verbose?: boolean
}

export interface StepResult {
  /** null when the process ended by a signal. */
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
  /** Cancelled through killAfterMs. */
  killed: boolean
  durationMs: number
}

export interface StepFiles {
  output: string
  state: string
  summary: string
}

export interface RunResult {
  main: StepResult
  post: StepResult | undefined
  /** Parsed from main's GITHUB_OUTPUT. */
  outputs: Record<string, string>
  /** Parsed from main's GITHUB_STATE; post received each as STATE_<name>. */
  state: Record<string, string>
  /** Main's step summary followed by post's. */
  summary: string
  /** Values either step registered with `::add-mask::`. */
  masks: string[]
  /** The environment main ran with (post: the same plus STATE_*, GITHUB_ENV and GITHUB_PATH additions). */
  env: Record<string, string>
  /** The per-run temp dir holding the files below, RUNNER_TEMP and RUNNER_TOOL_CACHE. */
  workDir: string
  files: StepFiles & { event: string; env: string; path: string; post: StepFiles | undefined }
  /** main stdout, main stderr, post stdout, post stderr, concatenated. */
  log: string
}

export declare function runAction(options?: RunActionOptions): Promise<RunResult>

/** Every action.yml input with its default ('' where none is declared), expressions unresolved. */
export declare function actionDefaults(): Record<string, string>

/** `INPUT_<NAME>`: upper-cased, spaces to `_`, hyphens kept, as @actions/core reads it. */
export declare function inputEnvName(name: string): string

/** INPUT_* for every action.yml input, given or defaulted; throws on an undeclared input. */
export declare function inputEnv(
  inputs?: Record<string, string | number | boolean | undefined>,
  githubToken?: string
): Record<string, string>

/** `name=value` lines and `name<<DELIMITER` blocks, as in GITHUB_OUTPUT/GITHUB_STATE/GITHUB_ENV; throws on a malformed file. */
export declare function parseCommandFile(text: string): Record<string, string>

/** Values of `::add-mask::` lines. */
export declare function parseMasks(text: string): string[]

export interface ShOptions {
  /** Merged over process.env. */
  env?: Record<string, string>
  input?: string
  cwd?: string
  /** Resolve with a non-zero exitCode instead of rejecting. */
  allowFailure?: boolean
  timeoutMs?: number
}

export interface ShResult {
  exitCode: number
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Spawns without a shell. */
export declare function sh(cmd: string, args?: string[], options?: ShOptions): Promise<ShResult>

export interface ApiStandIn {
  url: string
  requests: string[]
  close(): Promise<void>
}

export declare function startApiStandIn(releases: Array<Record<string, unknown>>): Promise<ApiStandIn>
