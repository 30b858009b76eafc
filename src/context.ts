import * as fs from 'node:fs'

/** What the rest of the action needs to know about the run, as plain data. */
export interface RunContext {
  eventName: string
  ref: string
  sha: string
  /** owner/repo */
  repository: string
  actor: string
  serverUrl: string
  apiUrl: string
  runId: number
  runAttempt: number
  /** `release.prerelease` of a release event; false for every other event. */
  prerelease: boolean
  prNumber?: number
  releaseTag?: string
}

/** The part of `@actions/github`'s `context` read here; tests pass plain objects of this shape. */
export interface GitHubContextLike {
  eventName: string
  ref: string
  sha: string
  repo: { owner: string; repo: string }
  actor: string
  serverUrl: string
  apiUrl: string
  runId: number
  runAttempt?: number
  payload: Record<string, unknown>
}

export function fromGitHubContext(ctx: GitHubContextLike): RunContext {
  const payload = ctx.payload ?? {}
  const run: RunContext = {
    eventName: ctx.eventName ?? '',
    ref: ctx.ref ?? '',
    sha: ctx.sha ?? '',
    repository: `${ctx.repo.owner}/${ctx.repo.repo}`,
    actor: ctx.actor ?? '',
    serverUrl: ctx.serverUrl,
    apiUrl: ctx.apiUrl,
    // @actions/github parses these from the environment, so a missing variable arrives as NaN.
    runId: positiveInt(ctx.runId) ?? 0,
    runAttempt: positiveInt(ctx.runAttempt) ?? 1,
    prerelease: false
  }

  if (isPullRequestEvent(run.eventName)) {
    const prNumber = positiveInt(record(payload.pull_request)?.number) ?? pullNumberFromRef(run.ref)
    if (prNumber !== undefined) run.prNumber = prNumber
  }

  if (run.eventName === 'release') {
    const release = record(payload.release)
    const tag = release?.tag_name
    if (typeof tag === 'string' && tag !== '') {
      run.releaseTag = tag
      // GITHUB_REF of a release event is the tag; fill it in for callers that only look at the ref.
      if (run.ref === '') run.ref = `refs/tags/${tag}`
    }
    run.prerelease = release?.prerelease === true
  }

  return run
}

/**
 * The run context of the current workflow run, read from the runner's
 * environment and event file the way `@actions/github`'s Context does; that
 * module is not imported here because it loads the whole REST client, which
 * every run would pay for at startup and only the `latest` check needs.
 */
export function readRunContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  let payload: Record<string, unknown> = {}
  if (env.GITHUB_EVENT_PATH && fs.existsSync(env.GITHUB_EVENT_PATH)) {
    payload = record(JSON.parse(fs.readFileSync(env.GITHUB_EVENT_PATH, 'utf8'))) ?? {}
  }
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '').split('/')
  return fromGitHubContext({
    eventName: env.GITHUB_EVENT_NAME ?? '',
    ref: env.GITHUB_REF ?? '',
    sha: env.GITHUB_SHA ?? '',
    repo: { owner, repo },
    actor: env.GITHUB_ACTOR ?? '',
    serverUrl: env.GITHUB_SERVER_URL || 'https://github.com',
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    runId: parseCount(env.GITHUB_RUN_ID) ?? 0,
    runAttempt: parseCount(env.GITHUB_RUN_ATTEMPT),
    payload
  })
}

// pull_request_target runs on the base branch ref, so the payload, not the ref, identifies the PR.
export function isPullRequestEvent(eventName: string): boolean {
  return eventName.startsWith('pull_request')
}

function pullNumberFromRef(ref: string): number | undefined {
  const m = /^refs\/pull\/(\d+)\//.exec(ref)
  return m ? positiveInt(Number(m[1])) : undefined
}

function parseCount(text: string | undefined): number | undefined {
  return text && /^\d+$/.test(text.trim()) ? positiveInt(Number(text)) : undefined
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined
}
